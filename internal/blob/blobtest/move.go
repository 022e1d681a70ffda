package blobtest

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// testMoveContainer: MoveContainer moves a container with its blobs (tags, snapshots,
// leases, content), its uncommitted blocks and its record to another account and name,
// in one step; the source name is free afterwards and the target's record is fn's.
func testMoveContainer(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	rec := record(k, "0x1", blob.Extent{Content: "e1", Size: 1})
	rec.Tags = blob.Tags{"project": "move"}
	rec.Lease = blob.Lease{ID: "11111111-1111-1111-1111-111111111111", Phase: blob.LeasePhaseLeased, Duration: -1}
	put(t, s, k, rec)
	_, err := s.PutBlock(ctx, key("c", "staged"), blob.Block{ID: "QUFB", Size: 1, Content: "b1", CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
	must(t, err)

	deleted, retain := t0.Add(time.Minute), t0.Add(7*24*time.Hour)
	moved, err := s.MoveContainer(ctx, acct, "c", func(c blob.Container) (blob.Container, error) {
		if c.Name != "c" || c.Metadata["k"] != "v" {
			t.Errorf("fn got %+v", c)
		}
		c.Account, c.Name = "elsewhere", "acct/c!01"
		c.DeletedTime, c.RetainUntil = deleted, retain
		return c, nil
	})
	must(t, err)
	if moved.Account != "elsewhere" || moved.Name != "acct/c!01" || !moved.DeletedTime.Equal(deleted) || !moved.RetainUntil.Equal(retain) {
		t.Fatalf("MoveContainer returned %+v", moved)
	}

	// The source is gone, with its blobs, blocks and tag index entries.
	_, err = s.GetContainer(ctx, acct, "c")
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	wantList(t, "find in the source account", find(t, s, `"project"='move'`, "", blob.TagMarker{}, 10))
	if cs, err := s.ListContainers(ctx, acct, "", "", 10); err != nil || len(cs) != 0 {
		t.Fatalf("source account lists %v, %v", cs, err)
	}

	// The target has all of it.
	got, err := s.GetContainer(ctx, "elsewhere", "acct/c!01")
	must(t, err)
	if !got.DeletedTime.Equal(deleted) || !got.RetainUntil.Equal(retain) || got.Metadata["k"] != "v" {
		t.Fatalf("target container = %+v", got)
	}
	tk := blob.BlobKey{Account: "elsewhere", Container: "acct/c!01", Name: "b"}
	b, err := s.GetBlob(ctx, tk)
	must(t, err)
	if b.Container != "acct/c!01" || b.Tags["project"] != "move" || b.Lease != rec.Lease || !reflect.DeepEqual(b.Extents, rec.Extents) {
		t.Fatalf("moved blob = %+v", b)
	}
	if bs, err := s.ListBlocks(ctx, blob.BlobKey{Account: "elsewhere", Container: "acct/c!01", Name: "staged"}); err != nil || len(bs) != 1 || bs[0].Content != "b1" {
		t.Fatalf("moved blocks = %v, %v", bs, err)
	}
	listed, err := s.ListContainers(ctx, "elsewhere", "acct/", "", 10)
	must(t, err)
	if len(listed) != 1 || !listed[0].RetainUntil.Equal(retain) {
		t.Fatalf("target listing = %+v", listed)
	}
	q, err := blob.ParseFindQuery(`"project"='move'`, "")
	must(t, err)
	found, err := s.FindBlobs(ctx, "elsewhere", q, blob.TagMarker{}, 10)
	must(t, err)
	if len(found) != 1 || found[0].Container != "acct/c!01" {
		t.Fatalf("find in the target account = %+v", found)
	}
	var ids []string
	must(t, s.Contents(ctx, func(id blob.ContentID) error { ids = append(ids, string(id)); return nil }))
	sort.Strings(ids)
	if !reflect.DeepEqual(ids, []string{"b1", "e1"}) {
		t.Fatalf("Contents after the move = %v", ids)
	}

	// The source name is free: a new container of it is empty, and moves back collide.
	mkContainer(t, s, "c")
	if bs, err := s.ListBlobs(ctx, acct, "c", "", "", 10); err != nil || len(bs) != 0 {
		t.Fatalf("new container of the moved name lists %v, %v", bs, err)
	}
	back := func(c blob.Container) (blob.Container, error) {
		c.Account, c.Name = acct, "c"
		c.DeletedTime, c.RetainUntil = time.Time{}, time.Time{}
		return c, nil
	}
	_, err = s.MoveContainer(ctx, "elsewhere", "acct/c!01", back)
	wantCode(t, err, lanyard.KindConflict, blob.CodeContainerAlreadyExists)
	if _, err := s.GetBlob(ctx, tk); err != nil {
		t.Fatalf("a refused move changed the source: %v", err)
	}
	_, err = s.DeleteContainer(ctx, acct, "c", func(blob.Container) error { return nil })
	must(t, err)

	// Moved back, everything reads as before, with fn's record.
	restored, err := s.MoveContainer(ctx, "elsewhere", "acct/c!01", back)
	must(t, err)
	if !restored.DeletedTime.IsZero() || !restored.RetainUntil.IsZero() || restored.Name != "c" {
		t.Fatalf("moved back: %+v", restored)
	}
	b, err = s.GetBlob(ctx, k)
	must(t, err)
	if b.Container != "c" || b.Tags["project"] != "move" {
		t.Fatalf("blob moved back = %+v", b)
	}
	wantList(t, "find after moving back", find(t, s, `"project"='move'`, "", blob.TagMarker{}, 10), "c/b")
	_, err = s.GetContainer(ctx, "elsewhere", "acct/c!01")
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)

	// A missing source, and fn's errors, change nothing.
	_, err = s.MoveContainer(ctx, acct, "missing", back)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	boom := errors.New("boom")
	_, err = s.MoveContainer(ctx, acct, "c", func(blob.Container) (blob.Container, error) { return blob.Container{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("fn's error: got %v", err)
	}
	if _, err := s.GetBlob(ctx, k); err != nil {
		t.Fatalf("a failed move changed the source: %v", err)
	}
}

// testContainerDeletionTimes: a container's DeletedTime and RetainUntil round-trip
// through create, update and listing, and are zero when unset.
func testContainerDeletionTimes(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	plain := mkContainer(t, s, "plain")
	got, err := s.GetContainer(ctx, acct, plain.Name)
	must(t, err)
	if !got.DeletedTime.IsZero() || !got.RetainUntil.IsZero() {
		t.Fatalf("a live container has deletion times: %+v", got)
	}
	c := blob.Container{Account: acct, Name: "gone", ETag: "0x1", LastModified: t0, CreatedAt: t0,
		DeletedTime: t0.Add(time.Second), RetainUntil: t0.Add(time.Hour)}
	must(t, s.CreateContainer(ctx, c))
	got, err = s.GetContainer(ctx, acct, "gone")
	must(t, err)
	if !got.DeletedTime.Equal(c.DeletedTime) || !got.RetainUntil.Equal(c.RetainUntil) {
		t.Fatalf("created: %+v", got)
	}
	up, err := s.UpdateContainer(ctx, acct, "gone", func(c blob.Container) (blob.Container, error) {
		c.RetainUntil = c.RetainUntil.Add(time.Hour)
		return c, nil
	})
	must(t, err)
	cs, err := s.ListContainers(ctx, acct, "gone", "", 10)
	must(t, err)
	if len(cs) != 1 || !cs[0].RetainUntil.Equal(t0.Add(2*time.Hour)) || !up.RetainUntil.Equal(cs[0].RetainUntil) || !cs[0].DeletedTime.Equal(c.DeletedTime) {
		t.Fatalf("updated: %+v, listed %+v", up, cs)
	}
}
