package fsmeta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Record framing, for journals and snapshots alike:
//
//	length uint32 LE | crc32c(payload) uint32 LE | payload
//
// A record is valid only if it is complete and its checksum matches, so a write torn by
// a crash is detected and the journal is cut there.
const (
	frameHeader = 8
	// maxRecord bounds one record; the largest real one is a 50,000-block blob (a few MB).
	maxRecord = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendFrame(buf, payload []byte) []byte {
	var h [frameHeader]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(payload, castagnoli))
	buf = append(buf, h[:]...)
	return append(buf, payload...)
}

// errTorn reports an incomplete or damaged record.
var errTorn = errors.New("torn or damaged record")

// readFrames calls fn with each record of r and returns the number of bytes of valid
// records read. It stops with errTorn at the first invalid record.
func readFrames(r io.Reader, fn func([]byte) error) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var off int64
	var h [frameHeader]byte
	for {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return off, nil
			}
			return off, errTorn
		}
		n := binary.LittleEndian.Uint32(h[0:])
		if n > maxRecord {
			return off, errTorn
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return off, errTorn
		}
		if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
			return off, errTorn
		}
		if err := fn(p); err != nil {
			return off, err
		}
		off += frameHeader + int64(n)
	}
}

// file is what a journal writes to; tests substitute one that fails on demand.
type file interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// allocator is implemented by files that can reserve space ahead of their end.
type allocator interface {
	Allocate(off, n int64) error
}

// allocate reserves n bytes of f from off on without changing its size, so that later
// writes there cannot fail for want of space. errors.ErrUnsupported when f or its file
// system cannot.
func allocate(f file, off, n int64) error {
	switch f := f.(type) {
	case allocator:
		return f.Allocate(off, n)
	case *os.File:
		return fallocate(f, off, n)
	}
	return errors.ErrUnsupported
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

var errClosed = errors.New("fsmeta: store is closed")

// journal is an append-only log with group commit: callers append records to the
// current batch and wait; one of the waiters writes the batch and fsyncs once for all.
//
// Full disks: the journal keeps reserve bytes preallocated past its end. A record that
// adds data is taken only if the reserve can be kept, so it is refused, with nothing
// written, when the disk is full; a record that frees space (a deletion) may use the
// reserve, so that space can be freed on a full disk. A write that fails anyway (no
// preallocation on this file system, an I/O error) may leave part of its batch behind;
// the journal is cut back to its last durable record before anything else is written
// (at once, or on the next attempt), so a failure never poisons it for good.
type journal struct {
	mu      sync.Mutex
	cond    *sync.Cond
	f       file
	size    int64 // durable bytes: complete records only
	end     int64 // size plus the bytes appended but not yet durable
	alloc   int64 // space is preallocated up to here
	reserve int64 // bytes kept preallocated past end for freeing records; 0: none
	cur     *batch
	syncing bool  // a writer (or a repair) is running outside mu
	broken  error // a failed write left bytes after size that could not be cut yet
	full    error // the last attempt to keep the reserve failed
	refused int64 // the size of the record that attempt was for
	failed  error // the last write failed
	closed  bool
}

// batch is the records one write makes durable together, and its outcome.
type batch struct {
	buf  []byte
	done bool
	err  error
}

func newJournal(f file, size, reserve int64) *journal {
	j := &journal{f: f, size: size, end: size, alloc: size, reserve: reserve, cur: &batch{}}
	j.cond = sync.NewCond(&j.mu)
	j.mu.Lock()
	_ = j.roomLocked(size) // a full disk at open leaves j.full set: reads and deletions still work
	j.mu.Unlock()
	return j
}

// roomLocked makes sure that space is preallocated up to upto plus the reserve.
func (j *journal) roomLocked(upto int64) error {
	if j.reserve <= 0 {
		return nil
	}
	want := upto + j.reserve
	if want <= j.alloc {
		j.full = nil
		return nil
	}
	// Grow by a further reserve when there is room, so that allocations are rare.
	err := allocate(j.f, j.alloc, want+j.reserve-j.alloc)
	if err == nil {
		want += j.reserve
	} else if !errors.Is(err, errors.ErrUnsupported) {
		err = allocate(j.f, j.alloc, want-j.alloc)
	}
	switch {
	case err == nil:
		j.alloc, j.full = want, nil
		return nil
	case errors.Is(err, errors.ErrUnsupported):
		j.reserve = 0 // failed writes are still cut back; deletions get no reserve
		return nil
	}
	j.full = err
	return failure("reserving journal space", err, true)
}

// failure is the error of an operation that failed with err; unchanged says that
// nothing of it is in the journal.
func failure(op string, err error, unchanged bool) error {
	err = fmt.Errorf("fsmeta: %s: %w", op, err)
	if isNoSpace(err) {
		return blob.ErrNoSpace(err, unchanged)
	}
	if unchanged {
		return fmt.Errorf("%w: %w", blob.ErrUnchanged, err)
	}
	return err
}

// append adds one record to the current batch, for wait. A record that does not free
// space is refused with nothing written when the reserve cannot be kept.
func (j *journal) append(payload []byte, freeing bool) (*batch, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, errClosed
	}
	n := int64(frameHeader + len(payload))
	if !freeing {
		if err := j.roomLocked(j.end + n); err != nil {
			j.refused = n
			return nil, err
		}
	}
	j.cur.buf = appendFrame(j.cur.buf, payload)
	j.end += n
	return j.cur, nil
}

