package sqlitequeue

import (
	"sync"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

type arrivalKey struct {
	namespace, queue string
	sub              messaging.SubQueue
}

// arrivals holds a channel per sub-queue someone waits on, closed (and forgotten) when a
// committed change may have made a message available there. Sub-queues no one waits on
// cost nothing.
type arrivals struct {
	mu sync.Mutex
	m  map[arrivalKey]chan struct{}
}

func (a *arrivals) wait(k arrivalKey) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.m[k]
	if ch == nil {
		if a.m == nil {
			a.m = map[arrivalKey]chan struct{}{}
		}
		ch = make(chan struct{})
		a.m[k] = ch
	}
	return ch
}

func (a *arrivals) signal(k arrivalKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch := a.m[k]; ch != nil {
		close(ch)
		delete(a.m, k)
	}
}
