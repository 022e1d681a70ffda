package blobapi_test

import (
	"crypto/md5"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// newPageBlob creates a page blob of size bytes at path (container/name).
func (e *env) newPageBlob(t *testing.T, path, size string) {
	t.Helper()
	e.must(t, req{method: "PUT", path: "/" + account + "/" + path,
		hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": size}}, http.StatusCreated)
}

// writePages writes (body) or clears (body "") the range rg of a page blob.
func (e *env) writePages(t *testing.T, path, rg, body string) {
	t.Helper()
	mode := "update"
	if body == "" {
		mode = "clear"
	}
	e.must(t, req{method: "PUT", path: "/" + account + "/" + path + "?comp=page", body: body,
		hdr: map[string]string{"x-ms-page-write": mode, "x-ms-range": rg}}, http.StatusCreated)
}

func (e *env) snapshotOf(t *testing.T, path string) string {
	t.Helper()
	return e.must(t, req{method: "PUT", path: "/" + account + "/" + path + "?comp=snapshot"}, http.StatusCreated).hdr.Get("x-ms-snapshot")
}

const xmlHead = `<?xml version="1.0" encoding="utf-8"?>`

// Get Page Ranges with prevsnapshot: the pages written and cleared since a snapshot, of
// the blob or of a later snapshot, as PageRange and ClearRange elements in offset order.
func TestPageRangesDiff(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.newPageBlob(t, "box/disk", "4096")
	p := "/" + account + "/box/disk"
	e.writePages(t, "box/disk", "bytes=0-1023", strings.Repeat("a", 1024))
	snap1 := e.snapshotOf(t, "box/disk")
	e.writePages(t, "box/disk", "bytes=2048-2559", strings.Repeat("b", 512))
	e.writePages(t, "box/disk", "bytes=0-511", "")
	diff := p + "?comp=pagelist&prevsnapshot=" + url.QueryEscape(snap1)

	res := e.must(t, req{method: "GET", path: diff}, http.StatusOK)
	want := xmlHead + `<PageList><ClearRange><Start>0</Start><End>511</End></ClearRange>` +
		`<PageRange><Start>2048</Start><End>2559</End></PageRange><NextMarker /></PageList>`
	if res.body != want || res.hdr.Get("x-ms-blob-content-length") != "4096" || res.hdr.Get("ETag") == "" {
		t.Fatalf("diff against the snapshot: %v\n%s", res.hdr, res.body)
	}
	if got := e.auth.last(); got.Operation != "GetPageRanges" || got.Action != blobapi.ActionBlobsRead {
		t.Fatalf("a diff asked RBAC for %+v", got)
	}
	res = e.must(t, req{method: "GET", path: diff, hdr: map[string]string{"x-ms-range": "bytes=256-1023"}}, http.StatusOK)
	if res.body != xmlHead+`<PageList><ClearRange><Start>256</Start><End>511</End></ClearRange><NextMarker /></PageList>` {
		t.Fatalf("diff within x-ms-range: %s", res.body)
	}

	// Between two snapshots; the blob's later writes are not in it.
	snap2 := e.snapshotOf(t, "box/disk")
	e.writePages(t, "box/disk", "bytes=3584-4095", strings.Repeat("c", 512))
	res = e.must(t, req{method: "GET", path: p + "?comp=pagelist&snapshot=" + url.QueryEscape(snap2) + "&prevsnapshot=" + url.QueryEscape(snap1)}, http.StatusOK)
	if res.body != want {
		t.Fatalf("diff between snapshots: %s", res.body)
	}
	res = e.must(t, req{method: "GET", path: p + "?comp=pagelist&prevsnapshot=" + url.QueryEscape(snap2)}, http.StatusOK)
	if res.body != xmlHead+`<PageList><PageRange><Start>3584</Start><End>4095</End></PageRange><NextMarker /></PageList>` {
		t.Fatalf("diff against the second snapshot: %s", res.body)
	}

	// Errors, as Azure answers them.
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist&snapshot=" + url.QueryEscape(snap1) + "&prevsnapshot=" + url.QueryEscape(snap2)},
		http.StatusBadRequest, blob.CodePreviousSnapshotCannotBeNewer)
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist&prevsnapshot=2001-01-01T00:00:00.0000000Z"}, http.StatusConflict, blob.CodePreviousSnapshotNotFound)
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist&prevsnapshot=yesterday"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist&snapshot=2001-01-01T00:00:00.0000000Z&prevsnapshot=2000-01-01T00:00:00.0000000Z"}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "GET", path: "/" + account + "/box/none?comp=pagelist&prevsnapshot=" + url.QueryEscape(snap1)}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "GET", path: diff, hdr: map[string]string{"If-Match": `"0x1"`}}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist", hdr: map[string]string{"x-ms-previous-snapshot-url": e.blobURL("box/disk")}}, http.StatusNotImplemented, "NotImplemented")
	e.put(t, "box/block", "x", nil)
	blockSnap := e.snapshotOf(t, "box/block")
	e.fails(t, req{method: "GET", path: "/" + account + "/box/block?comp=pagelist&prevsnapshot=" + url.QueryEscape(blockSnap)}, http.StatusConflict, "InvalidBlobType")
}

