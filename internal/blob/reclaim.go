package blob

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// reclaimer deletes content files that commits made unreferenced, but only once no
// reader that might still use them is running. It works like RCU: a reader enters an
// epoch before it reads a record and leaves it when it is done; content freed in epoch e
// is deleted when no reader of an epoch <= e remains. Readers never block writers, and a
// reader never finds a file missing under it.
//
// Freed content that is still pending when the process stops is found unreferenced by
// the next recovery and removed then.
type reclaimer struct {
	content ContentStore
	log     *slog.Logger
	// delay postpones every deletion, for readers this process cannot see (other nodes).
	delay time.Duration

	mu      sync.Mutex
	epoch   uint64
	active  map[uint64]int // epoch -> running readers
	pending []freed
}

type freed struct {
	epoch uint64
	ids   []ContentID
}

func newReclaimer(cs ContentStore, log *slog.Logger) *reclaimer {
	return &reclaimer{content: cs, log: log, active: map[uint64]int{}}
}

// enter registers a reader; pass the result to leave.
func (r *reclaimer) enter() uint64 {
	r.mu.Lock()
	e := r.epoch
	r.active[e]++
	r.mu.Unlock()
	return e
}

// leave unregisters a reader and deletes what it was the last one to hold back.
func (r *reclaimer) leave(e uint64) {
	r.mu.Lock()
	if r.active[e]--; r.active[e] == 0 {
		delete(r.active, e)
	}
	ready := r.collectLocked()
	r.mu.Unlock()
	r.remove(ready)
}

// free schedules ids for deletion. Call it only after the commit that stopped
// referencing them is durable and visible.
func (r *reclaimer) free(ids []ContentID) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	r.pending = append(r.pending, freed{epoch: r.epoch, ids: ids})
	r.epoch++
	ready := r.collectLocked()
	r.mu.Unlock()
	r.remove(ready)
}

// collectLocked takes the pending entries no running reader can still use.
func (r *reclaimer) collectLocked() []ContentID {
	if len(r.pending) == 0 {
		return nil
	}
	oldest, found := uint64(0), false
	for e := range r.active {
		if !found || e < oldest {
			oldest, found = e, true
		}
	}
	var ready []ContentID
	keep := r.pending[:0]
	for _, f := range r.pending {
		if found && f.epoch >= oldest {
			keep = append(keep, f)
			continue
		}
		ready = append(ready, f.ids...)
	}
	clear(r.pending[len(keep):])
	r.pending = keep
	return ready
}

func (r *reclaimer) remove(ids []ContentID) {
	if len(ids) == 0 {
		return
	}
	if r.delay > 0 {
		time.AfterFunc(r.delay, func() { r.removeNow(ids) })
		return
	}
	r.removeNow(ids)
}

func (r *reclaimer) removeNow(ids []ContentID) {
	// Deletion is best effort: a file left behind is unreferenced and recovery removes it.
	if err := r.content.Remove(context.Background(), ids...); err != nil {
		r.log.Warn("blob: removing unreferenced content", "count", len(ids), "err", err)
	}
}
