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

// journal is an append-only log with group commit: callers append records to a buffer
// and wait; one of the waiters writes everything buffered and fsyncs once for all.
type journal struct {
	mu      sync.Mutex
	cond    *sync.Cond
	f       *os.File
	size    int64  // bytes written to f
	buf     []byte // appended, not yet written
	seq     uint64 // last record appended
	synced  uint64 // last record durable
	syncing bool
	err     error // sticky: once writing failed, nothing more is accepted
}

func newJournal(f *os.File, size int64) *journal {
	j := &journal{f: f, size: size}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// append buffers one record and returns its sequence number for wait.
func (j *journal) append(payload []byte) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	j.buf = appendFrame(j.buf, payload)
	j.seq++
	return j.seq, nil
}

// wait returns once record seq is durable.
func (j *journal) wait(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.synced < seq {
		if j.err != nil {
			return j.err
		}
		if j.syncing {
			j.cond.Wait()
			continue
		}
		j.syncing = true
		buf, upto := j.buf, j.seq
		j.buf = nil
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		if err == nil {
			err = j.f.Sync()
		}
		j.mu.Lock()
		j.syncing = false
		if err != nil {
			// The file may now end in a partial record; appending after it would hide
			// later records from replay. Refuse everything until a restart recovers.
			j.err = fmt.Errorf("fsmeta: journal write failed, restart to recover: %w", err)
		} else {
			j.synced = upto
			j.size += int64(len(buf))
		}
		j.cond.Broadcast()
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
	if j.err == nil {
		j.err = errors.New("fsmeta: store is closed")
	}
	return j.f.Close()
}
