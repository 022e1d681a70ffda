package blob_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// protected is a Service whose account policy and clock the test sets.
type protected struct {
	*blob.Service
	dir string
	mu  sync.Mutex
	pol blob.Policy
	now time.Time
}

func (p *protected) set(pol blob.Policy) {
	p.mu.Lock()
	p.pol = pol
	p.mu.Unlock()
}

func (p *protected) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

func newProtected(t *testing.T, pol blob.Policy) *protected {
	t.Helper()
	p := &protected{dir: t.TempDir(), pol: pol, now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	meta, err := fsmeta.Open(filepath.Join(p.dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(p.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.now = p.now.Add(time.Millisecond) // every call a later time, as a real clock
		return p.now
	}
	policy := func(_ context.Context, account string) (blob.Policy, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if account != acct {
			t.Errorf("policy of account %q", account)
		}
		return p.pol, nil
	}
	p.Service, err = blob.Open(t.Context(), blob.Config{Meta: meta, Content: content, Now: clock, GCInterval: -1, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.CreateContainer(t.Context(), acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func readState(t *testing.T, s *blob.Service, name string, opts blob.GetBlobOptions) ([]byte, blob.BlobProperties) {
	t.Helper()
	r, err := s.GetBlob(t.Context(), key(name), opts)
	if err != nil {
		t.Fatalf("read %s %+v: %v", name, opts, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), r.Properties
}

func listAll(t *testing.T, s *blob.Service, opts blob.ListBlobsOptions) []blob.ListEntry {
	t.Helper()
	res, err := s.ListBlobs(t.Context(), acct, "ctr", opts)
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries
}

// With versioning on, every content or metadata write makes a new current version and
// keeps the one it replaces, readable by its id; Delete Blob leaves only versions, which
// a copy of one brings back; deleting a version frees what only it used.
func TestVersioning(t *testing.T) {
	s := newProtected(t, blob.Policy{Versioning: true})
	ctx := t.Context()
	v1, v2 := bytes.Repeat([]byte("one!"), 1<<14), bytes.Repeat([]byte("two!"), 1<<14)
	r1 := putBlob(t, s.Service, "b", v1)
	r2 := putBlob(t, s.Service, "b", v2)
	if r1.VersionID == "" || r2.VersionID <= r1.VersionID {
		t.Fatalf("version ids %q then %q", r1.VersionID, r2.VersionID)
	}
	p3, err := s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"k": "v"}, blob.Conditions{})
	if err != nil || p3.VersionID <= r2.VersionID {
		t.Fatalf("metadata write: version %q, %v", p3.VersionID, err)
	}
	// Properties and tags change the current version in place.
	p4, err := s.SetBlobHTTPHeaders(ctx, key("b"), blob.HTTPHeaders{ContentType: "text/plain"}, blob.Conditions{})
	if err != nil || p4.VersionID != p3.VersionID {
		t.Fatalf("properties write: version %q, want %q, %v", p4.VersionID, p3.VersionID, err)
	}
	if n := contentFiles(t, s.dir); n != 2 {
		t.Fatalf("%d content files, want 2 (both versions' data)", n)
	}
	got, p := readState(t, s.Service, "b", blob.GetBlobOptions{Version: r1.VersionID})
	if !bytes.Equal(got, v1) || p.VersionID != r1.VersionID || !p.PreviousVersion {
		t.Fatalf("version 1 read %d bytes, properties %+v", len(got), p)
	}
	got, p = readState(t, s.Service, "b", blob.GetBlobOptions{Version: p3.VersionID})
	if !bytes.Equal(got, v2) || p.PreviousVersion || p.Metadata["k"] != "v" {
		t.Fatalf("current version by id: %d bytes, %+v", len(got), p)
	}
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Version: "2000-01-01T00:00:00.0000000Z"})
	wantCode(t, err, blob.CodeBlobNotFound)

	list := listAll(t, s.Service, blob.ListBlobsOptions{Versions: true})
	if len(list) != 3 || list[0].Version != r1.VersionID || list[1].Version != r2.VersionID || list[2].Version != p3.VersionID ||
		list[0].IsCurrentVersion || !list[2].IsCurrentVersion {
		t.Fatalf("listing with versions: %+v", list)
	}
	if list := listAll(t, s.Service, blob.ListBlobsOptions{}); len(list) != 1 || list[0].Version != "" {
		t.Fatalf("listing without versions: %+v", list)
	}

	// Delete Blob: the blob is gone, its versions are not.
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBlobProperties(ctx, key("b"), blob.Conditions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	wantCode(t, s.DeleteBlob(ctx, key("b"), blob.Conditions{}), blob.CodeBlobNotFound)
	if list := listAll(t, s.Service, blob.ListBlobsOptions{}); len(list) != 0 {
		t.Fatalf("listing after the delete: %+v", list)
	}
	if list := listAll(t, s.Service, blob.ListBlobsOptions{Versions: true, Delimiter: "/"}); len(list) != 3 || list[2].IsCurrentVersion {
		t.Fatalf("versions after the delete: %+v", list)
	}
	if list := listAll(t, s.Service, blob.ListBlobsOptions{DeletedWithVersions: true}); len(list) != 1 || !list[0].HasVersionsOnly || list[0].Blob.Metadata["k"] != "v" {
		t.Fatalf("deleted with versions: %+v", list)
	}
	if _, err := s.GetBlobTags(ctx, key("b"), blob.Conditions{}); blob.CodeOf(err) != blob.CodeBlobNotFound {
		t.Fatalf("tags of a deleted blob: %v", err)
	}

	// Promote version 1 by copying it over the blob; the new current version is not
	// deleted by its id.
	cp, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("b"), SourceAt: blob.At{Version: r1.VersionID}, Dest: key("b")})
	if err != nil || cp.VersionID <= p3.VersionID {
		t.Fatalf("copy of a version: %+v, %v", cp, err)
	}
	if got, _ := readState(t, s.Service, "b", blob.GetBlobOptions{}); !bytes.Equal(got, v1) {
		t.Fatal("the promoted blob is not version 1")
	}
	wantCode(t, s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Version: cp.VersionID}), blob.CodeNotOnRootBlob)

	// A version's tags are its own.
	if err := s.SetBlobTagsAt(ctx, key("b"), blob.At{Version: r2.VersionID}, blob.Tags{"v": "2"}, blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if tags, err := s.GetBlobTagsAt(ctx, key("b"), blob.At{Version: r2.VersionID}, blob.Conditions{}); err != nil || tags["v"] != "2" {
		t.Fatalf("version tags %v, %v", tags, err)
	}
	if tags, err := s.GetBlobTags(ctx, key("b"), blob.Conditions{}); err != nil || len(tags) != 0 {
		t.Fatalf("blob tags %v, %v", tags, err)
	}

	// Deleting the versions that hold v2 frees its content; v1's stays (copied, and in
	// version 1).
	before := contentFiles(t, s.dir)
	for _, id := range []string{r2.VersionID, p3.VersionID} {
		if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Version: id}); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Version: id})
		wantCode(t, err, blob.CodeBlobNotFound)
	}
	if after := contentFiles(t, s.dir); after != before-1 {
		t.Fatalf("%d content files after deleting v2's versions, want %d", after, before-1)
	}
	if got, _ := readState(t, s.Service, "b", blob.GetBlobOptions{Version: r1.VersionID}); !bytes.Equal(got, v1) {
		t.Fatal("version 1 changed")
	}

	// Turning versioning off: the next write keeps the current version as a previous one
	// and has no version id.
	s.set(blob.Policy{})
	if r := putBlob(t, s.Service, "b", v2); r.VersionID != "" {
		t.Fatalf("write with versioning off got version %q", r.VersionID)
	}
	if list := listAll(t, s.Service, blob.ListBlobsOptions{Versions: true}); len(list) != 3 || list[2].Version != "" {
		t.Fatalf("versions after versioning was turned off: %+v", list)
	}

	// Delete Container frees everything.
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, s.dir); n != 0 {
		t.Fatalf("%d content files after Delete Container", n)
	}
}

