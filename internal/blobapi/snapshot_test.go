package blobapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// Snapshot Blob and the operations on a snapshot over HTTP: statuses, headers, Azure's
// error codes, and what RBAC is asked.
func TestSnapshots(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	put := e.put(t, "box/b", "first", map[string]string{"x-ms-meta-k": "v1"})
	p := "/" + account + "/box/b"

	res := e.must(t, req{method: "PUT", path: p + "?comp=snapshot"}, http.StatusCreated)
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsWrite || !got.DataAction || got.Operation != "SnapshotBlob" {
		t.Fatalf("Snapshot Blob asked RBAC for %+v; want blobs/write", got)
	}
	snap := res.hdr.Get("x-ms-snapshot")
	if len(snap) != len("2026-12-03T10:38:00.1234567Z") || res.hdr.Get("ETag") != put.hdr.Get("ETag") || res.hdr.Get("Last-Modified") == "" {
		t.Fatalf("Snapshot Blob answered %v", res.hdr)
	}
	sp := p + "?snapshot=" + url.QueryEscape(snap)
	e.put(t, "box/b", "second", nil)

	got := e.must(t, req{method: "GET", path: sp}, http.StatusOK)
	if got.body != "first" {
		t.Fatalf("Get Blob of the snapshot: %q", got.body)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsRead || got.Operation != "GetBlob" {
		t.Fatalf("reading a snapshot asked RBAC for %+v", got)
	}
	head := e.must(t, req{method: "HEAD", path: sp}, http.StatusOK)
	if head.hdr.Get("x-ms-meta-k") != "v1" || head.hdr.Get("Content-Length") != "5" {
		t.Fatalf("Get Blob Properties of the snapshot: %v", head.hdr)
	}
	md := e.must(t, req{method: "GET", path: sp + "&comp=metadata"}, http.StatusOK)
	if md.hdr.Get("x-ms-meta-k") != "v1" {
		t.Fatalf("Get Blob Metadata of the snapshot: %v", md.hdr)
	}
	bl := e.must(t, req{method: "GET", path: sp + "&comp=blocklist&blocklisttype=all"}, http.StatusOK)
	if !strings.Contains(bl.body, "<CommittedBlocks") {
		t.Fatalf("Get Block List of the snapshot: %s", bl.body)
	}
	// The snapshot's own metadata, given with the request.
	res = e.must(t, req{method: "PUT", path: p + "?comp=snapshot", hdr: map[string]string{"x-ms-meta-own": "yes"}}, http.StatusCreated)
	snap2 := res.hdr.Get("x-ms-snapshot")
	md = e.must(t, req{method: "HEAD", path: p + "?snapshot=" + url.QueryEscape(snap2)}, http.StatusOK)
	if md.hdr.Get("x-ms-meta-own") != "yes" || md.hdr.Get("x-ms-meta-k") != "" || md.hdr.Get("Content-Length") != "6" {
		t.Fatalf("snapshot with its own metadata: %v", md.hdr)
	}

	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=snapshots"}, http.StatusOK)
	i1, i2, ib := strings.Index(list.body, "<Snapshot>"+snap+"</Snapshot>"), strings.Index(list.body, "<Snapshot>"+snap2+"</Snapshot>"),
		strings.Index(list.body, "<Name>b</Name><Properties>")
	if i1 < 0 || i2 < i1 || ib < i2 {
		t.Fatalf("listing with snapshots, oldest first then the blob:\n%s", list.body)
	}
	list = e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK)
	if strings.Contains(list.body, "<Snapshot>") {
		t.Fatalf("listing without include=snapshots shows them:\n%s", list.body)
	}

	// Errors.
	e.fails(t, req{method: "GET", path: p + "?snapshot=2000-01-01T00:00:00.0000000Z"}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "GET", path: p + "?snapshot=yesterday"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "PUT", path: sp, body: "x", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "PUT", path: sp + "&comp=metadata", hdr: map[string]string{"x-ms-meta-a": "b"}}, http.StatusBadRequest, "InvalidQueryParameterValue")
	// A snapshot is not a version.
	e.fails(t, req{method: "GET", path: p + "?versionid=" + url.QueryEscape(snap)}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/missing?comp=snapshot"}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "PUT", path: p + "?comp=snapshot", hdr: map[string]string{"If-Match": `"0x1"`}}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "DELETE", path: p}, http.StatusConflict, "SnapshotsPresent")
	e.fails(t, req{method: "DELETE", path: p, hdr: map[string]string{"x-ms-delete-snapshots": "some"}}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "DELETE", path: sp, hdr: map[string]string{"x-ms-delete-snapshots": "include"}}, http.StatusBadRequest, "InvalidHeaderValue")

	// Deleting one snapshot, then the others, then the blob with "include".
	e.must(t, req{method: "DELETE", path: sp}, http.StatusAccepted)
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsDelete || got.Operation != "DeleteBlob" {
		t.Fatalf("deleting a snapshot asked RBAC for %+v", got)
	}
	e.fails(t, req{method: "GET", path: sp}, http.StatusNotFound, "BlobNotFound")
	e.must(t, req{method: "DELETE", path: p, hdr: map[string]string{"x-ms-delete-snapshots": "only"}}, http.StatusAccepted)
	if got := e.must(t, req{method: "GET", path: p}, http.StatusOK); got.body != "second" {
		t.Fatalf("deleting only the snapshots changed the blob: %q", got.body)
	}
	e.must(t, req{method: "PUT", path: p + "?comp=snapshot"}, http.StatusCreated)
	e.must(t, req{method: "DELETE", path: p, hdr: map[string]string{"x-ms-delete-snapshots": "include"}}, http.StatusAccepted)
	e.fails(t, req{method: "GET", path: p}, http.StatusNotFound, "BlobNotFound")
}