// Put Page From URL writes pages with a range of a blob this Lanyard serves, through
// the same source checks as the other From URL operations.
func TestPutPageFromURL(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	data := strings.Repeat("x", 512) + strings.Repeat("y", 512)
	e.put(t, "box/src", data, nil)
	src := e.blobURL("box/src")
	e.newPageBlob(t, "box/disk", "2048")
	fromURL := func(rg, srcRange string, extra map[string]string) req {
		h := map[string]string{"x-ms-page-write": "update", "x-ms-range": rg, "x-ms-source-range": srcRange}
		for k, v := range extra {
			h[k] = v
		}
		return e.copyReq("box/disk?comp=page", src, h)
	}
	ys := md5.Sum([]byte(strings.Repeat("y", 512)))
	res := e.must(t, fromURL("bytes=512-1023", "bytes=512-1023", map[string]string{"x-ms-source-content-md5": b64(ys[:])}), http.StatusCreated)
	if res.hdr.Get("Content-MD5") != b64(ys[:]) || res.hdr.Get("x-ms-blob-sequence-number") != "0" || res.hdr.Get("ETag") == "" {
		t.Fatalf("Put Page From URL answered %v", res.hdr)
	}
	e.auth.mu.Lock()
	ops := []string{}
	for _, r := range e.auth.requests[len(e.auth.requests)-2:] {
		ops = append(ops, r.Operation+" "+r.Action)
	}
	e.auth.mu.Unlock()
	if strings.Join(ops, ",") != "PutPageFromURL "+blobapi.ActionBlobsWrite+",GetBlob "+blobapi.ActionBlobsRead {
		t.Fatalf("Put Page From URL asked RBAC for %v", ops)
	}
	crc := b64(blob.CRC64Bytes(blob.CRC64([]byte(data))))
	res = e.must(t, fromURL("bytes=1024-2047", "bytes=0-1023", map[string]string{"x-ms-source-content-crc64": crc}), http.StatusCreated)
	if res.hdr.Get("x-ms-content-crc64") != crc {
		t.Fatalf("crc64 echo %v", res.hdr)
	}
	got := e.must(t, req{method: "GET", path: "/" + account + "/box/disk"}, http.StatusOK)
	if got.body != strings.Repeat("\x00", 512)+strings.Repeat("y", 512)+data {
		t.Fatal("page blob content after Put Page From URL differs")
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box/disk?comp=pagelist"}, http.StatusOK)
	if !strings.Contains(list.body, "<PageList><PageRange><Start>512</Start><End>1023</End></PageRange><PageRange><Start>1024</Start><End>2047</End></PageRange><NextMarker />") {
		t.Fatalf("page list %s", list.body)
	}

	// Errors.
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-source-content-md5": b64(ys[:])}), http.StatusBadRequest, "Md5Mismatch")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-source-content-crc64": b64(make([]byte, 8))}), http.StatusBadRequest, "Crc64Mismatch")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-source-content-crc64": "nope"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-1023", nil), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, fromURL("bytes=0-1023", "bytes=512-1535", nil), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, fromURL("bytes=0-511", "bytes=1024-1535", nil), http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	e.fails(t, fromURL("bytes=1-512", "bytes=0-511", nil), http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange")
	e.fails(t, fromURL("bytes=2048-2559", "bytes=0-511", nil), http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange")
	e.fails(t, fromURL("bytes=0-511", "", nil), http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-page-write": "clear"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-source-if-match": `"0x1"`}), http.StatusPreconditionFailed, "SourceConditionNotMet")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"If-Match": `"0x1"`}), http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, fromURL("bytes=0-511", "bytes=0-511", map[string]string{"x-ms-if-sequence-number-lt": "0"}), http.StatusPreconditionFailed, "SequenceNumberConditionNotMet")
	missing := fromURL("bytes=0-511", "bytes=0-511", nil)
	missing.hdr["x-ms-copy-source"] = e.blobURL("box/none")
	e.fails(t, missing, http.StatusNotFound, "CannotVerifyCopySource")
	toBlock := fromURL("bytes=0-511", "bytes=0-511", nil)
	toBlock.path = "/" + account + "/box/src?comp=page"
	e.fails(t, toBlock, http.StatusConflict, "InvalidBlobType")
	toNone := fromURL("bytes=0-511", "bytes=0-511", nil)
	toNone.path = "/" + account + "/box/nothing?comp=page"
	e.fails(t, toNone, http.StatusNotFound, "BlobNotFound")
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/disk"}, http.StatusOK); got.body != strings.Repeat("\x00", 512)+strings.Repeat("y", 512)+data {
		t.Fatal("a refused Put Page From URL changed the blob")
	}
}