// With soft delete on and versioning off, Delete Blob keeps the blob and its snapshots
// soft-deleted, an overwrite keeps what it overwrote as a soft-deleted snapshot, Undelete
// Blob brings them all back, and once the retention ends they are purged and their
// content freed.
func TestSoftDelete(t *testing.T) {
	s := newProtected(t, blob.Policy{RetentionDays: 2})
	ctx := t.Context()
	v1, v2 := bytes.Repeat([]byte("one!"), 1<<14), bytes.Repeat([]byte("two!"), 1<<14)
	putBlob(t, s.Service, "b", v1)
	snap, _, err := s.SnapshotBlob(ctx, key("b"), blob.SnapshotBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putBlob(t, s.Service, "b", v2) // keeps v1 (again) as a soft-deleted snapshot
	if list := listAll(t, s.Service, blob.ListBlobsOptions{Snapshots: true}); len(list) != 2 {
		t.Fatalf("listing after the overwrite: %+v", list)
	}
	withDeleted := listAll(t, s.Service, blob.ListBlobsOptions{Snapshots: true, Deleted: true})
	if len(withDeleted) != 3 || withDeleted[1].Deleted == nil || withDeleted[1].Deleted.Until.Sub(withDeleted[1].Deleted.At) != 48*time.Hour {
		t.Fatalf("listing with deleted after the overwrite: %+v", withDeleted)
	}
	overwritten := withDeleted[1].Snapshot
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Snapshot: overwritten})
	wantCode(t, err, blob.CodeBlobNotFound)

	wantCode(t, s.DeleteBlob(ctx, key("b"), blob.Conditions{}), blob.CodeSnapshotsPresent)
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsInclude}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBlobProperties(ctx, key("b"), blob.Conditions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Snapshot: snap})
	wantCode(t, err, blob.CodeBlobNotFound)
	if list := listAll(t, s.Service, blob.ListBlobsOptions{Snapshots: true}); len(list) != 0 {
		t.Fatalf("listing after the delete: %+v", list)
	}
	withDeleted = listAll(t, s.Service, blob.ListBlobsOptions{Deleted: true})
	if len(withDeleted) != 1 || withDeleted[0].Deleted == nil || withDeleted[0].Blob.Size != int64(len(v2)) {
		t.Fatalf("listing with deleted after the delete: %+v", withDeleted)
	}

	if err := s.UndeleteBlob(ctx, key("b")); err != nil {
		t.Fatal(err)
	}
	if got, _ := readState(t, s.Service, "b", blob.GetBlobOptions{}); !bytes.Equal(got, v2) {
		t.Fatal("undeleted blob is not v2")
	}
	for _, id := range []string{snap, overwritten} {
		if got, _ := readState(t, s.Service, "b", blob.GetBlobOptions{Snapshot: id}); !bytes.Equal(got, v1) {
			t.Fatalf("undeleted snapshot %s is not v1", id)
		}
	}
	// Undelete of a blob that is not deleted changes nothing; of one that never was is 404.
	if err := s.UndeleteBlob(ctx, key("b")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UndeleteBlob(ctx, key("nope")), blob.CodeBlobNotFound)

	// Soft-deleted again, then past the retention: gone, and the content freed by the
	// next write of the blob.
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsInclude}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, s.dir); n != 2 {
		t.Fatalf("%d content files while soft-deleted, want 2", n)
	}
	s.advance(49 * time.Hour)
	if list := listAll(t, s.Service, blob.ListBlobsOptions{Deleted: true, Snapshots: true}); len(list) != 0 {
		t.Fatalf("expired states listed: %+v", list)
	}
	wantCode(t, s.UndeleteBlob(ctx, key("b")), blob.CodeBlobNotFound)
	if n := contentFiles(t, s.dir); n != 0 {
		t.Fatalf("%d content files after the retention ended, want 0", n)
	}
}

