package messaging

import "sync"

// ArrivalKey names a sub-queue that receivers wait on.
type ArrivalKey struct {
	Namespace, Queue string
	Sub              SubQueue
}

// Arrivals is a backend's Arrivals: a channel per sub-queue someone waits on, closed (and
// forgotten) when a committed change may have made a message available there. Sub-queues
// no one waits on cost nothing. The zero value is ready to use.
type Arrivals struct {
	mu sync.Mutex
	m  map[ArrivalKey]chan struct{}
}

// Wait returns the channel Signal(k) closes.
func (a *Arrivals) Wait(k ArrivalKey) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.m[k]
	if ch == nil {
		if a.m == nil {
			a.m = map[ArrivalKey]chan struct{}{}
		}
		ch = make(chan struct{})
		a.m[k] = ch
	}
	return ch
}

// Signal wakes the waiters of k.
func (a *Arrivals) Signal(k ArrivalKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch := a.m[k]; ch != nil {
		close(ch)
		delete(a.m, k)
	}
}

// SignalAll wakes every waiter: when arrivals may have gone unannounced (a backend's
// notifications were cut off).
func (a *Arrivals) SignalAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, ch := range a.m {
		close(ch)
		delete(a.m, k)
	}
}
