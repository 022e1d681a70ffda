package blobapi_test

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blobapi"
)

func TestAppendBlobAPI(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/log"
	appendBlob := map[string]string{"x-ms-blob-type": "AppendBlob", "x-ms-blob-content-type": "text/plain", "x-ms-meta-k": "v"}
	e.must(t, req{method: "PUT", path: p, hdr: appendBlob}, http.StatusCreated)
	res := e.must(t, req{method: "PUT", path: p + "?comp=appendblock", body: "hello "}, http.StatusCreated)
	if res.hdr.Get("x-ms-blob-append-offset") != "0" || res.hdr.Get("x-ms-blob-committed-block-count") != "1" ||
		res.hdr.Get("ETag") == "" || res.hdr.Get("Last-Modified") == "" {
		t.Fatalf("append headers %v", res.hdr)
	}
	// Azure answers a write with no Content-MD5 with the CRC-64 it computed, and no MD5.
	if res.hdr.Get("x-ms-content-crc64") != b64crc64("hello ") || res.hdr.Get("Content-MD5") != "" {
		t.Fatalf("append digests %v", res.hdr)
	}
	res = e.must(t, req{method: "PUT", path: p + "?comp=appendblock", body: "world",
		hdr: map[string]string{"x-ms-blob-condition-appendpos": "6", "x-ms-blob-condition-maxsize": "11"}}, http.StatusCreated)
	if res.hdr.Get("x-ms-blob-append-offset") != "6" || res.hdr.Get("x-ms-blob-committed-block-count") != "2" {
		t.Fatalf("second append headers %v", res.hdr)
	}
	res = e.must(t, req{method: "GET", path: p}, http.StatusOK)
	if res.body != "hello world" || res.hdr.Get("x-ms-blob-type") != "AppendBlob" || res.hdr.Get("x-ms-blob-committed-block-count") != "2" ||
		res.hdr.Get("x-ms-blob-sealed") != "false" || res.hdr.Get("Content-Type") != "text/plain" || res.hdr.Get("x-ms-meta-k") != "v" {
		t.Fatalf("get %q %v", res.body, res.hdr)
	}

	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "!", hdr: map[string]string{"x-ms-blob-condition-appendpos": "3"}},
		http.StatusPreconditionFailed, "AppendPositionConditionNotMet")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "!", hdr: map[string]string{"x-ms-blob-condition-maxsize": "11"}},
		http.StatusPreconditionFailed, "MaxBlobSizeConditionNotMet")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "!", hdr: map[string]string{"x-ms-blob-condition-maxsize": "x"}},
		http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "!", hdr: map[string]string{"If-Match": `"0x1"`}},
		http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: strings.Repeat("x", blob.MaxAppendBlockSize+1)},
		http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock"}, http.StatusBadRequest, "InvalidHeaderValue")
	// Append Block From URL takes no body (see TestSyncCopyAndFromURL).
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "x", hdr: map[string]string{"x-ms-copy-source": "https://127.0.0.1/a/b/c"}},
		http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/missing?comp=appendblock", body: "x"}, http.StatusNotFound, "BlobNotFound")
	e.fails(t, req{method: "GET", path: p + "?comp=appendblock"}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	// Put Blob of an append blob takes no body.
	e.fails(t, req{method: "PUT", path: p, body: "x", hdr: appendBlob}, http.StatusBadRequest, "InvalidHeaderValue")

	// Wrong blob types.
	e.put(t, "box/block", "b", nil)
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/block?comp=appendblock", body: "x"}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/block?comp=seal"}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=QUFB", body: "x"}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: `<?xml version="1.0"?><BlockList></BlockList>`}, http.StatusConflict, "InvalidBlobType")

	// Seal.
	e.fails(t, req{method: "PUT", path: p + "?comp=seal", hdr: map[string]string{"x-ms-blob-condition-appendpos": "1"}},
		http.StatusPreconditionFailed, "AppendPositionConditionNotMet")
	res = e.must(t, req{method: "PUT", path: p + "?comp=seal"}, http.StatusOK)
	if res.hdr.Get("x-ms-blob-sealed") != "true" || res.hdr.Get("ETag") == "" {
		t.Fatalf("seal headers %v", res.hdr)
	}
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "x"}, http.StatusConflict, "BlobIsSealed")
	if res := e.must(t, req{method: "HEAD", path: p}, http.StatusOK); res.hdr.Get("x-ms-blob-sealed") != "true" || res.hdr.Get("Content-Length") != "11" {
		t.Fatalf("sealed properties %v", res.hdr)
	}
	if res := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK); !strings.Contains(res.body, "<BlobType>AppendBlob</BlobType>") ||
		!strings.Contains(res.body, "<Sealed>true</Sealed>") || !strings.Contains(res.body, "<BlobType>BlockBlob</BlobType>") {
		t.Fatalf("listing %s", res.body)
	}
}