// With versioning and soft delete, Delete Blob makes the current version a previous
// one, deleting a version soft-deletes it, and Undelete Blob restores versions but not
// the blob.
func TestVersioningWithSoftDelete(t *testing.T) {
	s := newProtected(t, blob.Policy{Versioning: true, RetentionDays: 1})
	ctx := t.Context()
	r1 := putBlob(t, s.Service, "b", []byte("one"))
	r2 := putBlob(t, s.Service, "b", []byte("two"))
	if err := s.DeleteBlobWith(ctx, key("b"), blob.DeleteBlobOptions{Version: r1.VersionID}); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Version: r1.VersionID})
	wantCode(t, err, blob.CodeBlobNotFound)
	list := listAll(t, s.Service, blob.ListBlobsOptions{Versions: true, Deleted: true})
	if len(list) != 2 || list[0].Deleted == nil || list[0].Version != r1.VersionID {
		t.Fatalf("listing with deleted versions: %+v", list)
	}
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndeleteBlob(ctx, key("b")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBlobProperties(ctx, key("b"), blob.Conditions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	for _, id := range []string{r1.VersionID, r2.VersionID} {
		if _, p := readState(t, s.Service, "b", blob.GetBlobOptions{Version: id}); p.VersionID != id {
			t.Fatalf("version %s after undelete: %+v", id, p)
		}
	}
}

// Garbage collection purges expired soft-deleted states, and frees their content, with
// no access to their blob.
func TestSoftDeletePurgedByGarbageCollection(t *testing.T) {
	s := newProtected(t, blob.Policy{RetentionDays: 1})
	ctx := t.Context()
	putBlob(t, s.Service, "b", bytes.Repeat([]byte("gone"), 1<<14))
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CollectGarbage(ctx))
	if n := contentFiles(t, s.dir); n != 1 {
		t.Fatalf("%d content files within the retention, want 1", n)
	}
	s.advance(25 * time.Hour)
	must(s.CollectGarbage(ctx))
	if n := contentFiles(t, s.dir); n != 0 {
		t.Fatalf("%d content files after the retention and a collection, want 0", n)
	}
	wantCode(t, s.UndeleteBlob(ctx, key("b")), blob.CodeBlobNotFound)
}
