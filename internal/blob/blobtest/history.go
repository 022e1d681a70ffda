package blobtest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// A blob's history beyond snapshots is part of its record too: versions and soft-deleted
// states (Snapshot.Kind, Snapshot.Deleted), the current version id and the tombstone
// flag are stored by every write (also one that changes only a state's deletion or a
// version's tags or tier) and returned by Get and List. A store keeps and lists tombstones like
// any record: hiding them is the Service's job. Their states' content is referenced.
func testHistory(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	rec := record(k, "0x1", blob.Extent{BlockID: "QUFB", Content: "h1", Size: 2})
	rec.VersionID = "2026-03-04T05:06:07.0000001Z"
	put(t, s, k, rec)
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, *rec) {
		t.Fatalf("a record with a version id:\n got %+v\nwant %+v", got, *rec)
	}

	// Delete with versioning and soft delete: a tombstone holding the version and a
	// soft-deleted snapshot.
	version := snapshotOf(rec.VersionID, rec)
	version.Kind = blob.KindVersion
	deleted := snapshotOf("2026-03-04T05:06:08.0000000Z", rec)
	deleted.Deleted = &blob.Deletion{At: t0, Until: t0.Add(24 * time.Hour)}
	tomb := &blob.BlobRecord{BlobProperties: blob.BlobProperties{Container: k.Container, Name: k.Name,
		BlobType: blob.BlobTypeBlock, LastModified: t0, CreatedAt: t0}, Snapshots: []blob.Snapshot{version, deleted}, Tombstone: true}
	put(t, s, k, tomb)
	check := func(what string, want *blob.BlobRecord) {
		t.Helper()
		got, err := s.GetBlob(ctx, k)
		must(t, err)
		if !reflect.DeepEqual(got, *want) {
			t.Fatalf("%s, GetBlob:\n got %+v\nwant %+v", what, got, *want)
		}
		list, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
		must(t, err)
		if len(list) != 1 || !reflect.DeepEqual(list[0], *want) {
			t.Fatalf("%s, ListBlobs:\n got %+v\nwant %+v", what, list, *want)
		}
	}
	check("a tombstone", tomb)
	seen := map[blob.ContentID]bool{}
	must(t, s.Contents(ctx, func(id blob.ContentID) error { seen[id] = true; return nil }))
	if !seen["h1"] {
		t.Fatalf("Contents = %v, misses a tombstone's version's content", seen)
	}

	// Undelete: only the deletion changes; then a version's tags.
	_, err = s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Snapshots = []blob.Snapshot{version, deleted}
		n.Snapshots[1].Deleted = nil
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	want := *tomb
	want.Snapshots = []blob.Snapshot{version, deleted}
	want.Snapshots[1].Deleted = nil
	check("a deletion undone", &want)
	_, err = s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Snapshots = []blob.Snapshot{version, want.Snapshots[1]}
		n.Snapshots[0].Record.Tags = blob.Tags{"v": "1"}
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	want.Snapshots = []blob.Snapshot{version, want.Snapshots[1]}
	want.Snapshots[0].Record.Tags = blob.Tags{"v": "1"}
	check("a version's tags changed", &want)
	_, err = s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Snapshots = slices.Clone(want.Snapshots)
		n.Snapshots[0].Record.Tier = blob.AccessTier{Tier: blob.TierCool}
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	want.Snapshots = slices.Clone(want.Snapshots)
	want.Snapshots[0].Record.Tier = blob.AccessTier{Tier: blob.TierCool}
	check("a version's tier changed", &want)

	// A write over the tombstone makes it a blob again.
	rec2 := record(k, "0x2", blob.Extent{Content: "h2", Size: 3})
	rec2.Snapshots = want.Snapshots
	res := put(t, s, k, rec2)
	if res.Prev == nil || !res.Prev.Tombstone {
		t.Fatalf("BlobResult.Prev of a write over a tombstone: %+v", res.Prev)
	}
	check("a blob written over its tombstone", rec2)
}