func TestPageBlobAPI(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/disk"
	pageBlob := func(size string) map[string]string {
		return map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": size, "x-ms-blob-sequence-number": "3"}
	}
	e.fails(t, req{method: "PUT", path: p, hdr: pageBlob("1000")}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p, hdr: pageBlob("")}, http.StatusBadRequest, "MissingRequiredHeader")
	e.must(t, req{method: "PUT", path: p, hdr: pageBlob("4096")}, http.StatusCreated)
	res := e.must(t, req{method: "HEAD", path: p}, http.StatusOK)
	if res.hdr.Get("x-ms-blob-type") != "PageBlob" || res.hdr.Get("Content-Length") != "4096" || res.hdr.Get("x-ms-blob-sequence-number") != "3" {
		t.Fatalf("page blob properties %v", res.hdr)
	}
	page := strings.Repeat("a", 1024)
	update := func(rg string) map[string]string {
		return map[string]string{"x-ms-page-write": "update", "x-ms-range": rg}
	}
	res = e.must(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: update("bytes=512-1535")}, http.StatusCreated)
	if res.hdr.Get("x-ms-content-crc64") != b64crc64(page) || res.hdr.Get("x-ms-blob-sequence-number") != "3" || res.hdr.Get("ETag") == "" {
		t.Fatalf("put page headers %v", res.hdr)
	}
	// The standard Range header works too.
	e.must(t, req{method: "PUT", path: p + "?comp=page", body: strings.Repeat("b", 512), hdr: map[string]string{"x-ms-page-write": "update", "Range": "bytes=3584-4095"}}, http.StatusCreated)
	res = e.must(t, req{method: "GET", path: p}, http.StatusOK)
	want := strings.Repeat("\x00", 512) + page + strings.Repeat("\x00", 2048) + strings.Repeat("b", 512)
	if res.body != want {
		t.Fatal("page blob content differs")
	}
	var list struct {
		Ranges []struct {
			Start int64 `xml:"Start"`
			End   int64 `xml:"End"`
		} `xml:"PageRange"`
	}
	res = e.must(t, req{method: "GET", path: p + "?comp=pagelist"}, http.StatusOK)
	if err := xml.Unmarshal([]byte(res.body), &list); err != nil || len(list.Ranges) != 2 || list.Ranges[0].Start != 512 ||
		list.Ranges[0].End != 1535 || list.Ranges[1].Start != 3584 || res.hdr.Get("x-ms-blob-content-length") != "4096" {
		t.Fatalf("page list %v %s", err, res.body)
	}
	res = e.must(t, req{method: "GET", path: p + "?comp=pagelist", hdr: map[string]string{"x-ms-range": "bytes=0-1023"}}, http.StatusOK)
	if !strings.Contains(res.body, "<PageList><PageRange><Start>512</Start><End>1023</End></PageRange><NextMarker /></PageList>") {
		t.Fatalf("page list in a range %s", res.body)
	}
	// A window that starts at or past the blob's end (4096) is refused, as Azure does.
	e.fails(t, req{method: "GET", path: p + "?comp=pagelist", hdr: map[string]string{"x-ms-range": "bytes=4096-4607"}},
		http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange")
	e.must(t, req{method: "GET", path: p + "?comp=pagelist", hdr: map[string]string{"x-ms-range": "bytes=4095-4607"}}, http.StatusOK)
	e.must(t, req{method: "PUT", path: p + "?comp=page", hdr: map[string]string{"x-ms-page-write": "clear", "x-ms-range": "bytes=512-1023"}}, http.StatusCreated)
	if res := e.must(t, req{method: "GET", path: p, hdr: map[string]string{"x-ms-range": "bytes=512-1023"}}, http.StatusPartialContent); res.body != strings.Repeat("\x00", 512) {
		t.Fatal("cleared page is not zeros")
	}

	// Errors of Put Page.
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: update("bytes=1-1024")}, http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: update("bytes=4096-5119")}, http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: update("bytes=0-511")}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: update("pages 0")}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: map[string]string{"x-ms-range": "bytes=0-1023"}}, http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: map[string]string{"x-ms-page-write": "zap", "x-ms-range": "bytes=0-1023"}}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: map[string]string{"x-ms-page-write": "update"}}, http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: "x", hdr: update("bytes=0-4194815")}, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: "x", hdr: map[string]string{"x-ms-page-write": "clear", "x-ms-range": "bytes=0-511"}}, http.StatusBadRequest, "InvalidHeaderValue")
	seqHdr := update("bytes=0-1023")
	seqHdr["x-ms-if-sequence-number-lt"] = "3"
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: seqHdr}, http.StatusPreconditionFailed, "SequenceNumberConditionNotMet")
	seqHdr = update("bytes=0-1023")
	seqHdr["x-ms-if-sequence-number-eq"] = "4"
	e.fails(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: seqHdr}, http.StatusPreconditionFailed, "SequenceNumberConditionNotMet")
	seqHdr = update("bytes=0-1023")
	seqHdr["x-ms-if-sequence-number-le"] = "3"
	e.must(t, req{method: "PUT", path: p + "?comp=page", body: page, hdr: seqHdr}, http.StatusCreated)

	// Resize and sequence numbers.
	props := func(h map[string]string) resp {
		return e.must(t, req{method: "PUT", path: p + "?comp=properties", hdr: h}, http.StatusOK)
	}
	if res := props(map[string]string{"x-ms-sequence-number-action": "max", "x-ms-blob-sequence-number": "10"}); res.hdr.Get("x-ms-blob-sequence-number") != "10" {
		t.Fatalf("max: %v", res.hdr)
	}
	if res := props(map[string]string{"x-ms-sequence-number-action": "increment"}); res.hdr.Get("x-ms-blob-sequence-number") != "11" {
		t.Fatalf("increment: %v", res.hdr)
	}
	if res := props(map[string]string{"x-ms-sequence-number-action": "update", "x-ms-blob-sequence-number": "2"}); res.hdr.Get("x-ms-blob-sequence-number") != "2" {
		t.Fatalf("update: %v", res.hdr)
	}
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-sequence-number-action": "update"}}, http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-sequence-number-action": "increment", "x-ms-blob-sequence-number": "1"}}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-sequence-number-action": "double"}}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-length": "100"}}, http.StatusBadRequest, "InvalidHeaderValue")
	props(map[string]string{"x-ms-blob-content-length": "1024"})
	if res := e.must(t, req{method: "GET", path: p}, http.StatusOK); res.body != page || res.hdr.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("after resize: %d bytes", len(res.body))
	}

	// Wrong blob types.
	e.put(t, "box/block", "b", nil)
	b := "/" + account + "/box/block"
	e.fails(t, req{method: "PUT", path: b + "?comp=page", body: page, hdr: update("bytes=0-1023")}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "GET", path: b + "?comp=pagelist"}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: b + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-length": "512"}}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: p + "?comp=appendblock", body: "x"}, http.StatusConflict, "InvalidBlobType")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=QUFB", body: "x"}, http.StatusConflict, "InvalidBlobType")
	if res := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK); !strings.Contains(res.body,
		"<x-ms-blob-sequence-number>2</x-ms-blob-sequence-number><BlobType>PageBlob</BlobType>") {
		t.Fatalf("listing %s", res.body)
	}
}