// wait returns once b is durable, or failed.
func (j *journal) wait(b *batch) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for !b.done {
		if j.syncing {
			j.cond.Wait()
			continue
		}
		// Any batch taken before is done, so b is the current one: write it.
		j.syncing = true
		j.cur = &batch{}
		broken, size := j.broken, j.size
		j.mu.Unlock()
		var cutErr, writeErr error
		if broken != nil {
			cutErr = j.cut(size)
		}
		if cutErr == nil {
			writeErr = j.write(b.buf, size)
			if writeErr != nil {
				cutErr = j.cut(size)
			}
		}
		j.mu.Lock()
		j.syncing = false
		switch {
		case broken != nil && cutErr != nil: // b was not even written
			b.err = failure("cutting the journal after a failed write", cutErr, true)
			j.broken, j.failed = cutErr, cutErr
		case writeErr == nil:
			j.size += int64(len(b.buf))
			j.broken, j.failed = nil, nil
		case cutErr == nil: // written in part, then cut: nothing of b remains
			b.err = failure("writing the journal", writeErr, true)
			j.broken, j.failed = nil, writeErr
		default: // part of b may remain until the next attempt cuts it
			b.err = failure("writing the journal", writeErr, false)
			j.broken, j.failed = cutErr, writeErr
		}
		if b.err != nil {
			j.end -= int64(len(b.buf))
			// A cut may have dropped the preallocated space: take stock again.
			j.alloc = min(j.alloc, j.size)
			_ = j.roomLocked(j.end)
		}
		b.done = true
		j.cond.Broadcast()
	}
	return b.err
}

func (j *journal) write(buf []byte, off int64) error {
	if _, err := j.f.WriteAt(buf, off); err != nil {
		return err
	}
	return j.f.Sync()
}

// cut drops whatever follows the last durable record, so that a partial batch is never
// followed by records replay would then not reach.
func (j *journal) cut(size int64) error {
	if err := j.f.Truncate(size); err != nil {
		return err
	}
	return j.f.Sync()
}

// ready reports whether records that add data can be written now. It retries what
// failed (cutting the journal, keeping the reserve), so it turns ready again once space
// is back without waiting for a write.
func (j *journal) ready() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errClosed
	}
	if j.broken != nil && !j.syncing {
		j.syncing = true
		size := j.size
		j.mu.Unlock()
		err := j.cut(size)
		j.mu.Lock()
		j.syncing = false
		if err == nil {
			j.broken = nil
			j.alloc = min(j.alloc, j.size)
		} else {
			j.broken = err
		}
		j.cond.Broadcast()
	}
	if j.broken != nil {
		return fmt.Errorf("the metadata journal cannot be written: %w", j.broken)
	}
	if j.reserve > 0 {
		upto := j.end
		if j.full != nil {
			upto += j.refused // ready again once that record would fit
		}
		if j.roomLocked(upto) != nil {
			return fmt.Errorf("the metadata journal cannot be written: %w", j.full)
		}
		return nil
	}
	if j.failed != nil { // without a reserve, only a write tells whether space is back
		return fmt.Errorf("the metadata journal cannot be written: %w", j.failed)
	}
	return nil
}

// written returns the journal's size once everything appended is durable. Callers use it
// when no append can be running.
func (j *journal) written() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	return j.f.Close()
}
