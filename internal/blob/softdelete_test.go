package blob_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// listAll lists every container of acct page by page, deleted ones too, as
// "name" or "name@version".
func listAllContainers(t *testing.T, s *blob.Service, pageSize int) ([]string, []blob.Container) {
	t.Helper()
	var names []string
	var all []blob.Container
	marker := ""
	for {
		page, err := s.ListContainers(t.Context(), acct, blob.ListContainersOptions{Marker: marker, MaxResults: pageSize, Deleted: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Containers {
			n := c.Name
			if c.Version != "" {
				n += "@" + c.Version
			}
			names = append(names, n)
			all = append(all, c)
		}
		if page.NextMarker == "" {
			return names, all
		}
		marker = page.NextMarker
	}
}

func wantCodeOf(t *testing.T, err error, code string) {
	t.Helper()
	if lanyard.CodeOf(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// Soft delete keeps a container with its blobs as a deleted version: hidden from reads
// and plain listings, listed with include=deleted, its name free for a new container,
// and restorable by version once no live container has its name.
func TestContainerSoftDeleteAndRestore(t *testing.T) {
	clk := &clock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	dir := t.TempDir()
	s := openService(t, dir, clk.now)
	defer s.Close()
	ctx := t.Context()
	if _, err := s.CreateContainer(ctx, acct, "ctr", blob.Metadata{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("kept"), 1<<14)
	putBlob(t, s, "b", data)
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetContainer(ctx, acct, "ctr")
	wantCodeOf(t, err, blob.CodeContainerNotFound)
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	wantCodeOf(t, err, blob.CodeContainerNotFound)
	if page, err := s.ListContainers(ctx, acct, blob.ListContainersOptions{}); err != nil || len(page.Containers) != 0 {
		t.Fatalf("plain listing after soft delete: %v, %v", page.Containers, err)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after soft delete, want 1", n)
	}
	names, all := listAllContainers(t, s, 0)
	if len(all) != 1 || all[0].Name != "ctr" || len(all[0].Version) != 16 || all[0].Metadata["k"] != "v" ||
		!all[0].DeletedTime.Equal(clk.now()) || !all[0].RetainUntil.Equal(clk.now().Add(7*24*time.Hour)) {
		t.Fatalf("include=deleted lists %q: %+v", names, all)
	}
	v1 := all[0].Version

	// The name is free; a second deletion makes a second version.
	if _, err := s.CreateContainer(ctx, acct, "ctr", nil); err != nil {
		t.Fatalf("creating a container with a soft-deleted one's name: %v", err)
	}
	putBlob(t, s, "other", bytes.Repeat([]byte("second"), blob.InlineMax)) // a file, not inline
	_, err = s.RestoreContainer(ctx, acct, "ctr", v1)
	wantCodeOf(t, err, blob.CodeContainerAlreadyExists)
	clk.advance(time.Hour)
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(ctx, acct, "ctr-2", nil); err != nil {
		t.Fatal(err)
	}
	// Live before deleted, deleted by version, every page size alike.
	names, all = listAllContainers(t, s, 0)
	if len(all) != 4 || names[0] != "ctr" || names[1] != "ctr@"+v1 || all[2].Version <= v1 || names[3] != "ctr-2" {
		t.Fatalf("include=deleted lists %q", names)
	}
	v2 := all[2].Version
	for _, size := range []int{1, 2, 3} {
		if got, _ := listAllContainers(t, s, size); !slices.Equal(got, names) {
			t.Fatalf("pages of %d list %q, want %q", size, got, names)
		}
	}

	// Restore needs the name free, then brings the blobs back.
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	c, err := s.RestoreContainer(ctx, acct, "ctr", v1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "ctr" || !c.DeletedTime.IsZero() || c.Metadata["k"] != "v" {
		t.Fatalf("restored %+v", c)
	}
	if got, _ := read(t, s, "b", nil); !bytes.Equal(got, data) {
		t.Fatal("restored blob reads differently")
	}
	_, err = s.RestoreContainer(ctx, acct, "ctr", v1)
	wantCodeOf(t, err, blob.CodeContainerNotFound) // restored: no longer a deleted version
	_, err = s.RestoreContainer(ctx, acct, "ctr", v2)
	wantCodeOf(t, err, blob.CodeContainerAlreadyExists)
	_, err = s.RestoreContainer(ctx, acct, "nope", v1)
	wantCodeOf(t, err, blob.CodeContainerNotFound)
	_, err = s.RestoreContainer(ctx, acct, "ctr", "not-a-version")
	wantCodeOf(t, err, blob.CodeContainerNotFound)

	// Past its retention the second version is no longer listed nor restorable, and
	// garbage collection frees its content.
	clk.advance(time.Hour)
	if got, _ := listAllContainers(t, s, 0); !slices.Equal(got, []string{"ctr", "ctr-2"}) {
		t.Fatalf("after the retention: %q", got)
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files before the purge, want 1 (the expired version's)", n)
	}
	if err := s.CollectGarbage(ctx); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after the purge, want 0", n)
	}
	_, err = s.RestoreContainer(ctx, acct, "ctr", v2)
	wantCodeOf(t, err, blob.CodeContainerNotFound)

	// Restoring an expired version purges it at once.
	if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: blob.BlobKey{Account: acct, Container: "ctr-2", Name: "x"},
		Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr-2", blob.Conditions{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, all = listAllContainers(t, s, 0)
	clk.advance(time.Minute)
	_, err = s.RestoreContainer(ctx, acct, "ctr-2", all[0].Version)
	wantCodeOf(t, err, blob.CodeContainerNotFound)
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after restoring an expired version, want 0", n)
	}
}

// A leased container is soft-deleted only with its lease id, and comes back unleased;
// PurgeDeletedContainers drops an account's deleted containers before their time.
func TestContainerSoftDeleteLeaseAndPurge(t *testing.T) {
	s, clk := leaseService(t)
	ctx := t.Context()
	id := "11111111-1111-1111-1111-111111111111"
	if _, err := s.LeaseContainer(ctx, acct, "ctr", blob.LeaseRequest{Action: blob.LeaseAcquire, ProposedID: id, Duration: -1}); err != nil {
		t.Fatal(err)
	}
	_, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, time.Hour)
	wantCodeOf(t, err, "LeaseIdMissing")
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{LeaseID: id}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, all := listAllContainers(t, s, 0)
	if len(all) != 1 || !all[0].Lease.IsZero() {
		t.Fatalf("deleted version: %+v", all)
	}
	c, err := s.RestoreContainer(ctx, acct, "ctr", all[0].Version)
	if err != nil || !c.Lease.IsZero() {
		t.Fatalf("restored %+v, %v", c, err)
	}
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	if err := s.PurgeDeletedContainers(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if got, _ := listAllContainers(t, s, 0); len(got) != 1 {
		t.Fatalf("another account's purge touched this one: %q", got)
	}
	if err := s.PurgeDeletedContainers(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if got, _ := listAllContainers(t, s, 0); len(got) != 0 {
		t.Fatalf("after the account's purge: %q", got)
	}
}

// FuzzRestoreContainerVersion: any x-ms-deleted-container-version restores the one
// deleted version it names exactly, or answers ContainerNotFound; none reaches another
// container.
func FuzzRestoreContainerVersion(f *testing.F) {
	s := openService(f, f.TempDir(), nil)
	defer s.Close()
	ctx := context.Background()
	for _, name := range []string{"ctr", "ctr-2"} {
		if _, err := s.CreateContainer(ctx, acct, name, nil); err != nil {
			f.Fatal(err)
		}
	}
	del, err := s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.SoftDeleteContainer(ctx, acct, "ctr-2", blob.Conditions{}, time.Hour); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{del.Version, strings.ToLower(del.Version), "", "0", "0000000000000000", "../ctr-2", "FFFFFFFFFFFFFFFF",
		del.Version + "0", "+" + del.Version[1:], "0x" + del.Version[2:], "ctr-2!" + del.Version, "/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, version string) {
		c, err := s.RestoreContainer(ctx, acct, "ctr", version)
		if version != del.Version {
			if blob.CodeOf(err) != blob.CodeContainerNotFound {
				t.Fatalf("version %q: got %+v, %v; want ContainerNotFound", version, c, err)
			}
			return
		}
		if err != nil || c.Name != "ctr" {
			t.Fatalf("the version itself: %+v, %v", c, err)
		}
		if del, err = s.SoftDeleteContainer(ctx, acct, "ctr", blob.Conditions{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	})
}
