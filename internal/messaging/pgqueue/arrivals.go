package pgqueue

import (
	"encoding/json"
	"sync"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

type arrivalKey struct {
	namespace, queue string
	sub              messaging.SubQueue
}

// arrivals holds a channel per sub-queue someone on this node waits on, closed (and
// forgotten) when a committed change, here or on another node, may have made a message
// available there. Sub-queues no one waits on cost nothing.
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

// signalAll wakes every waiter: after the listening connection was down, when arrivals
// may have gone unannounced.
func (a *arrivals) signalAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, ch := range a.m {
		close(ch)
		delete(a.m, k)
	}
}

// notice is a NOTIFY payload: which sub-queue gained, and which store said so. The SQL
// that sends it builds it with json_build_object under these names.
type notice struct {
	From      string `json:"from"`
	Namespace string `json:"ns"`
	Queue     string `json:"q"`
	Sub       int    `json:"sub"`
}

// noticeSQL is the payload of a notice for the sub-queue named by the SQL expression sub,
// with $1 the store's id, $2 the namespace and $3 the queue.
func noticeSQL(sub string) string {
	return "json_build_object('from', $1::text, 'ns', $2::text, 'q', $3::text, 'sub', " + sub + ")::text"
}

// heard wakes this node's waiters for what another store announced.
func (a *arrivals) heard(self, payload string) bool {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return false
	}
	if n.From != self {
		a.signal(arrivalKey{n.Namespace, n.Queue, messaging.SubQueue(n.Sub)})
	}
	return true
}
