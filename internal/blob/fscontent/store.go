// Package fscontent is a blob.ContentStore on a local file system: one file per content
// id, spread over 256 shard directories.
//
// A content file is written in place under its final name (ids are random, so nothing
// else can refer to it before it is committed). Files are usually taken from a pool of
// empty files created ahead of time with their directory entries already durable, so
// that Commit fsyncs only the file; a file created on demand also needs its directory
// fsynced, and concurrent commits share those directory fsyncs. There is no temp-and-rename step because a file becomes part
// of a blob only when metadata that names it is committed; a crash before that leaves a
// file nothing references, which recovery removes.
package fscontent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/durable"
)

// Store is a ContentStore rooted at a directory.
type Store struct {
	root  string
	syncs [256]dirSyncer
	pool  pool
	full  atomic.Pointer[error] // the last write failed for want of space
}

var _ blob.ContentStore = (*Store)(nil)

// Open opens (creating if needed) a content store in dir.
func Open(dir string) (*Store, error) {
	s := &Store{root: dir}
	s.pool.s = s
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("fscontent: %w", err)
	}
	for i := range s.syncs {
		p := filepath.Join(dir, fmt.Sprintf("%02x", i))
		if err := os.MkdirAll(p, 0o750); err != nil {
			return nil, fmt.Errorf("fscontent: %w", err)
		}
		s.syncs[i].dir = p
	}
	// The shard directories themselves must survive a crash.
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("fscontent: %w", err)
	}
	return s, nil
}

// Close removes the pre-created files no upload used.
func (s *Store) Close() error {
	s.pool.close()
	return nil
}

func newID() blob.ContentID {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return blob.ContentID(hex.EncodeToString(b[:]))
}

// shard returns the index of id's shard directory, -1 for a malformed id.
func shard(id blob.ContentID) int {
	if len(id) != 32 {
		return -1
	}
	b, err := hex.DecodeString(string(id))
	if err != nil || hex.EncodeToString(b) != string(id) {
		return -1
	}
	return int(b[0])
}

func (s *Store) path(id blob.ContentID) (string, int, error) {
	sh := shard(id)
	if sh < 0 {
		return "", 0, fmt.Errorf("fscontent: malformed content id %q", id)
	}
	return filepath.Join(s.syncs[sh].dir, string(id)), sh, nil
}

// Create starts a new content file, from the pool of pre-created files when it can.
func (s *Store) Create(ctx context.Context) (blob.ContentWriter, error) {
	if f, id, ok := s.pool.take(); ok {
		p, sh, err := s.path(id)
		if err != nil {
			return nil, err
		}
		return &writer{s: s, id: id, path: p, shard: sh, f: f, entryDurable: true}, nil
	}
	id := newID()
	p, sh, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, s.failed(err)
	}
	return &writer{s: s, id: id, path: p, shard: sh, f: f}, nil
}

// Open opens a content file for reading.
func (s *Store) Open(ctx context.Context, id blob.ContentID) (blob.ContentFile, error) {
	p, _, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("fscontent: %w", err)
	}
	return f, nil
}

// Remove deletes content files. Deletions need no fsync: a deletion lost in a crash
// leaves an unreferenced file that recovery removes again.
func (s *Store) Remove(ctx context.Context, ids ...blob.ContentID) error {
	var errs []error
	for _, id := range ids {
		p, _, err := s.path(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fscontent: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Walk lists every content file; files whose names are not content ids (left by
// something else) are removed, since nothing can reference them.
func (s *Store) Walk(ctx context.Context, fn func(blob.ContentID) error) error {
	for i := range s.syncs {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(s.syncs[i].dir)
		if err != nil {
			return fmt.Errorf("fscontent: %w", err)
		}
		for _, e := range entries {
			id := blob.ContentID(e.Name())
			if e.IsDir() || shard(id) != i {
				if err := os.RemoveAll(filepath.Join(s.syncs[i].dir, e.Name())); err != nil {
					return fmt.Errorf("fscontent: removing stray %s: %w", e.Name(), err)
				}
				continue
			}
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	return nil
}

type writer struct {
	s     *Store
	id    blob.ContentID
	path  string
	shard int
	f     *os.File
	done  bool
	// entryDurable is set for pooled files, whose directory entry was made durable
	// when the pool created them.
	entryDurable bool
	// written counts bytes; flushed is how far writeback has been started.
	written, flushed int64
}

// writebackChunk is how much a large write accumulates before its writeback to disk is
// started, so that the disk works while the rest arrives and the final fsync finds little
// left to do.
const writebackChunk = 8 << 20

func (w *writer) ID() blob.ContentID { return w.id }

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("fscontent: write after commit or abort")
	}
	n, err := w.f.Write(p)
	if err != nil {
		err = w.s.failed(err)
	}
	w.written += int64(n)
	if w.written-w.flushed >= writebackChunk {
		startWriteback(w.f, w.flushed, w.written-w.flushed)
		w.flushed = w.written
	}
	return n, err
}

func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return errors.New("fscontent: commit after commit or abort")
	}
	if err := w.f.Sync(); err != nil {
		return w.s.failed(err)
	}
	if err := w.f.Close(); err != nil {
		return w.s.failed(err)
	}
	w.done = true
	if !w.entryDurable {
		if err := w.s.syncs[w.shard].sync(); err != nil {
			return w.s.failed(err)
		}
	}
	w.s.full.Store(nil)
	return nil
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	cerr := w.f.Close()
	if err := os.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fscontent: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("fscontent: %w", cerr)
	}
	return nil
}

// failed wraps a write error; a full disk becomes blob.ErrNoSpace and is remembered
// for Ready.
func (s *Store) failed(err error) error {
	err = fmt.Errorf("fscontent: %w", err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		s.full.Store(&err)
		return blob.ErrNoSpace(err, false)
	}
	return err
}

// minFree is the free space from which a store that ran out counts as writable again.
const minFree = 4 << 20

// Ready reports whether content can be written: after a write ran out of space, not
// until the file system has minFree bytes free again (or, where free space cannot be
// read, until a write succeeds).
func (s *Store) Ready() error {
	p := s.full.Load()
	if p == nil {
		return nil
	}
	if free, err := freeBytes(s.root); err == nil && free >= minFree {
		s.full.CompareAndSwap(p, nil)
		return nil
	}
	return fmt.Errorf("blob content cannot be written: %w", *p)
}

// ModTime implements blob.ContentAger.
func (s *Store) ModTime(ctx context.Context, id blob.ContentID) (time.Time, error) {
	p, _, err := s.path(id)
	if err != nil {
		return time.Time{}, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}, fmt.Errorf("fscontent: %w", err)
	}
	return info.ModTime(), nil
}

// LimitPoolAge makes Create use pre-created files only while they are younger than d,
// removing older ones. Call it before any Create when other processes share the
// directory: their recovery takes an unreferenced file that has not changed for long
// enough for an orphan, and a pooled file is unreferenced and unchanged until used.
func (s *Store) LimitPoolAge(d time.Duration) {
	s.pool.mu.Lock()
	s.pool.maxAge = d
	s.pool.mu.Unlock()
}
