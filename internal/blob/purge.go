package blob

import (
	"context"
	"sync"
	"time"
)

// maxQueuedPurges bounds the purge queue's memory; past it, expired states wait for
// their blob's next access.
const maxQueuedPurges = 100_000

// purgeQueue remembers, in this process, which blobs have soft-deleted states and when
// the first of them expires, so that garbage collection purges them without waiting for
// a read or a write of the blob. It is a best effort: after a restart, expired states
// are purged by their blob's next access (which never shows them meanwhile).
type purgeQueue struct {
	mu  sync.Mutex
	due map[BlobKey]time.Time
}

// note records when key's first soft-deleted state among states expires. A blob with
// none (most writes) takes no lock; an entry it leaves behind only costs a purge that
// finds nothing.
func (q *purgeQueue) note(key BlobKey, states []Snapshot) {
	var first time.Time
	for _, sn := range states {
		if sn.Deleted != nil && (first.IsZero() || sn.Deleted.Until.Before(first)) {
			first = sn.Deleted.Until
		}
	}
	if first.IsZero() {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.due == nil {
		q.due = map[BlobKey]time.Time{}
	}
	if _, ok := q.due[key]; ok || len(q.due) < maxQueuedPurges {
		q.due[key] = first
	}
}

// take removes and returns the blobs with a state expired at now.
func (q *purgeQueue) take(now time.Time) []BlobKey {
	q.mu.Lock()
	defer q.mu.Unlock()
	var keys []BlobKey
	for k, t := range q.due {
		if !now.Before(t) {
			keys = append(keys, k)
			delete(q.due, k)
		}
	}
	return keys
}

// purgeDue purges the blobs the queue says have expired states.
func (s *Service) purgeDue(ctx context.Context) {
	for _, key := range s.purges.take(s.now()) {
		if ctx.Err() != nil {
			return
		}
		s.purge(ctx, key)
	}
}
