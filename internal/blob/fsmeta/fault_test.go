package fsmeta

import (
	stdctx "context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// faultyFile is a journal file whose writes, truncations and allocations fail on demand,
// as on a full disk. A failing write first writes half its bytes, as a real one may.
type faultyFile struct {
	*os.File
	failWrite, failTruncate, failAllocate atomic.Bool
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	if f.failWrite.Load() {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.WriteAt(p, off)
}

func (f *faultyFile) Truncate(size int64) error {
	if f.failTruncate.Load() {
		return &os.PathError{Op: "truncate", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Truncate(size)
}

func (f *faultyFile) Allocate(off, n int64) error {
	if f.failAllocate.Load() {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return nil
}

var tf = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// openFaulty opens a store in dir whose current journal is a faultyFile.
func openFaulty(t *testing.T, dir string, reserve int64) (*Store, *faultyFile) {
	t.Helper()
	var ff *faultyFile
	s, err := Open(dir, Options{ReserveBytes: reserve, wrap: func(f *os.File) file {
		ff = &faultyFile{File: f}
		return ff
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateContainer(t.Context(), blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: tf, CreatedAt: tf}); err != nil {
		t.Fatal(err)
	}
	return s, ff
}

func put(s *Store, name string) error {
	k := blob.BlobKey{Account: "a", Container: "c", Name: name}
	_, err := s.UpdateBlob(bg(), k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: &blob.BlobRecord{BlobProperties: blob.BlobProperties{Name: name, Size: 1, ETag: "0x1", LastModified: tf, CreatedAt: tf}}}, nil
	})
	return err
}

func del(s *Store, name string) error {
	k := blob.BlobKey{Account: "a", Container: "c", Name: name}
	_, err := s.UpdateBlob(bg(), k, false, func(blob.BlobState) (blob.BlobWrite, error) { return blob.BlobWrite{}, nil })
	return err
}

// names lists the blobs of a/c.
func names(t *testing.T, s *Store) string {
	t.Helper()
	bs, err := s.ListBlobs(t.Context(), "a", "c", "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return strings.Join(out, ",")
}

// wantNoSpace checks err is the full-disk error, and whether it says nothing was written.
func wantNoSpace(t *testing.T, err error, unchanged bool) {
	t.Helper()
	if err == nil {
		t.Fatal("write succeeded on a full disk")
	}
	if lanyard.KindOf(err) != lanyard.KindUnavailable || blob.CodeOf(err) != blob.CodeServerBusy || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v (kind %v, code %q), want ServerBusy wrapping ENOSPC", err, lanyard.KindOf(err), blob.CodeOf(err))
	}
	if got := errors.Is(err, blob.ErrUnchanged); got != unchanged {
		t.Fatalf("errors.Is(err, ErrUnchanged) = %v, want %v (err %v)", got, unchanged, err)
	}
}

func wantNotReady(t *testing.T, s *Store) {
	t.Helper()
	err := s.Ready()
	if err == nil || !strings.Contains(err.Error(), "the metadata journal cannot be written") {
		t.Fatalf("Ready() = %v, want the journal reported unwritable", err)
	}
}

// TestFailedWriteIsCutAndRetried: a write that fails half way is cut back at once; the
// journal is not poisoned, reads see the last committed state meanwhile, and after a
// reopen nothing acknowledged is lost and nothing refused appears.
func TestFailedWriteIsCutAndRetried(t *testing.T) {
	dir := t.TempDir()
	s, ff := openFaulty(t, dir, -1) // no reserve: the write itself fails
	if err := put(s, "a"); err != nil {
		t.Fatal(err)
	}
	ff.failWrite.Store(true)
	wantNoSpace(t, put(s, "b"), true)
	wantNoSpace(t, put(s, "b"), true)
	wantNotReady(t, s)
	if got := names(t, s); got != "a" {
		t.Fatalf("blobs while failing = %q, want a", got)
	}
	ff.failWrite.Store(false)
	if err := put(s, "c"); err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready() after a good write = %v", err)
	}
	s.Close()
	s2 := open(t, dir)
	if got := names(t, s2); got != "a,c" {
		t.Fatalf("blobs after reopen = %q, want a,c", got)
	}
}

// TestUncutWriteIsCutOnNextAttempt: when even cutting fails, the error says the write
// may have happened, the store reports not ready, and the next attempt cuts first.
func TestUncutWriteIsCutOnNextAttempt(t *testing.T) {
	dir := t.TempDir()
	s, ff := openFaulty(t, dir, -1)
	if err := put(s, "a"); err != nil {
		t.Fatal(err)
	}
	ff.failWrite.Store(true)
	ff.failTruncate.Store(true)
	err := put(s, "b")
	if err == nil || errors.Is(err, blob.ErrUnchanged) {
		t.Fatalf("write whose tail could not be cut: err = %v, want an error that leaves it open", err)
	}
	ff.failWrite.Store(false)
	if err := put(s, "c"); err == nil || !errors.Is(err, blob.ErrUnchanged) {
		t.Fatalf("write while the tail cannot be cut: err = %v, want a refusal that changed nothing", err)
	}
	wantNotReady(t, s)
	ff.failTruncate.Store(false)
	if err := put(s, "d"); err != nil {
		t.Fatalf("write once the tail can be cut: %v", err)
	}
	if got := names(t, s); got != "a,d" {
		t.Fatalf("blobs = %q, want a,d", got)
	}
	s.Close()
	if got := names(t, open(t, dir)); got != "a,d" {
		t.Fatalf("blobs after reopen = %q, want a,d", got)
	}
}

// TestReserveKeepsDeletionsWorking: with the disk full, writes that add data are refused
// before anything is written, deletions use the reserve, and Ready turns ready again by
// itself once space is back.
func TestReserveKeepsDeletionsWorking(t *testing.T) {
	dir := t.TempDir()
	s, ff := openFaulty(t, dir, 4096)
	for _, n := range []string{"a", "b"} {
		if err := put(s, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	ff.failAllocate.Store(true)
	before := s.jr.written()
	// Enough records to use up what was preallocated past the end.
	for i := range 100 {
		if err := put(s, "x"); err != nil {
			wantNoSpace(t, err, true)
			break
		}
		if i == 99 {
			t.Fatal("writes never ran out of reserve")
		}
	}
	wantNotReady(t, s)
	grown := s.jr.written() - before
	if err := del(s, "a"); err != nil {
		t.Fatalf("deletion on a full disk: %v", err)
	}
	if got := names(t, s); got != "b,x" && got != "b" {
		t.Fatalf("blobs = %q", got)
	}
	if s.jr.written()-before-grown <= 0 {
		t.Fatal("the deletion wrote nothing")
	}
	ff.failAllocate.Store(false)
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready() once space is back = %v", err)
	}
	if err := put(s, "c"); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func bg() stdctx.Context { return stdctx.Background() }
