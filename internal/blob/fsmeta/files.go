package fsmeta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/durable"
)

const (
	journalPrefix  = "journal-"
	snapshotPrefix = "snapshot-"
	tmpSuffix      = ".tmp"
)

func journalPath(dir string, gen uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%016d", journalPrefix, gen))
}

func snapshotPath(dir string, gen uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%016d", snapshotPrefix, gen))
}

// Open opens (creating if needed) the store in dir and recovers its state.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CompactBytes <= 0 {
		opts.CompactBytes = 64 << 20
	}
	switch {
	case opts.ReserveBytes == 0:
		opts.ReserveBytes = 1 << 20
	case opts.ReserveBytes < 0:
		opts.ReserveBytes = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("fsmeta: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("fsmeta: %w", err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, dirLock: lock, st: newState(), seed: maphash.MakeSeed()}
	if err := s.recover(); err != nil {
		lock.unlock()
		return nil, fmt.Errorf("fsmeta: recovering %s: %w", dir, err)
	}
	return s, nil
}

// Close waits for a running compaction and closes the journal.
func (s *Store) Close() error {
	s.compactMu.Lock()
	s.closed = true
	s.compactMu.Unlock()
	s.compactWG.Wait()
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	err := s.jr.close()
	if uerr := s.dirLock.unlock(); err == nil {
		err = uerr
	}
	return err
}

// recover rebuilds the state from the newest complete snapshot and the journals after
// it, and opens the last journal for appending.
func (s *Store) recover() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var journals, snapshots []uint64
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				return err
			}
		case strings.HasPrefix(name, journalPrefix):
			if g, err := strconv.ParseUint(strings.TrimPrefix(name, journalPrefix), 10, 64); err == nil {
				journals = append(journals, g)
			}
		case strings.HasPrefix(name, snapshotPrefix):
			if g, err := strconv.ParseUint(strings.TrimPrefix(name, snapshotPrefix), 10, 64); err == nil {
				snapshots = append(snapshots, g)
			}
		}
	}
	sort.Slice(journals, func(i, j int) bool { return journals[i] < journals[j] })
	sort.Slice(snapshots, func(i, j int) bool { return snapshots[i] > snapshots[j] })

	// The newest complete snapshot wins; without one, replay starts from empty.
	var base uint64
	for _, g := range snapshots {
		st, err := loadSnapshot(snapshotPath(s.dir, g), g)
		if err != nil {
			s.log.Warn("fsmeta: ignoring snapshot", "gen", g, "err", err)
			continue
		}
		s.st, base = st, g
		break
	}
	var replay []uint64
	for _, g := range journals {
		if g >= base {
			replay = append(replay, g)
		}
	}
	if base > 0 && (len(replay) == 0 || replay[0] != base) {
		return fmt.Errorf("journal %d missing after snapshot %d", base, base)
	}
	for i, g := range replay {
		if i > 0 && g != replay[i-1]+1 {
			return fmt.Errorf("journal %d missing", replay[i-1]+1)
		}
	}
	for i, g := range replay {
		last := i == len(replay)-1
		if err := s.replay(g, last); err != nil {
			return err
		}
	}
	gen := uint64(1)
	if n := len(replay); n > 0 {
		gen = replay[n-1]
	} else if base > 0 {
		gen = base
	}
	f, err := os.OpenFile(journalPath(s.dir, gen), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return err
	}
	if err := durable.SyncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.jr, s.gen = s.newJournal(f, size), gen
	// Older files are obsolete once a newer snapshot is complete.
	s.removeBefore(base)
	return nil
}

func (s *Store) newJournal(f *os.File, size int64) *journal {
	var jf file = f
	if s.opts.wrap != nil {
		jf = s.opts.wrap(f)
	}
	return newJournal(jf, size, s.opts.ReserveBytes)
}