// Append Block needs blobs/write or blobs/add/action; page writes need blobs/write;
// Get Page Ranges needs blobs/read.
func TestAppendPageRBAC(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.must(t, req{method: "PUT", path: "/" + account + "/box/log", hdr: map[string]string{"x-ms-blob-type": "AppendBlob"}}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/disk", hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "512"}}, http.StatusCreated)
	cases := []struct {
		r      req
		action string
	}{
		{req{method: "PUT", path: "/" + account + "/box/log?comp=appendblock", body: "x"}, blobapi.ActionBlobsWrite},
		{req{method: "PUT", path: "/" + account + "/box/other?comp=seal"}, blobapi.ActionBlobsWrite},
		{req{method: "PUT", path: "/" + account + "/box/disk?comp=page", body: strings.Repeat("x", 512),
			hdr: map[string]string{"x-ms-page-write": "update", "x-ms-range": "bytes=0-511"}}, blobapi.ActionBlobsWrite},
		{req{method: "GET", path: "/" + account + "/box/disk?comp=pagelist"}, blobapi.ActionBlobsRead},
		{req{method: "PUT", path: "/" + account + "/box/disk?comp=properties", hdr: map[string]string{"x-ms-blob-content-length": "1024"}}, blobapi.ActionBlobsWrite},
	}
	for _, c := range cases {
		e.do(t, c.r)
		if got := e.auth.last(); got.Action != c.action || !got.DataAction {
			t.Fatalf("%s %s: authorized as %s", c.r.method, c.r.path, got.Action)
		}
	}
	// With add/action only: appending works, creating works, page writes and seals do not.
	e.auth.denied[blobapi.ActionBlobsWrite] = true
	limited := map[string]string{"Authorization": "Bearer limited"}
	e.must(t, req{method: "PUT", path: "/" + account + "/box/log?comp=appendblock", body: "y", hdr: limited}, http.StatusCreated)
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsAdd || got.Operation != "AppendBlock" {
		t.Fatalf("append with add/action authorized as %+v", got)
	}
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/log?comp=seal", hdr: limited}, http.StatusForbidden, "AuthorizationPermissionMismatch")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/disk?comp=page", body: strings.Repeat("x", 512),
		hdr: map[string]string{"Authorization": "Bearer limited", "x-ms-page-write": "update", "x-ms-range": "bytes=0-511"}}, http.StatusForbidden, "AuthorizationPermissionMismatch")
	e.must(t, req{method: "PUT", path: "/" + account + "/box/log2", hdr: map[string]string{"Authorization": "Bearer limited", "x-ms-blob-type": "AppendBlob"}}, http.StatusCreated)
	// ... but replacing a blob is not adding one.
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/log", hdr: map[string]string{"Authorization": "Bearer limited", "x-ms-blob-type": "AppendBlob"}},
		http.StatusForbidden, "AuthorizationPermissionMismatch")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/disk", hdr: map[string]string{"Authorization": "Bearer limited", "x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "512"}},
		http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// TestWriteDigests: Append Block and Put Page answer with Content-MD5 when the request sent
