package blobapi_test

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// x-ms-blob-content-md5: on an upload it must be an MD5 (InvalidMd5, even beside a valid
// Content-MD5) and is stored in place of the computed one; Set Blob Properties stores a
// value of any length.
func TestBlobContentMD5(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/b"
	sum := md5.Sum([]byte("body"))
	body := base64.StdEncoding.EncodeToString(sum[:])
	other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString([]byte("fifteen bytes.."))} {
		e.fails(t, req{method: "PUT", path: p, body: "body", hdr: map[string]string{"x-ms-blob-type": "BlockBlob",
			"x-ms-blob-content-md5": bad, "Content-MD5": body}}, http.StatusBadRequest, "InvalidMd5")
		e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>", hdr: map[string]string{
			"x-ms-blob-content-md5": bad}}, http.StatusBadRequest, "InvalidMd5")
	}
	// On Put Blob x-ms-blob-content-md5 takes precedence over Content-MD5: the body is
	// checked against it, and Content-MD5 is then not looked at.
	e.fails(t, req{method: "PUT", path: p, body: "body", hdr: map[string]string{"x-ms-blob-type": "BlockBlob",
		"x-ms-blob-content-md5": other, "Content-MD5": body}}, http.StatusBadRequest, "Md5Mismatch")
	e.put(t, "box/b", "body", map[string]string{"x-ms-blob-content-md5": body, "Content-MD5": other})
	if got := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr.Get("Content-MD5"); got != body {
		t.Fatalf("stored Content-MD5 %q; want the x-ms-blob-content-md5 sent, %q", got, body)
	}
	// Every read answers the blob's MD5 in x-ms-blob-content-md5; Content-MD5 is the
	// body's, so a ranged read carries it only when asked for.
	whole := e.must(t, req{method: "GET", path: p}, http.StatusOK).hdr
	ranged := e.must(t, req{method: "GET", path: p, hdr: map[string]string{"x-ms-range": "bytes=0-1"}}, http.StatusPartialContent).hdr
	if whole.Get("x-ms-blob-content-md5") != body || whole.Get("Content-MD5") != body ||
		ranged.Get("x-ms-blob-content-md5") != body || ranged.Get("Content-MD5") != "" {
		t.Fatalf("read digests: whole %v, ranged %v", whole, ranged)
	}
	// Put Block List stores it unchecked (its blocks were checked when staged).
	e.must(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>", hdr: map[string]string{"x-ms-blob-content-md5": other}}, http.StatusCreated)
	if got := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr.Get("Content-MD5"); got != other {
		t.Fatalf("Put Block List stored Content-MD5 %q; want %q", got, other)
	}
	odd := base64.StdEncoding.EncodeToString([]byte("three"))
	e.must(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-md5": odd}}, http.StatusOK)
	if got := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr.Get("Content-MD5"); got != odd {
		t.Fatalf("Set Blob Properties stored Content-MD5 %q; want %q", got, odd)
	}
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-md5": "%%%"}}, http.StatusBadRequest, "InvalidMd5")
	// Creating an empty append or page blob stores any length too: there is no content to
	// check it against.
	for typ, extra := range map[string]string{"AppendBlob": "", "PageBlob": "512"} {
		hdr := map[string]string{"x-ms-blob-type": typ, "x-ms-blob-content-md5": odd}
		if extra != "" {
			hdr["x-ms-blob-content-length"] = extra
		}
		e.must(t, req{method: "PUT", path: p + typ, hdr: hdr}, http.StatusCreated)
		if got := e.must(t, req{method: "HEAD", path: p + typ}, http.StatusOK).hdr.Get("Content-MD5"); got != odd {
			t.Fatalf("%s created with Content-MD5 %q; want %q", typ, got, odd)
		}
	}
}

// Set Blob Properties replaces every HTTP header: those not sent are cleared, the content
// type too: Azure then sends no Content-Type (the JavaScript SDK's recorded session
// "setHTTPHeaders with default parameters"), though a blob created without one has
// application/octet-stream.
func TestSetBlobPropertiesClearsHeaders(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/b"
	e.put(t, "box/b", "body", map[string]string{"x-ms-blob-content-type": "text/plain", "x-ms-blob-content-encoding": "gzip",
		"x-ms-blob-content-language": "en", "x-ms-blob-content-disposition": "inline", "x-ms-blob-cache-control": "no-cache"})
	e.must(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-language": "fr"}}, http.StatusOK)
	h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr
	if h.Get("Content-Language") != "fr" || h.Get("Content-Type") != "" || h.Get("Content-Encoding") != "" ||
		h.Get("Content-Disposition") != "" || h.Get("Cache-Control") != "" || h.Get("Content-MD5") != "" {
		t.Fatalf("after Set Blob Properties with only a language: %v", h)
	}
	if res := e.must(t, req{method: "GET", path: p}, http.StatusOK); res.body != "body" || len(res.hdr.Values("Content-Type")) != 0 {
		t.Fatalf("GET of a blob without a content type: %v", res.hdr)
	}
	e.put(t, "box/plain", "body", nil)
	if ct := e.must(t, req{method: "HEAD", path: "/" + account + "/box/plain"}, http.StatusOK).hdr.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("a blob created without a content type has %q", ct)
	}
}

// Content-MD5 and x-ms-content-crc64 together are refused; If-None-Match: * does not stop
// a delete of an existing blob.
func TestDigestsAndDeleteConditions(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/b"
	sum := md5.Sum([]byte("x"))
	both := map[string]string{"x-ms-blob-type": "BlockBlob", "Content-MD5": base64.StdEncoding.EncodeToString(sum[:]),
		"x-ms-content-crc64": base64.StdEncoding.EncodeToString(make([]byte, 8))}
	e.fails(t, req{method: "PUT", path: p, body: "x", hdr: both}, http.StatusBadRequest, "BothCrc64AndMd5HeaderPresent")
	delete(both, "x-ms-blob-type")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=YWFhYQ==", body: "x", hdr: both}, http.StatusBadRequest, "BothCrc64AndMd5HeaderPresent")
	e.put(t, "box/b", "x", nil)
	e.must(t, req{method: "DELETE", path: p, hdr: map[string]string{"If-None-Match": "*"}}, http.StatusAccepted)
	e.fails(t, req{method: "HEAD", path: p}, http.StatusNotFound, "BlobNotFound")
}

// include=uncommittedblobs lists a blob that has only staged blocks, as an empty block blob.
func TestListUncommittedBlobs(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/a", "x", nil)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/b?comp=block&blockid=YWFhYQ==", body: "blk"}, http.StatusCreated)
	list := func(q string) string {
		return e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list" + q}, http.StatusOK).body
	}
	if body := list(""); strings.Contains(body, "<Name>b</Name>") {
		t.Fatalf("a blob with only uncommitted blocks is listed by default:\n%s", body)
	}
	body := list("&include=uncommittedblobs")
	if !strings.Contains(body, "<Name>a</Name>") || !strings.Contains(body, "<Blob><Name>b</Name><Properties>") ||
		!strings.Contains(body, "<Content-Length>0</Content-Length>") {
		t.Fatalf("include=uncommittedblobs:\n%s", body)
	}
}

// Put Block answers with the CRC-64 the server computed, whether or not the client sent
// one (the Go SDK's CRC-64/NVME, little-endian).
func TestPutBlockEchoesCRC64(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	want := base64.StdEncoding.EncodeToString(blob.CRC64Bytes(blob.CRC64([]byte("block data"))))
	for _, hdr := range []map[string]string{nil, {"x-ms-content-crc64": want}} {
		res := e.must(t, req{method: "PUT", path: "/" + account + "/box/b?comp=block&blockid=YWFhYQ==", body: "block data", hdr: hdr}, http.StatusCreated)
		if got := res.hdr.Get("x-ms-content-crc64"); got != want {
			t.Fatalf("Put Block with headers %v answered x-ms-content-crc64 %q; want %q", hdr, got, want)
		}
	}
}
