package pgqueue

import (
	"encoding/json"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

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

// heard wakes this node's waiters (a) for what another store announced.
func heard(a *messaging.Arrivals, self, payload string) bool {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return false
	}
	if n.From != self {
		a.Signal(messaging.ArrivalKey{Namespace: n.Namespace, Queue: n.Queue, Sub: messaging.SubQueue(n.Sub)})
	}
	return true
}