// Get Page Ranges and Get Blob of a page blob's snapshot see the pages as they were.
func TestPageBlobSnapshot(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/disk"
	e.must(t, req{method: "PUT", path: p, hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "4096"}}, http.StatusCreated)
	write := func(rg, fill string) {
		e.must(t, req{method: "PUT", path: p + "?comp=page", body: strings.Repeat(fill, 512),
			hdr: map[string]string{"x-ms-page-write": "update", "x-ms-range": rg}}, http.StatusCreated)
	}
	write("bytes=0-511", "a")
	snap := e.must(t, req{method: "PUT", path: p + "?comp=snapshot"}, http.StatusCreated).hdr.Get("x-ms-snapshot")
	write("bytes=0-511", "b")
	write("bytes=1024-1535", "c")
	sp := p + "?snapshot=" + url.QueryEscape(snap)
	ranges := e.must(t, req{method: "GET", path: sp + "&comp=pagelist"}, http.StatusOK)
	if !strings.Contains(ranges.body, "<PageRange><Start>0</Start><End>511</End></PageRange><NextMarker") {
		t.Fatalf("page ranges of the snapshot: %s", ranges.body)
	}
	got := e.must(t, req{method: "GET", path: sp, hdr: map[string]string{"x-ms-range": "bytes=0-1535"}}, http.StatusPartialContent)
	if got.body != strings.Repeat("a", 512)+strings.Repeat("\x00", 1024) {
		t.Fatalf("snapshot pages read %q...", got.body[:8])
	}
	e.fails(t, req{method: "PUT", path: sp + "&comp=page", body: strings.Repeat("d", 512),
		hdr: map[string]string{"x-ms-page-write": "update", "x-ms-range": "bytes=0-511"}}, http.StatusBadRequest, "InvalidQueryParameterValue")
}

