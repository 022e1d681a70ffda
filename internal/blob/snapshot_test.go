package blob_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func readAt(t *testing.T, s *blob.Service, name, snapshot string) []byte {
	t.Helper()
	r, err := s.GetBlob(t.Context(), key(name), blob.GetBlobOptions{Snapshot: snapshot})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A snapshot keeps the blob's data, properties and metadata as they were; overwriting
// and deleting the blob never frees content a snapshot still uses, and deleting the last
// user of a content file frees it.
func TestSnapshotKeepsContent(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	v1 := bytes.Repeat([]byte("one!"), 1<<16)
	putBlob(t, s, "b", v1)
	if _, err := s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"k": "v1"}, blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	id1, p1, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blob.ParseSnapshotID(id1); err != nil || len(id1) != len("2026-12-03T10:38:00.1234567Z") {
		t.Fatalf("snapshot id %q: %v", id1, err)
	}
	id2, p2, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{Metadata: blob.Metadata{"Snap": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 || p1.ETag != p2.ETag {
		t.Fatalf("second snapshot %q after %q, etags %q %q", id2, id1, p1.ETag, p2.ETag)
	}
	v2 := bytes.Repeat([]byte("two!"), 1<<16)
	putBlob(t, s, "b", v2)
	if n := contentFiles(t, dir); n != 2 {
		t.Fatalf("%d content files after an overwrite, want 2 (the snapshot's and the blob's)", n)
	}
	if got := readAt(t, s, "b", id1); !bytes.Equal(got, v1) {
		t.Fatalf("snapshot read %d bytes, not the first version", len(got))
	}
	if got := readAt(t, s, "b", ""); !bytes.Equal(got, v2) {
		t.Fatal("blob read is not the second version")
	}
	props, err := s.GetBlobPropertiesAt(ctx, key("b"), blob.At{Snapshot: id1}, blob.Conditions{})
	if err != nil || props.Metadata["k"] != "v1" || props.ETag != p1.ETag {
		t.Fatalf("snapshot properties %+v, %v", props, err)
	}
	props, err = s.GetBlobPropertiesAt(ctx, key("b"), blob.At{Snapshot: id2}, blob.Conditions{})
	if err != nil || props.Metadata["snap"] != "2" || props.Metadata["k"] != "" {
		t.Fatalf("snapshot given metadata: %+v, %v", props.Metadata, err)
	}
	_, err = s.GetBlobPropertiesAt(ctx, key("b"), blob.At{Snapshot: "2000-01-01T00:00:00.0000000Z"}, blob.Conditions{})
	wantCode(t, err, blob.CodeBlobNotFound)

	// Listing puts a blob's snapshots, oldest first, before it.
	list, err := s.ListBlobs(ctx, acct, "ctr", blob.ListBlobsOptions{Snapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Entries) != 3 || list.Entries[0].Snapshot != id1 || list.Entries[1].Snapshot != id2 || list.Entries[2].Snapshot != "" {
		t.Fatalf("listing %+v", list.Entries)
	}
	list, err = s.ListBlobs(ctx, acct, "ctr", blob.ListBlobsOptions{})
	if err != nil || len(list.Entries) != 1 {
		t.Fatalf("listing without snapshots: %+v, %v", list.Entries, err)
	}

	// A blob with snapshots is deleted only with them.
	err = s.DeleteBlob(ctx, key("b"), blob.Conditions{})
	wantCode(t, err, blob.CodeSnapshotsPresent)
	// Deleting both snapshots (one by one, then "only") frees the first version.
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshot: id1}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 2 {
		t.Fatalf("%d content files with one snapshot left, want 2", n)
	}
	err = s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshot: id1})
	wantCode(t, err, blob.CodeBlobNotFound)
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsOnly}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files without snapshots, want 1", n)
	}
	if got := readAt(t, s, "b", ""); !bytes.Equal(got, v2) {
		t.Fatal("deleting the snapshots changed the blob")
	}
	// "include" deletes the blob and its snapshots, and frees all their content.
	if _, _, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsInclude}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after deleting the blob with its snapshots, want 0", n)
	}
}

// Deleting a container frees its blobs' snapshots' content, and a restart keeps
// snapshot content as referenced.
func TestSnapshotContainerDeleteAndRecovery(t *testing.T) {
	dir := t.TempDir()
	s := openService(t, dir, nil)
	ctx := t.Context()
	if _, err := s.CreateContainer(ctx, acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	v1 := bytes.Repeat([]byte("one!"), 1<<16)
	putBlob(t, s, "b", v1)
	id, _, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "b", []byte("small"))
	s.Close()
	s = openService(t, dir, nil)
	defer s.Close()
	if got := readAt(t, s, "b", id); !bytes.Equal(got, v1) {
		t.Fatal("recovery lost a snapshot's content")
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after Delete Container, want 0", n)
	}
}

// FuzzParseSnapshotID: any query value either fails with InvalidQueryParameterValue or
// gives a canonical id that parses to itself.
func FuzzParseSnapshotID(f *testing.F) {
	for _, s := range []string{"2026-12-03T10:38:00.1234567Z", "2024-01-01T00:00:00Z", "2026-12-03T10:38:00.123+02:00", "yesterday", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, err := blob.ParseSnapshotID(v)
		if err != nil {
			if blob.CodeOf(err) != blob.CodeInvalidQueryValue {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		again, err := blob.ParseSnapshotID(id)
		if err != nil || again != id || len(id) != len(blob.SnapshotLayout) {
			t.Fatalf("%q -> %q -> %q, %v", v, id, again, err)
		}
	})
}