// one, else with the CRC-64 Azure computed (recorded Azure sessions of the JavaScript SDK,
// version 2021-12-02, show x-ms-content-crc64 and no Content-MD5 for a write sent without).
func TestWriteDigests(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	ap := "/" + account + "/box/log"
	pp := "/" + account + "/box/disk"
	e.must(t, req{method: "PUT", path: ap, hdr: map[string]string{"x-ms-blob-type": "AppendBlob"}}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: pp, hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "1024"}}, http.StatusCreated)
	page := strings.Repeat("p", 512)
	for _, c := range []struct {
		name string
		r    req
		body string
	}{
		{"append", req{method: "PUT", path: ap + "?comp=appendblock", body: "hello"}, "hello"},
		{"page", req{method: "PUT", path: pp + "?comp=page", body: page, hdr: map[string]string{"x-ms-range": "bytes=0-511", "x-ms-page-write": "update"}}, page},
	} {
		res := e.must(t, c.r, http.StatusCreated)
		if res.hdr.Get("x-ms-content-crc64") != b64crc64(c.body) || res.hdr.Get("Content-MD5") != "" {
			t.Errorf("%s without a digest: %v", c.name, res.hdr)
		}
		withMD5 := c.r
		withMD5.hdr = map[string]string{"Content-MD5": b64md5(c.body)}
		for k, v := range c.r.hdr {
			withMD5.hdr[k] = v
		}
		res = e.must(t, withMD5, http.StatusCreated)
		if res.hdr.Get("Content-MD5") != b64md5(c.body) || res.hdr.Get("x-ms-content-crc64") != "" {
			t.Errorf("%s with Content-MD5: %v", c.name, res.hdr)
		}
		withCRC := c.r
		withCRC.hdr = map[string]string{"x-ms-content-crc64": b64crc64(c.body)}
		for k, v := range c.r.hdr {
			withCRC.hdr[k] = v
		}
		res = e.must(t, withCRC, http.StatusCreated)
		if res.hdr.Get("x-ms-content-crc64") != b64crc64(c.body) || res.hdr.Get("Content-MD5") != "" {
			t.Errorf("%s with x-ms-content-crc64: %v", c.name, res.hdr)
		}
	}
}
