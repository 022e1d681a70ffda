package blob

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Appends and page writes to one blob are combined: every commit of a blob waits for
// the MetaStore (a journal sync, a database transaction), and the store takes one blob's
// commits one at a time, so writers of one blob would otherwise each wait for all the
// syncs before theirs. Writes that arrive while a commit of their blob runs are queued,
// and the next commit applies all of them, in order, in one UpdateBlob: each still sees
// the state the previous one left, has its conditions checked on it, and may be refused
// on its own. All of a commit's writes are durable, or none, when their calls return.

// combinedWrite is one write waiting to be combined.
type combinedWrite struct {
	// apply returns the record after this write, given the one before it (nil when
	// there is no blob); it must not modify what cur holds. An error refuses this write
	// alone. own says that cur was made by an earlier write of the same commit, and nothing
	// but that write's result shares it: its extents may grow in place (past that
	// result's length), where the store's record must be copied.
	apply func(cur *BlobRecord, own bool) (*BlobRecord, error)
	// content is what the write added, to free should a later write of the same
	// commit have replaced it already.
	content ContentID
	// data, when set, are bytes received but not yet written: the committer writes
	// those of all its writes to one content file, sets content and offset (where data
	// starts in it), and makes the file durable with one sync before the commit.
	data   []byte
	offset int64

	result  *BlobRecord // the record right after this write
	err     error
	done    chan struct{} // closed when result or err is set
	promote chan struct{} // closed to make this writer the next committer
}

// combiner holds the queues of writes waiting for a commit of their blob.
type combiner struct {
	mu     sync.Mutex
	queues map[BlobKey]*writeQueue
}

type writeQueue struct {
	waiting []*combinedWrite
	busy    bool // a writer is committing
}

// combineRoom is the room for further extents a write's apply leaves when it copies the
// store's extent list, for the writes combined after it to append in place.
const combineRoom = 32

// errNothingToCommit ends an update whose writes were all refused.
var errNothingToCommit = errors.New("blob: every combined write was refused")

// combine commits w together with whatever writes of key are queued, and returns once w
// is durable or refused.
func (s *Service) combine(ctx context.Context, key BlobKey, w *combinedWrite) (*BlobRecord, error) {
	w.done, w.promote = make(chan struct{}), make(chan struct{})
	c := &s.combiner
	c.mu.Lock()
	if c.queues == nil {
		c.queues = map[BlobKey]*writeQueue{}
	}
	q := c.queues[key]
	if q == nil {
		q = &writeQueue{}
		c.queues[key] = q
	}
	q.waiting = append(q.waiting, w)
	lead := !q.busy
	q.busy = true
	c.mu.Unlock()
	if !lead {
		select {
		case <-w.done:
			return w.result, w.err
		case <-w.promote:
		}
	}
	// This writer commits every write queued so far, its own among them, then hands the
	// queue on to the first writer that arrived meanwhile.
	c.mu.Lock()
	batch := q.waiting
	q.waiting = nil
	c.mu.Unlock()
	s.commitCombined(context.WithoutCancel(ctx), key, batch)
	c.mu.Lock()
	if len(q.waiting) > 0 {
		close(q.waiting[0].promote)
	} else {
		q.busy = false
		delete(c.queues, key)
	}
	c.mu.Unlock()
	return w.result, w.err
}

func (s *Service) commitCombined(ctx context.Context, key BlobKey, batch []*combinedWrite) {
	shared, err := s.writeCombined(ctx, batch)
	if err != nil {
		for _, w := range batch {
			if w.data != nil {
				w.err = err
			}
		}
	}
	var last *BlobRecord
	res, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur, changed := st.Blob, false
		for _, w := range batch {
			if w.data != nil && w.content == "" {
				continue // its bytes could not be written
			}
			next, err := w.apply(cur, changed)
			w.result, w.err = next, err
			if err == nil {
				cur, changed = next, true
			}
		}
		if !changed {
			return BlobWrite{}, errNothingToCommit
		}
		last = cur
		return BlobWrite{Blob: cur}, nil
	})
	sharedUsed := false
	switch {
	case errors.Is(err, errNothingToCommit):
	case err != nil:
		for _, w := range batch {
			if w.err == nil {
				w.result, w.err = nil, err
			}
		}
		sharedUsed = !refused(err) // the commit may have happened: keep the file
	default:
		for _, w := range batch {
			sharedUsed = sharedUsed || (w.err == nil && w.data != nil)
		}
		s.release(res, last)
		live := map[ContentID]bool{}
		for _, id := range last.contents() {
			live[id] = true
		}
		var gone []ContentID
		for _, w := range batch {
			if w.err == nil && w.content != "" && !live[w.content] {
				gone = append(gone, w.content)
			}
		}
		s.reclaim.free(gone)
	}
	if shared != "" && !sharedUsed {
		if err := s.content.Remove(context.Background(), shared); err != nil {
			s.log.Warn("blob: discarding content", "content", shared, "err", err)
		}
	}
	for _, w := range batch {
		close(w.done)
	}
}

// writeCombined writes the received bytes of a batch's writes to one content file and
// makes it durable; it returns the file's id, "" when no write had bytes to write.
func (s *Service) writeCombined(ctx context.Context, batch []*combinedWrite) (ContentID, error) {
	var cw ContentWriter
	var off int64
	for _, w := range batch {
		if w.data == nil {
			continue
		}
		if cw == nil {
			var err error
			if cw, err = s.content.Create(ctx); err != nil {
				return "", fmt.Errorf("blob: creating content: %w", err)
			}
		}
		if _, err := cw.Write(w.data); err != nil {
			return "", s.abortCombined(cw, fmt.Errorf("blob: writing content: %w", err))
		}
		w.offset = off
		off += int64(len(w.data))
	}
	if cw == nil {
		return "", nil
	}
	if err := cw.Commit(ctx); err != nil {
		return "", s.abortCombined(cw, fmt.Errorf("blob: committing content: %w", err))
	}
	for _, w := range batch {
		if w.data != nil {
			w.content = cw.ID()
		}
	}
	return cw.ID(), nil
}

func (s *Service) abortCombined(cw ContentWriter, err error) error {
	if aerr := cw.Abort(); aerr != nil {
		s.log.Warn("blob: discarding content", "content", cw.ID(), "err", aerr)
	}
	return err
}
