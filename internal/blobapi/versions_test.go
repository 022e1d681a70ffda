package blobapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// newProtectedEnv is newEnv with the account's versioning and soft delete kept by a
// settings fake that the Service reads too.
func newProtectedEnv(t *testing.T, versioning bool, days int) (*env, *container.Client) {
	t.Helper()
	st := &settings{rules: map[string][]lanyard.CORSRule{}}
	must(t, st.SetBlobDataProtection(t.Context(), account, &versioning, &days))
	e := newEnvConfig(t, blob.Config{Policy: func(ctx context.Context, a string) (blob.Policy, error) {
		v, d, err := st.BlobDataProtection(ctx, a)
		return blob.Policy{Versioning: v, RetentionDays: d}, err
	}})
	e.h.Settings = st
	e.container(t, "box")
	c, err := container.NewClient(e.srv.URL+"/"+account+"/box", fixedToken{}, &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	must(t, err)
	return e, c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func download(t *testing.T, c *azblobblob.Client) (string, azblobblob.DownloadStreamResponse) {
	t.Helper()
	res, err := c.DownloadStream(t.Context(), nil)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	return string(b), res
}

// TestBlobVersionsWithGoSDK: with versioning on, uploads answer their version id, a
// version reads, lists and carries tags by its id, Delete Blob leaves the versions, a
// copy of a version brings the blob back, and deleting a version asks
// for deleteBlobVersion/action.
func TestBlobVersionsWithGoSDK(t *testing.T) {
	e, c := newProtectedEnv(t, true, 0)
	ctx := t.Context()
	bb := c.NewBlockBlobClient("doc.txt")
	up1, err := bb.UploadBuffer(ctx, []byte("one"), nil)
	must(t, err)
	up2, err := bb.UploadBuffer(ctx, []byte("two"), nil)
	must(t, err)
	if up1.VersionID == nil || up2.VersionID == nil || *up2.VersionID <= *up1.VersionID {
		t.Fatalf("upload version ids %v %v", up1.VersionID, up2.VersionID)
	}
	v1, err := bb.WithVersionID(*up1.VersionID)
	must(t, err)
	got, res := download(t, v1.BlobClient())
	if got != "one" || res.VersionID == nil || *res.VersionID != *up1.VersionID || res.IsCurrentVersion == nil || *res.IsCurrentVersion {
		t.Fatalf("version 1: %q, version %v, current %v", got, res.VersionID, res.IsCurrentVersion)
	}
	props, err := bb.GetProperties(ctx, nil)
	must(t, err)
	if props.VersionID == nil || *props.VersionID != *up2.VersionID || props.IsCurrentVersion == nil || !*props.IsCurrentVersion {
		t.Fatalf("current properties: version %v, current %v", props.VersionID, props.IsCurrentVersion)
	}
	_, err = v1.SetTags(ctx, map[string]string{"v": "1"}, nil)
	must(t, err)
	tags, err := v1.GetTags(ctx, nil)
	must(t, err)
	if len(tags.BlobTagSet) != 1 || *tags.BlobTagSet[0].Key != "v" {
		t.Fatalf("version tags %+v", tags.BlobTagSet)
	}

	listed := func(opts container.ListBlobsInclude) map[string]bool {
		t.Helper()
		out := map[string]bool{}
		pager := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: opts})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			must(t, err)
			for _, it := range page.Segment.BlobItems {
				k := *it.Name
				if it.VersionID != nil {
					k += "@" + *it.VersionID
				}
				out[k] = it.IsCurrentVersion != nil && *it.IsCurrentVersion
			}
		}
		return out
	}
	if l := listed(container.ListBlobsInclude{Versions: true}); len(l) != 2 || l["doc.txt@"+*up1.VersionID] || !l["doc.txt@"+*up2.VersionID] {
		t.Fatalf("listing with versions: %v", l)
	}

	// Delete Blob leaves the versions; the base reads as missing.
	_, err = bb.Delete(ctx, nil)
	must(t, err)
	_, err = bb.GetProperties(ctx, nil)
	wantCode(t, "properties after the delete", err, http.StatusNotFound, "BlobNotFound")
	if l := listed(container.ListBlobsInclude{}); len(l) != 0 {
		t.Fatalf("listing after the delete: %v", l)
	}
	if l := listed(container.ListBlobsInclude{Versions: true}); len(l) != 2 {
		t.Fatalf("versions after the delete: %v", l)
	}
	page, err := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{DeletedWithVersions: true}}).NextPage(ctx)
	must(t, err)
	if items := page.Segment.BlobItems; len(items) != 1 || items[0].HasVersionsOnly == nil || !*items[0].HasVersionsOnly || items[0].VersionID != nil {
		t.Fatalf("listing with deletedwithversions: %+v", items)
	}

	// Promote version 1.
	_, err = bb.StartCopyFromURL(ctx, v1.URL(), nil)
	must(t, err)
	got, res = download(t, bb.BlobClient())
	if got != "one" || res.VersionID == nil {
		t.Fatalf("promoted blob reads %q, version %v", got, res.VersionID)
	}
	// The current version is deleted as the blob, not by its id.
	current, err := bb.WithVersionID(*res.VersionID)
	must(t, err)
	_, err = current.Delete(ctx, nil)
	wantCode(t, "delete of the current version by its id", err, http.StatusForbidden, "OperationNotAllowedOnRootBlob")

	// Deleting a version is its own action.
	v2, err := bb.WithVersionID(*up2.VersionID)
	must(t, err)
	_, err = v2.Delete(ctx, nil)
	must(t, err)
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsDeleteVersion || !got.DataAction {
		t.Fatalf("a version's delete asked for %+v", got)
	}
	_, err = v2.GetProperties(ctx, nil)
	wantCode(t, "a deleted version", err, http.StatusNotFound, "BlobNotFound")

	// A version is read-only but for its tags and tier; taking one out of Archive is not
	// served.
	_, err = v1.SetMetadata(ctx, map[string]*string{"a": to.Ptr("b")}, nil)
	wantCode(t, "metadata of a version", err, http.StatusBadRequest, "InvalidQueryParameterValue")
	_, err = v1.SetTier(ctx, "Cool", nil)
	must(t, err)
	if p, err := v1.GetProperties(ctx, nil); err != nil || p.AccessTier == nil || *p.AccessTier != "Cool" {
		t.Fatalf("version tier after Set Blob Tier: %v, %v", p.AccessTier, err)
	}
	if p, err := bb.GetProperties(ctx, nil); err != nil || p.AccessTier == nil || *p.AccessTier != "Hot" {
		t.Fatalf("blob tier after a version's Set Blob Tier: %v, %v", p.AccessTier, err)
	}
	_, err = v1.SetTier(ctx, "Archive", nil)
	must(t, err)
	_, err = v1.DownloadStream(ctx, nil)
	wantCode(t, "an archived version", err, http.StatusConflict, "BlobArchived")
	_, err = v1.SetTier(ctx, "Hot", nil)
	wantCode(t, "rehydrating a version", err, http.StatusNotImplemented, "NotImplemented")
}