// A snapshot keeps the tags its blob had: Get Blob Tags, Get Blob Properties and List
// Blobs (include=snapshots,tags) of the snapshot show them. Set Blob Tags of the snapshot
// changes its tags alone: not its ETag or Last-Modified, nor the blob's tags.
func TestSnapshotTags(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/b"
	e.put(t, "box/b", "x", map[string]string{"x-ms-tags": "stage=raw"})
	snap := e.snapshotOf(t, "box/b")
	e.must(t, req{method: "PUT", path: p + "?comp=tags", body: `<Tags><TagSet><Tag><Key>stage</Key><Value>done</Value></Tag><Tag><Key>n</Key><Value>2</Value></Tag></TagSet></Tags>`}, http.StatusNoContent)
	sp := p + "?snapshot=" + url.QueryEscape(snap)

	res := e.must(t, req{method: "GET", path: sp + "&comp=tags"}, http.StatusOK)
	if !strings.Contains(res.body, "<TagSet><Tag><Key>stage</Key><Value>raw</Value></Tag></TagSet>") {
		t.Fatalf("tags of the snapshot: %s", res.body)
	}
	if got := e.auth.last(); got.Operation != "GetBlobTags" || got.Action != blobapi.ActionBlobTagsRead {
		t.Fatalf("Get Blob Tags of a snapshot asked RBAC for %+v", got)
	}
	if res := e.must(t, req{method: "GET", path: p + "?comp=tags"}, http.StatusOK); !strings.Contains(res.body, "<Key>stage</Key><Value>done</Value>") {
		t.Fatalf("tags of the blob: %s", res.body)
	}
	if h := e.must(t, req{method: "HEAD", path: sp}, http.StatusOK).hdr; h.Get("x-ms-tag-count") != "1" {
		t.Fatalf("snapshot properties: tag count %q", h.Get("x-ms-tag-count"))
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=snapshots,tags"}, http.StatusOK)
	if !strings.Contains(list.body, "<Snapshot>"+snap+"</Snapshot>") || !strings.Contains(list.body, "<Key>stage</Key><Value>raw</Value>") ||
		!strings.Contains(list.body, "<Key>stage</Key><Value>done</Value>") {
		t.Fatalf("listing with snapshots and tags:\n%s", list.body)
	}
	// x-ms-if-tags is tested against the snapshot's tags.
	e.must(t, req{method: "GET", path: sp + "&comp=tags", hdr: map[string]string{"x-ms-if-tags": `"stage" = 'raw'`}}, http.StatusOK)
	e.fails(t, req{method: "GET", path: sp + "&comp=tags", hdr: map[string]string{"x-ms-if-tags": `"stage" = 'done'`}}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "GET", path: p + "?snapshot=2001-01-01T00:00:00.0000000Z&comp=tags"}, http.StatusNotFound, "BlobNotFound")
	before := e.must(t, req{method: "HEAD", path: sp}, http.StatusOK).hdr
	e.must(t, req{method: "PUT", path: sp + "&comp=tags", body: `<Tags><TagSet><Tag><Key>stage</Key><Value>kept</Value></Tag></TagSet></Tags>`}, http.StatusNoContent)
	if got := e.auth.last(); got.Operation != "SetBlobTags" || got.Action != blobapi.ActionBlobTagsWrite {
		t.Fatalf("Set Blob Tags of a snapshot asked RBAC for %+v", got)
	}
	if res := e.must(t, req{method: "GET", path: sp + "&comp=tags"}, http.StatusOK); !strings.Contains(res.body, "<TagSet><Tag><Key>stage</Key><Value>kept</Value></Tag></TagSet>") {
		t.Fatalf("tags of the snapshot after Set Blob Tags: %s", res.body)
	}
	after := e.must(t, req{method: "HEAD", path: sp}, http.StatusOK).hdr
	if after.Get("ETag") != before.Get("ETag") || after.Get("Last-Modified") != before.Get("Last-Modified") {
		t.Fatalf("Set Blob Tags changed the snapshot's ETag or Last-Modified: %v, then %v", before, after)
	}
	if res := e.must(t, req{method: "GET", path: p + "?comp=tags"}, http.StatusOK); !strings.Contains(res.body, "<Value>done</Value>") {
		t.Fatalf("Set Blob Tags of the snapshot changed the blob's tags: %s", res.body)
	}
	e.fails(t, req{method: "PUT", path: p + "?snapshot=2001-01-01T00:00:00.0000000Z&comp=tags", body: `<Tags><TagSet></TagSet></Tags>`}, http.StatusNotFound, "BlobNotFound")
}

// TestSnapshotOfLeasedBlob: Snapshot Blob checks a leased blob's lease only when the request
// names one: served without a lease id or with the lease's, 412 with another.
func TestSnapshotOfLeasedBlob(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", nil)
	p := "/" + account + "/box/b"
	e.must(t, req{method: "PUT", path: p + "?comp=lease", hdr: map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1", "x-ms-proposed-lease-id": leaseA}}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: p + "?comp=snapshot"}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: p + "?comp=snapshot", hdr: map[string]string{"x-ms-lease-id": leaseA}}, http.StatusCreated)
	e.fails(t, req{method: "PUT", path: p + "?comp=snapshot", hdr: map[string]string{"x-ms-lease-id": leaseB}}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
}
