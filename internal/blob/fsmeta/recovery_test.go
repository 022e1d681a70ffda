package fsmeta_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func open(t *testing.T, dir string, opts fsmeta.Options) *fsmeta.Store {
	t.Helper()
	s, err := fsmeta.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func putBlob(t *testing.T, s blob.MetaStore, name, etag string) {
	t.Helper()
	k := blob.BlobKey{Account: "a", Container: "c", Name: name}
	_, err := s.UpdateBlob(t.Context(), k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: &blob.BlobRecord{
			BlobProperties: blob.BlobProperties{Name: name, Size: 1, ETag: etag, LastModified: t0, CreatedAt: t0, Metadata: blob.Metadata{"n": name}},
			Extents:        []blob.Extent{{Content: blob.ContentID("c-" + name), Size: 1}},
		}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshotOf lists everything a store holds, for comparing a store with its reopened self.
func snapshotOf(t *testing.T, s blob.MetaStore) []string {
	t.Helper()
	ctx := t.Context()
	var out []string
	cs, err := s.ListContainers(ctx, "a", "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, fmt.Sprintf("container %s %s %v %s", c.Name, c.ETag, c.Metadata, c.LastModified))
		bs, err := s.ListBlobs(ctx, "a", c.Name, "", "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			out = append(out, fmt.Sprintf("blob %s %s %v %v %s", b.Name, b.ETag, b.Metadata, b.Extents, b.LastModified))
		}
	}
	var ids []string
	s.Contents(ctx, func(id blob.ContentID) error { ids = append(ids, string(id)); return nil })
	sort.Strings(ids)
	return append(out, "contents "+strings.Join(ids, ","))
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{})
	ctx := t.Context()
	if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0, Metadata: blob.Metadata{"m": "1"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		putBlob(t, s, fmt.Sprintf("b%03d", i), "0x1")
	}
	putBlob(t, s, "b007", "0x2")
	k := blob.BlobKey{Account: "a", Container: "c", Name: "b001"}
	if _, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) { return blob.BlobWrite{}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlock(ctx, blob.BlobKey{Account: "a", Container: "c", Name: "staged"}, blob.Block{ID: "QUFB", Size: 3, Content: "blk", CreatedAt: t0}, func(blob.BlockSummary) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := snapshotOf(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, fsmeta.Options{})
	defer s.Close()
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	bs, err := s.ListBlocks(ctx, blob.BlobKey{Account: "a", Container: "c", Name: "staged"})
	if err != nil || len(bs) != 1 || bs[0].Content != "blk" || !bs[0].CreatedAt.Equal(t0) {
		t.Fatalf("staged block after reopen: %+v, %v", bs, err)
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{})
	ctx := t.Context()
	if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "kept", "0x1")
	want := snapshotOf(t, s)
	s.Close()

	// Simulate a crash in the middle of writing the next record: a partial frame.
	journals, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	if len(journals) != 1 {
		t.Fatalf("journals: %v", journals)
	}
	f, err := os.OpenFile(journals[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := f.Seek(0, 2)
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '{', '"'})
	f.Close()

	s = open(t, dir, fsmeta.Options{})
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after torn tail:\n%v\nwant\n%v", got, want)
	}
	// The tail was cut, and appends after it are readable on the next open.
	if fi, _ := os.Stat(journals[0]); fi.Size() != size {
		t.Fatalf("journal is %d bytes, want cut to %d", fi.Size(), size)
	}
	putBlob(t, s, "after", "0x1")
	want = snapshotOf(t, s)
	s.Close()
	s = open(t, dir, fsmeta.Options{})
	defer s.Close()
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after append past cut:\n%v\nwant\n%v", got, want)
	}
}

func TestCorruptRecordInTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{})
	if err := s.CreateContainer(t.Context(), blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "one", "0x1")
	putBlob(t, s, "two", "0x1")
	s.Close()
	journals, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	data, _ := os.ReadFile(journals[0])
	data[len(data)-3] ^= 0xff // flip a byte in the last record
	os.WriteFile(journals[0], data, 0o640)
	s = open(t, dir, fsmeta.Options{})
	defer s.Close()
	got := snapshotOf(t, s)
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, "blob one") || strings.Contains(joined, "blob two") {
		t.Fatalf("after damaged last record:\n%s", joined)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{CompactBytes: 1 << 10})
	ctx := t.Context()
	if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		putBlob(t, s, fmt.Sprintf("b%03d", i%120), fmt.Sprintf("0x%d", i))
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "last", "0x1")
	want := snapshotOf(t, s)
	s.Close()
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshot-*"))
	journals, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	if len(snaps) != 1 || len(journals) != 1 {
		t.Fatalf("after compaction: snapshots %v journals %v", snaps, journals)
	}
	s = open(t, dir, fsmeta.Options{})
	defer s.Close()
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction and reopen: got %d lines, want %d", len(got), len(want))
	}
}

// TestIncompleteSnapshot simulates a crash while a snapshot was written: the newest
// snapshot is unusable, and recovery falls back to the previous one plus journals.
func TestIncompleteSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{})
	ctx := t.Context()
	if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "one", "0x1")
	if err := s.Compact(ctx); err != nil { // snapshot-2, journal-2
		t.Fatal(err)
	}
	putBlob(t, s, "two", "0x1")
	want := snapshotOf(t, s)
	s.Close()
	// A crash after journal-3 was created but before snapshot-3 was complete.
	if err := os.WriteFile(filepath.Join(dir, "journal-0000000000000003"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshot-0000000000000003.tmp"), []byte("partial"), 0o640); err != nil {
		t.Fatal(err)
	}
	// And a snapshot that claims to be complete but is cut short.
	snap2, _ := os.ReadFile(filepath.Join(dir, "snapshot-0000000000000002"))
	if err := os.WriteFile(filepath.Join(dir, "snapshot-0000000000000003"), snap2[:len(snap2)/2], 0o640); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, fsmeta.Options{})
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("fallback recovery:\n%v\nwant\n%v", got, want)
	}
	putBlob(t, s, "three", "0x1")
	want = snapshotOf(t, s)
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "snapshot-0000000000000003.tmp")); !os.IsNotExist(err) {
		t.Fatalf("temp snapshot not removed: %v", err)
	}
	s = open(t, dir, fsmeta.Options{})
	defer s.Close()
	if got := snapshotOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("second recovery:\n%v\nwant\n%v", got, want)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, fsmeta.Options{})
	defer s.Close()
	if s2, err := fsmeta.Open(dir, fsmeta.Options{}); err == nil {
		s2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}