// TestSoftDeleteWithGoSDK: with soft delete on, a deleted blob and its snapshots are
// listed with include=deleted (with their deletion time and remaining days), read as
// missing, and come back with Undelete Blob, which asks for containers/write.
func TestSoftDeleteWithGoSDK(t *testing.T) {
	e, c := newProtectedEnv(t, false, 3)
	ctx := t.Context()
	bb := c.NewBlockBlobClient("doc.txt")
	_, err := bb.UploadBuffer(ctx, []byte("kept"), nil)
	must(t, err)
	snap, err := bb.CreateSnapshot(ctx, nil)
	must(t, err)
	res := e.must(t, req{method: "DELETE", path: "/" + account + "/box/doc.txt", hdr: map[string]string{"x-ms-delete-snapshots": "include"}}, http.StatusAccepted)
	if res.hdr.Get("x-ms-delete-type-permanent") != "false" {
		t.Fatalf("soft delete answered x-ms-delete-type-permanent %q", res.hdr.Get("x-ms-delete-type-permanent"))
	}
	_, err = bb.GetProperties(ctx, nil)
	wantCode(t, "a soft-deleted blob", err, http.StatusNotFound, "BlobNotFound")

	pager := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Deleted: true, Snapshots: true}})
	page, err := pager.NextPage(ctx)
	must(t, err)
	if n := len(page.Segment.BlobItems); n != 2 {
		t.Fatalf("%d blobs listed with deleted, want the snapshot and the blob", n)
	}
	for _, it := range page.Segment.BlobItems {
		if it.Deleted == nil || !*it.Deleted || it.Properties.DeletedTime == nil || it.Properties.RemainingRetentionDays == nil || *it.Properties.RemainingRetentionDays != 3 {
			t.Fatalf("listed %+v, %+v", it, it.Properties)
		}
	}

	_, err = bb.Undelete(ctx, nil)
	must(t, err)
	if got := e.auth.last(); got.Action != blobapi.ActionContainersWrite || got.Operation != "UndeleteBlob" {
		t.Fatalf("Undelete Blob asked for %+v", got)
	}
	if got, _ := download(t, bb.BlobClient()); got != "kept" {
		t.Fatalf("undeleted blob reads %q", got)
	}
	sc, err := bb.WithSnapshot(*snap.Snapshot)
	must(t, err)
	if got, _ := download(t, sc.BlobClient()); got != "kept" {
		t.Fatalf("undeleted snapshot reads %q", got)
	}
	// Without soft delete, a delete is permanent and says so.
	must(t, e.h.Settings.SetBlobDataProtection(ctx, account, nil, to.Ptr(0)))
	res = e.must(t, req{method: "DELETE", path: "/" + account + "/box/doc.txt", hdr: map[string]string{"x-ms-delete-snapshots": "include"}}, http.StatusAccepted)
	if res.hdr.Get("x-ms-delete-type-permanent") != "true" {
		t.Fatalf("permanent delete answered x-ms-delete-type-permanent %q", res.hdr.Get("x-ms-delete-type-permanent"))
	}
	_, err = bb.Undelete(ctx, nil)
	wantCode(t, "undelete of a blob deleted for good", err, http.StatusNotFound, "BlobNotFound")
	if body := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=deleted"}, http.StatusOK).body; strings.Contains(body, "<Blob>") {
		t.Fatalf("listing after a permanent delete: %s", body)
	}
}