// replay applies one journal. The last journal may end in a record torn by a crash; it
// is cut there, since nothing after it was ever acknowledged. A torn record anywhere else
// is damage that replay must not paper over.
func (s *Store) replay(gen uint64, last bool) error {
	p := journalPath(s.dir, gen)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	good, err := readFrames(f, func(b []byte) error {
		m, err := decode(b)
		if err != nil {
			return err
		}
		s.st.apply(m)
		return nil
	})
	switch {
	case errors.Is(err, errTorn) && last:
		s.log.Warn("fsmeta: cutting torn journal tail", "journal", p, "at", good)
		if err := f.Truncate(good); err != nil {
			return err
		}
		return f.Sync()
	case err != nil:
		return fmt.Errorf("journal %s at %d: %w", p, good, err)
	}
	return nil
}

func loadSnapshot(path string, gen uint64) (*state, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := newState()
	first, complete := true, false
	_, err = readFrames(f, func(b []byte) error {
		m, err := decode(b)
		if err != nil {
			return err
		}
		switch {
		case first && (m.op != opSnapshot || m.gen != gen):
			return fmt.Errorf("snapshot header missing")
		case first:
		case complete:
			return fmt.Errorf("records after the end")
		case m.op == opEnd:
			complete = true
		default:
			st.apply(m)
		}
		first = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, fmt.Errorf("snapshot incomplete")
	}
	return st, nil
}

func (s *Store) removeBefore(gen uint64) {
	if gen == 0 {
		return
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		for _, prefix := range []string{journalPrefix, snapshotPrefix} {
			if g, err := strconv.ParseUint(strings.TrimPrefix(name, prefix), 10, 64); err == nil && strings.HasPrefix(name, prefix) && g < gen {
				if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
					s.log.Warn("fsmeta: removing obsolete file", "file", name, "err", err)
				}
			}
		}
	}
}

// compactAsync starts a compaction unless one is running.
func (s *Store) compactAsync() {
	if !s.compactMu.TryLock() {
		return
	}
	if s.closed {
		s.compactMu.Unlock()
		return
	}
	s.compactWG.Add(1)
	go func() {
		defer s.compactWG.Done()
		defer s.compactMu.Unlock()
		if err := s.compact(); err != nil {
			s.log.Error("fsmeta: compaction failed", "err", err)
		}
	}()
}

// Compact writes a snapshot and starts a new journal now.
func (s *Store) Compact(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	return s.compact()
}

// compact switches to journal g+1 and writes snapshot g+1, the state at the switch.
// Commits stop only while the state is serialized to memory, not while it is written.
func (s *Store) compact() error {
	s.commitMu.Lock()
	if err := s.jr.ready(); err != nil {
		// A new journal would start without its reserve, and the snapshot would not fit.
		s.commitMu.Unlock()
		return fmt.Errorf("not compacting: %w", err)
	}
	next := s.gen + 1
	var buf bytes.Buffer
	emit := func(m mutation) error {
		p, err := encode(m)
		if err != nil {
			return err
		}
		buf.Write(appendFrame(nil, p))
		return nil
	}
	err := emit(mutation{op: opSnapshot, gen: next})
	if err == nil {
		s.mu.RLock()
		err = s.st.dump(emit)
		s.mu.RUnlock()
	}
	if err == nil {
		err = emit(mutation{op: opEnd})
	}
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(journalPath(s.dir, next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	}
	if err == nil {
		err = durable.SyncDir(s.dir)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		s.commitMu.Unlock()
		return err
	}
	old := s.jr
	s.jr, s.gen = s.newJournal(f, 0), next
	s.commitMu.Unlock()
	if err := old.close(); err != nil {
		s.log.Warn("fsmeta: closing journal", "err", err)
	}

	if err := durable.WriteFile(snapshotPath(s.dir, next), buf.Bytes(), 0o640); err != nil {
		return err
	}
	s.removeBefore(next)
	return nil
}

func sortBlocks(bs []blob.Block) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
}
