package blob_test

import (
	"bytes"
	"crypto/md5"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// A Put Blob of up to blob.InlineMax bytes keeps them in the blob's record: no content
// file is made, and every read of the blob (whole, ranged, seeking) returns them; one
// byte more makes a file as before.
func TestPutBlobInline(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	at := randomBytes(blob.InlineMax, 1)
	sum := md5.Sum(at)
	res, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key("at"), Body: bytes.NewReader(at), Size: int64(len(at)),
		ContentMD5: sum[:], ContentCRC64: blob.CRC64Bytes(blob.CRC64(at))})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.ContentMD5, sum[:]) || res.Size != int64(len(at)) {
		t.Fatalf("put result %+v", res)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after a Put of %d bytes, want 0 (inline)", n, len(at))
	}
	if got, _ := read(t, s, "at", nil); !bytes.Equal(got, at) {
		t.Fatalf("read %d bytes, differ", len(got))
	}
	got, r := read(t, s, "at", &blob.Range{Start: 1000, End: 1999})
	if !bytes.Equal(got, at[1000:2000]) || !r.Partial {
		t.Fatalf("ranged read: %d bytes", len(got))
	}
	if got, _ := read(t, s, "at", &blob.Range{Start: blob.InlineMax - 3, End: -1}); !bytes.Equal(got, at[blob.InlineMax-3:]) {
		t.Fatalf("tail read %q", got)
	}
	// Small reads, and a seek back, through the same reader.
	rd, err := s.GetBlob(ctx, key("at"), blob.GetBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 7)
	if _, err := io.ReadFull(rd, p); err != nil || !bytes.Equal(p, at[:7]) {
		t.Fatalf("small read %q, %v", p, err)
	}
	if _, err := rd.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rd, p); err != nil || !bytes.Equal(p, at[100:107]) {
		t.Fatalf("read after seek %q, %v", p, err)
	}
	rd.Close()

	over := randomBytes(blob.InlineMax+1, 2)
	putBlob(t, s, "over", over)
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after a Put of %d bytes, want 1", n, len(over))
	}
	if got, _ := read(t, s, "over", nil); !bytes.Equal(got, over) {
		t.Fatal("blob over the threshold reads differently")
	}

	// Digests are checked before anything is stored.
	_, err = s.PutBlob(ctx, blob.PutBlobInput{Key: key("at"), Body: bytes.NewReader([]byte("x")), Size: 1, ContentMD5: sum[:]})
	wantCode(t, err, blob.CodeMd5Mismatch)
	_, err = s.PutBlob(ctx, blob.PutBlobInput{Key: key("at"), Body: bytes.NewReader([]byte("x")), Size: 1, ContentCRC64: make([]byte, 8)})
	wantCode(t, err, blob.CodeCrc64Mismatch)
	_, err = s.PutBlob(ctx, blob.PutBlobInput{Key: key("at"), Body: bytes.NewReader([]byte("x")), Size: 2})
	wantCode(t, err, blob.CodeIncompleteBody)
	if got, _ := read(t, s, "at", nil); !bytes.Equal(got, at) {
		t.Fatal("a refused Put changed the blob")
	}
}

// An inline blob lives through what other blobs do: overwrites either way, a snapshot,
// a copy (whose bytes are inline too, checked against x-ms-source-content-md5), Put
// Block List, deletion, and a restart of the service.
func TestInlineBlobLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openService(t, dir, nil) // closed and opened again below
	ctx := t.Context()
	if _, err := s.CreateContainer(ctx, acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	small, large := randomBytes(1024, 3), randomBytes(3*blob.InlineMax, 4)

	// Overwrites: a file, then inline (the file is released), then a file again.
	putBlob(t, s, "b", large)
	putBlob(t, s, "b", small)
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after an inline overwrite of a file, want 0", n)
	}
	if got, _ := read(t, s, "b", nil); !bytes.Equal(got, small) {
		t.Fatal("inline overwrite reads differently")
	}

	// A snapshot keeps the inline bytes when the blob changes.
	snap, _, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "b", large)
	if got, _ := readState(t, s, "b", blob.GetBlobOptions{Snapshot: snap}); !bytes.Equal(got, small) {
		t.Fatal("snapshot of an inline blob reads differently")
	}
	if got, _ := readState(t, s, "b", blob.GetBlobOptions{Snapshot: snap, Range: &blob.Range{Start: 10, End: 19}}); !bytes.Equal(got, small[10:20]) {
		t.Fatal("ranged read of the snapshot differs")
	}
	putBlob(t, s, "b", small)

	// Copies: the bytes go with the record, and the source MD5 covers them.
	files := contentFiles(t, dir)
	sum := md5.Sum(small)
	if _, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("b"), Dest: key("copy"), BlockBlob: true, SourceContentMD5: sum[:]}); err != nil {
		t.Fatalf("copy with the source's MD5: %v", err)
	}
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("b"), Dest: key("copy2"), BlockBlob: true, SourceContentMD5: make([]byte, 16)})
	wantCode(t, err, blob.CodeMd5Mismatch)
	if _, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("b"), Dest: key("fromsnap"), SourceAt: blob.At{Snapshot: snap}}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != files {
		t.Fatalf("%d content files after copying an inline blob, want %d", n, files)
	}
	for _, name := range []string{"copy", "fromsnap"} {
		if got, _ := read(t, s, name, nil); !bytes.Equal(got, small) {
			t.Fatalf("%s reads differently", name)
		}
	}

	// Put Block List: the Put Blob extent is no committed block; an empty list empties
	// the blob, a staged block replaces it.
	if bl, err := s.GetBlockList(ctx, key("copy"), blob.ListCommitted); err != nil || len(bl.Committed) != 0 {
		t.Fatalf("committed blocks of an inline blob: %+v, %v", bl.Committed, err)
	}
	if _, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("copy")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, s, "copy", nil); len(got) != 0 {
		t.Fatalf("after an empty block list: %d bytes", len(got))
	}
	putBlob(t, s, "copy", small)
	if _, err := s.PutBlock(ctx, key("copy"), blockID(1), bytes.NewReader([]byte("block")), 5, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("copy"), Blocks: []blob.BlockListItem{{ID: blockID(1)}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, s, "copy", nil); string(got) != "block" {
		t.Fatalf("after a block list: %q", got)
	}

	// Everything inline and its snapshot survive a restart (the metadata journal holds
	// the bytes).
	s.Close()
	s = openService(t, dir, nil)
	defer s.Close()
	if got, _ := read(t, s, "b", nil); !bytes.Equal(got, small) {
		t.Fatal("inline blob after a restart reads differently")
	}
	if got, _ := readState(t, s, "b", blob.GetBlobOptions{Snapshot: snap}); !bytes.Equal(got, small) {
		t.Fatal("snapshot after a restart reads differently")
	}

	// Deleted with its snapshot: gone; its copies stay whole.
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsInclude}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	if got, _ := read(t, s, "fromsnap", nil); !bytes.Equal(got, small) {
		t.Fatal("a copy reads differently after its source's deletion")
	}
}