// TestVersionBlockListAndPageRanges: Get Block List and Get Page Ranges of a previous
// version list what that version had (its committed blocks only), not the blob's.
func TestVersionBlockListAndPageRanges(t *testing.T) {
	e, c := newProtectedEnv(t, true, 0)
	ctx := t.Context()
	bb := c.NewBlockBlobClient("blocks")
	_, err := bb.StageBlock(ctx, "QUFB", body("AAA"), nil)
	must(t, err)
	first, err := bb.CommitBlockList(ctx, []string{"QUFB"}, nil)
	must(t, err)
	_, err = bb.StageBlock(ctx, "QkJC", body("BBB"), nil)
	must(t, err)
	_, err = bb.CommitBlockList(ctx, []string{"QUFB", "QkJC"}, nil)
	must(t, err)
	old, err := bb.WithVersionID(*first.VersionID)
	must(t, err)
	bl, err := old.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	must(t, err)
	if len(bl.CommittedBlocks) != 1 || *bl.CommittedBlocks[0].Name != "QUFB" || len(bl.UncommittedBlocks) != 0 {
		t.Fatalf("block list of the first version: %+v", bl.BlockList)
	}
	if got := e.auth.last(); got.Operation != "GetBlockList" {
		t.Fatalf("Get Block List of a version was %+v", got)
	}

	pb := c.NewPageBlobClient("pages")
	created, err := pb.Create(ctx, 2048, nil)
	must(t, err)
	_, err = pb.UploadPages(ctx, body(strings.Repeat("a", 512)), azblobblob.HTTPRange{Offset: 0, Count: 512}, nil)
	must(t, err)
	// Set Blob Metadata makes a new version; the page written after it is not the old one's.
	_, err = pb.SetMetadata(ctx, map[string]*string{"m": to.Ptr("1")}, nil)
	must(t, err)
	_, err = pb.UploadPages(ctx, body(strings.Repeat("b", 512)), azblobblob.HTTPRange{Offset: 1024, Count: 512}, nil)
	must(t, err)
	oldPages, err := pb.WithVersionID(*created.VersionID)
	must(t, err)
	page, err := oldPages.NewGetPageRangesPager(nil).NextPage(ctx)
	must(t, err)
	if r := page.PageRange; len(r) != 1 || *r[0].Start != 0 || *r[0].End != 511 {
		t.Fatalf("page ranges of the first version: %+v", r)
	}
	_, err = oldPages.NewGetPageRangesDiffPager(&pageblob.GetPageRangesDiffOptions{PrevSnapshot: to.Ptr("2020-01-01T00:00:00.0000000Z")}).NextPage(ctx)
	wantCode(t, "page diff of a version", err, http.StatusNotImplemented, "NotImplemented")
}

func body(s string) io.ReadSeekCloser { return streaming.NopCloser(strings.NewReader(s)) }
