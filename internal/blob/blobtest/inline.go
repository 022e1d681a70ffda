package blobtest

import (
	"reflect"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// inlineBytes are bytes a store must keep as bytes, not text: every byte value, so NUL,
// quotes, backslashes and sequences that are not UTF-8 too.
func inlineBytes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(255 - i%256)
	}
	return string(b)
}

// Extents with inline bytes (Extent.Inline) round-trip byte for byte wherever extents
// are kept: the blob's extents, its states' (snapshots, versions) and BlobResult.Prev,
// through whole writes and writes that change a few extents of many. They reference no
// content: Contents and DeleteContainer report only the content ids of other extents.
func testInlineExtents(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "small")
	rec := record(k, "0x1", blob.Extent{Inline: inlineBytes(1000), Size: 1000})
	put(t, s, k, rec)
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, *rec) {
		t.Fatalf("an inline extent:\n got %+v\nwant %+v", got.Extents, rec.Extents)
	}
	listed, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
	must(t, err)
	if len(listed) != 1 || !reflect.DeepEqual(listed[0], *rec) {
		t.Fatalf("listed %+v", listed)
	}

	// A version of it kept in the history of a blob that now mixes inline bytes and
	// content files; the write's Prev holds the inline bytes it replaced.
	next := record(k, "0x2",
		blob.Extent{BlockID: "QUFB", Inline: "\x00a\"\\\xff", Size: 5},
		blob.Extent{BlockID: "QkJC", Content: "in1", Size: 7},
		blob.Extent{BlockID: "Q0ND", Inline: inlineBytes(300), Size: 300})
	version := snapshotOf("2026-03-04T05:06:07.0000001Z", rec)
	version.Kind = blob.KindVersion
	snap := snapshotOf("2026-03-04T05:06:08.0000000Z", rec)
	next.Snapshots = []blob.Snapshot{version, snap}
	res := put(t, s, k, next)
	if res.Prev == nil || !reflect.DeepEqual(res.Prev.Extents, rec.Extents) {
		t.Fatalf("Prev of the overwrite: %+v", res.Prev)
	}
	got, err = s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, *next) {
		t.Fatalf("inline extents with a history:\n got %+v\n     %+v\nwant %+v\n     %+v", got.Extents, got.Snapshots, next.Extents, next.Snapshots)
	}

	// Changing one extent of several (a store may journal only the change).
	third := *next
	third.ETag = "0x3"
	third.Extents = []blob.Extent{next.Extents[0], next.Extents[1], {BlockID: "RERE", Inline: "new", Size: 3}}
	third.Size = 15
	put(t, s, k, &third)
	got, err = s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got.Extents, third.Extents) || !reflect.DeepEqual(got.Snapshots, third.Snapshots) {
		t.Fatalf("after changing one extent:\n got %+v\nwant %+v", got.Extents, third.Extents)
	}

	// A copy is a record of its own with the same bytes.
	kc := key("c", "copy")
	cp := record(kc, "0x4", blob.Extent{Inline: inlineBytes(1000), Size: 1000})
	put(t, s, kc, cp)
	if got, err := s.GetBlob(ctx, kc); err != nil || !reflect.DeepEqual(got.Extents, rec.Extents) {
		t.Fatalf("copy: %+v, %v", got.Extents, err)
	}

	seen := map[blob.ContentID]int{}
	must(t, s.Contents(ctx, func(id blob.ContentID) error { seen[id]++; return nil }))
	if len(seen) != 1 || seen["in1"] == 0 {
		t.Fatalf("Contents = %v, want only in1 (inline extents have no content)", seen)
	}
	ids, err := s.DeleteContainer(ctx, acct, "c", func(blob.Container) error { return nil })
	must(t, err)
	for _, id := range ids {
		if id != "in1" {
			t.Fatalf("DeleteContainer released %v, want only in1", ids)
		}
	}
}
