package blobtest

import (
	"reflect"
	"sort"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// snapshotOf is rec as a snapshot keeps it: no lease, no snapshots, no name, no version
// id (a version's is its ID).
func snapshotOf(id string, rec *blob.BlobRecord) blob.Snapshot {
	r := *rec
	r.Container, r.Name, r.Lease, r.Snapshots, r.VersionID = "", "", blob.Lease{}, nil, ""
	return blob.Snapshot{ID: id, Record: r}
}

// Snapshots are part of their blob's record: stored by every write of it (also one that
// changes only them, or replaces the blob's many extents by a splice), returned by Get
// and List, reported in BlobResult.Prev (the Service keeps their content alive from it),
// and their content is referenced (Contents) and released with their container.
func testSnapshots(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	rec := record(k, "0x1", blob.Extent{BlockID: "QUFB", Content: "s1", Size: 2}, blob.Extent{BlockID: "QkJC", Content: "s2", Size: 3})
	put(t, s, k, rec)

	// An update that changes only the snapshots (the extents stay as they are).
	snap1 := snapshotOf("2026-03-04T05:06:07.0080000Z", rec)
	snap1.Record.Metadata = blob.Metadata{"snap": "yes"}
	snap1.Record.Tags = blob.Tags{"t": "v"}
	_, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Snapshots = []blob.Snapshot{snap1}
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	want := *rec
	want.Snapshots = []blob.Snapshot{snap1}
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("a snapshot-only update:\n got %+v\nwant %+v", got, want)
	}

	// A write that keeps the first extent and replaces the other (a splice) keeps the
	// snapshots it carries, and reports the previous ones.
	next := record(k, "0x2", blob.Extent{BlockID: "QUFB", Content: "s1", Size: 2}, blob.Extent{BlockID: "Q0ND", Content: "s3", Size: 4})
	next.Snapshots = want.Snapshots
	res := put(t, s, k, next)
	if res.Prev == nil || !reflect.DeepEqual(res.Prev.Snapshots, want.Snapshots) {
		t.Fatalf("BlobResult.Prev lost the snapshots: %+v", res.Prev)
	}
	got, err = s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, *next) {
		t.Fatalf("after an overwrite:\n got %+v\nwant %+v", got, *next)
	}
	list, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0].Snapshots, want.Snapshots) {
		t.Fatalf("listed %+v; want the snapshots", list)
	}

	// Every content the blob and its snapshots use is referenced.
	seen := map[blob.ContentID]bool{}
	must(t, s.Contents(ctx, func(id blob.ContentID) error { seen[id] = true; return nil }))
	for _, id := range []blob.ContentID{"s1", "s2", "s3"} {
		if !seen[id] {
			t.Fatalf("Contents = %v, misses %s (a snapshot's)", seen, id)
		}
	}

	// A second snapshot of an append blob, then removing the first.
	snap2 := snapshotOf("2026-03-04T05:06:08.0000001Z", next)
	snap2.Record.BlobType, snap2.Record.Sealed, snap2.Record.SequenceNumber = blob.BlobTypeAppend, true, 7
	_, err = s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Snapshots = []blob.Snapshot{snap2}
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	got, err = s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got.Snapshots, []blob.Snapshot{snap2}) {
		t.Fatalf("snapshots %+v, want only %+v", got.Snapshots, snap2)
	}

	// Deleting the container releases the snapshots' content with the blob's.
	ids, err := s.DeleteContainer(ctx, acct, "c", func(blob.Container) error { return nil })
	must(t, err)
	gotIDs := names(ids, func(id blob.ContentID) string { return string(id) })
	sort.Strings(gotIDs)
	gotIDs = dedupe(gotIDs)
	if !reflect.DeepEqual(gotIDs, []string{"s1", "s3"}) {
		t.Fatalf("DeleteContainer released %v, want s1 s3", gotIDs)
	}
}

func dedupe(xs []string) []string {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// A page blob's snapshot keeps its page map exactly: every extent's Offset, Content and
// ContentOffset, beside the blob's own, cut, extents. Get Page Ranges with prevsnapshot
// compares the two maps extent by extent, so a store that rewrote or merged a snapshot's
// extents would report pages as changed (or unchanged) wrongly.
func testPageSnapshots(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "disk")
	rec := record(k, "0x1",
		blob.Extent{Content: "p1", Size: 1024, Offset: 512},
		blob.Extent{Content: "p2", Size: 512, Offset: 4096, ContentOffset: 1536})
	rec.BlobType, rec.Size = blob.BlobTypePage, 1<<20
	put(t, s, k, rec)
	snap := snapshotOf("2026-03-04T05:06:07.0080000Z", rec)
	// The blob after a page write in the middle of its first extent: that extent is cut
	// in two around the new one, the right part starting further into its content.
	next := *rec
	next.ETag = "0x2"
	next.Extents = []blob.Extent{
		{Content: "p1", Size: 512, Offset: 512},
		{Content: "p3", Size: 512, Offset: 1024, ContentOffset: 4096},
		{Content: "p2", Size: 512, Offset: 4096, ContentOffset: 1536},
	}
	next.Snapshots = []blob.Snapshot{snap}
	_, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: &next}, nil
	})
	must(t, err)
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got.Extents, next.Extents) || len(got.Snapshots) != 1 || !reflect.DeepEqual(got.Snapshots[0].Record.Extents, rec.Extents) {
		t.Fatalf("page maps after a snapshot and a write:\n got %+v\n     %+v\nwant %+v\n     %+v", got.Extents, got.Snapshots, next.Extents, rec.Extents)
	}
}
