package fsmeta_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// Inline bytes (blob.Extent.Inline) are journaled with their record, in its history
// and in a splice of its extents, and written into snapshots: a reopen, from the
// journal or from a compaction's snapshot, rebuilds them byte for byte.
func TestInlineExtentsSurviveReopen(t *testing.T) {
	allBytes := make([]byte, 512)
	for i := range allBytes {
		allBytes[i] = byte(i) // every byte value, most of them not UTF-8 on their own
	}
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprint("compact=", compact), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, fsmeta.Options{})
			ctx := t.Context()
			if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			keys := []blob.BlobKey{{Account: "a", Container: "c", Name: "small"}, {Account: "a", Container: "c", Name: "mixed"}}
			write := func(k blob.BlobKey, rec *blob.BlobRecord) {
				t.Helper()
				if _, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
					return blob.BlobWrite{Blob: rec}, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			small := &blob.BlobRecord{BlobProperties: blob.BlobProperties{Container: "c", Name: "small", Size: 512, ETag: "0x1",
				LastModified: t0, CreatedAt: t0, BlobType: blob.BlobTypeBlock},
				Extents: []blob.Extent{{Inline: string(allBytes), Size: 512}}}
			write(keys[0], small)
			// Overwritten, the first version stays as a snapshot.
			next := *small
			next.ETag, next.Size, next.Extents = "0x2", 3, []blob.Extent{{Inline: "\x00\xfe\"", Size: 3}}
			prev := *small
			prev.Container, prev.Name = "", ""
			next.Snapshots = []blob.Snapshot{{ID: "2026-01-02T03:04:05.0000000Z", Record: prev}}
			write(keys[0], &next)

			mixed := &blob.BlobRecord{BlobProperties: blob.BlobProperties{Container: "c", Name: "mixed", Size: 9, ETag: "0x1",
				LastModified: t0, CreatedAt: t0, BlobType: blob.BlobTypeBlock},
				Extents: []blob.Extent{{BlockID: "QUFB", Inline: "abc", Size: 3}, {BlockID: "QkJC", Content: "f1", Size: 3}, {BlockID: "Q0ND", Inline: "\xff\xfe\xfd", Size: 3}}}
			write(keys[1], mixed)
			if compact {
				if err := s.Compact(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// Changing the last of several extents is journaled as a splice.
			spliced := *mixed
			spliced.ETag = "0x2"
			spliced.Extents = []blob.Extent{mixed.Extents[0], mixed.Extents[1], {BlockID: "RERE", Inline: "\x00\x01\x02", Size: 3}}
			write(keys[1], &spliced)

			want := map[string]blob.BlobRecord{}
			for _, k := range keys {
				r, err := s.GetBlob(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				want[k.Name] = r
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, fsmeta.Options{})
			defer s.Close()
			for _, k := range keys {
				got, err := s.GetBlob(ctx, k)
				if err != nil || !reflect.DeepEqual(got, want[k.Name]) {
					t.Fatalf("%s after reopen: %v\n got %+v %+v\nwant %+v %+v", k.Name, err, got.Extents, got.Snapshots, want[k.Name].Extents, want[k.Name].Snapshots)
				}
			}
			if got := want["small"].Snapshots[0].Record.Extents[0].Inline; got != string(allBytes) {
				t.Fatalf("snapshot's inline bytes: %q", got)
			}
			if got := want["mixed"].Extents[2].Inline; got != "\x00\x01\x02" {
				t.Fatalf("spliced inline bytes: %q", got)
			}
		})
	}
}
