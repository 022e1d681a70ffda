package blobapi_test

import (
	"crypto/md5"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (e *env) blobURL(path string) string { return e.srv.URL + "/" + account + "/" + path }

// copyReq is a Copy Blob of src onto dst, with extra headers.
func (e *env) copyReq(dst, src string, hdr map[string]string) req {
	h := map[string]string{"x-ms-copy-source": src}
	for k, v := range hdr {
		h[k] = v
	}
	return req{method: "PUT", path: "/" + account + "/" + dst, hdr: h}
}

func TestCopyBlob(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/src", "copy me", map[string]string{"x-ms-blob-content-type": "text/plain", "x-ms-meta-m": "1", "x-ms-tags": "t=1"})
	src := e.blobURL("box/src")
	res := e.must(t, e.copyReq("box/dst", src+"?ignored=1", nil), http.StatusAccepted)
	id := res.hdr.Get("x-ms-copy-id")
	if !guid.MatchString(id) || res.hdr.Get("x-ms-copy-status") != "success" || res.hdr.Get("ETag") == "" {
		t.Fatalf("copy answer %v", res.hdr)
	}
	// The destination needs write on itself, the source read as the same caller.
	var sawRead bool
	for _, r := range e.auth.requests {
		sawRead = sawRead || (r.Action == blobapi.ActionBlobsRead && r.Scope == "blobServices/default/containers/box/blobs/src" && r.Token == "token")
	}
	if last := e.auth.last(); !sawRead || last.Action != blobapi.ActionBlobsRead {
		t.Fatalf("source not authorized for read: %+v", e.auth.requests)
	}
	got := e.must(t, req{method: "GET", path: "/" + account + "/box/dst"}, http.StatusOK)
	h := got.hdr
	if got.body != "copy me" || h.Get("Content-Type") != "text/plain" || h.Get("x-ms-meta-m") != "1" ||
		h.Get("x-ms-copy-id") != id || h.Get("x-ms-copy-status") != "success" || h.Get("x-ms-copy-progress") != "7/7" ||
		h.Get("x-ms-copy-source") != src || h.Get("x-ms-copy-completion-time") == "" || h.Get("x-ms-tag-count") != "" {
		t.Fatalf("copied blob %q %v", got.body, h)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=copy"}, http.StatusOK)
	if !strings.Contains(list.body, "<CopyId>"+id+"</CopyId>") || !strings.Contains(list.body, "<CopyStatus>success</CopyStatus>") {
		t.Fatalf("list include=copy: %s", list.body)
	}
	if plain := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK); strings.Contains(plain.body, "CopyId") {
		t.Fatalf("copy properties listed without include=copy: %s", plain.body)
	}
	// Metadata and tags given replace the source's.
	e.must(t, e.copyReq("box/dst", src, map[string]string{"x-ms-meta-n": "2", "x-ms-tags": "k=v"}), http.StatusAccepted)
	h = e.must(t, req{method: "HEAD", path: "/" + account + "/box/dst"}, http.StatusOK).hdr
	if h.Get("x-ms-meta-n") != "2" || h.Get("x-ms-meta-m") != "" || h.Get("x-ms-tag-count") != "1" {
		t.Fatalf("metadata and tags %v", h)
	}
	// Set Blob Properties drops the copy properties, as in Azure.
	e.must(t, req{method: "PUT", path: "/" + account + "/box/dst?comp=properties"}, http.StatusOK)
	if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/dst"}, http.StatusOK).hdr; h.Get("x-ms-copy-id") != "" {
		t.Fatalf("copy properties after Set Blob Properties: %v", h)
	}
	// Another account of this Lanyard is a source as good as any.
	e.h.Accounts = accounts{account: "Standard_LRS", "other": "Standard_LRS"}
	e.must(t, req{method: "PUT", path: "/other/box2?restype=container"}, http.StatusCreated)
	e.must(t, e.copyReq("box/from-other", e.srv.URL+"/other/box2/none", nil), http.StatusNotFound)
	e.must(t, req{method: "PUT", path: "/other/box2/b", body: "elsewhere", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}}, http.StatusCreated)
	e.must(t, e.copyReq("box/from-other", e.srv.URL+"/other/box2/b", nil), http.StatusAccepted)
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/from-other"}, http.StatusOK); got.body != "elsewhere" {
		t.Fatalf("cross-account copy %q", got.body)
	}
}

// TestCopyForeignSourceRefused: a source on another host is refused without a
// connection to it.
func TestCopyForeignSourceRefused(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			connected <- struct{}{}
			c.Close()
		}
	}()
	foreign := "https://" + ln.Addr().String() + "/" + account + "/box/src"
	e.put(t, "box/src", "x", nil)
	for _, r := range []req{
		e.copyReq("box/dst", foreign, nil),
		e.copyReq("box/dst", foreign, map[string]string{"x-ms-requires-sync": "true"}),
		e.copyReq("box/dst", foreign, map[string]string{"x-ms-blob-type": "BlockBlob"}),
		e.copyReq("box/dst?comp=block&blockid=QUFBQQ==", foreign, nil),
		e.copyReq("box/dst?comp=appendblock", foreign, nil),
		e.copyReq("box/dst?comp=page", foreign, map[string]string{"x-ms-page-write": "update", "x-ms-range": "bytes=0-511", "x-ms-source-range": "bytes=0-511"}),
	} {
		e.fails(t, r, http.StatusForbidden, "CannotVerifyCopySource")
	}
	ln.Close()
	select {
	case <-connected:
		t.Fatal("Lanyard connected to the foreign copy source")
	default:
	}
}

func TestCopyRefusals(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	put := e.put(t, "box/src", "x", nil)
	src := e.blobURL("box/src")
	// No read on the source: refused as the source would have refused it.
	e.auth.denied[blobapi.ActionBlobsRead] = true
	res := e.fails(t, e.copyReq("box/dst", src, map[string]string{"Authorization": "Bearer limited"}), http.StatusForbidden, "CannotVerifyCopySource")
	if res.hdr.Get("x-ms-copy-source-status-code") != "403" || res.hdr.Get("x-ms-copy-source-error-code") != "AuthorizationPermissionMismatch" {
		t.Fatalf("source error headers %v", res.hdr)
	}
	delete(e.auth.denied, blobapi.ActionBlobsRead)
	// No write on the destination: refused before the source is looked at. With add
	// only, a copy may create the destination but not replace it.
	e.auth.denied[blobapi.ActionBlobsWrite] = true
	e.auth.denied[blobapi.ActionBlobsAdd] = true
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"Authorization": "Bearer limited"}), http.StatusForbidden, "AuthorizationPermissionMismatch")
	delete(e.auth.denied, blobapi.ActionBlobsAdd)
	e.must(t, e.copyReq("box/added", src, map[string]string{"Authorization": "Bearer limited"}), http.StatusAccepted)
	e.fails(t, e.copyReq("box/added", src, map[string]string{"Authorization": "Bearer limited"}), http.StatusForbidden, "AuthorizationPermissionMismatch")
	delete(e.auth.denied, blobapi.ActionBlobsWrite)
	// x-ms-copy-source-authorization is authenticated as the source's bearer token.
	res = e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-copy-source-authorization": "Bearer expired"}), http.StatusForbidden, "CannotVerifyCopySource")
	if res.hdr.Get("x-ms-copy-source-status-code") != "401" {
		t.Fatalf("source error headers %v", res.hdr)
	}
	e.must(t, e.copyReq("box/dst", src, map[string]string{"Authorization": "Bearer limited", "x-ms-copy-source-authorization": "Bearer token"}), http.StatusAccepted)
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-copy-source-authorization": "Basic abc"}), http.StatusBadRequest, "InvalidHeaderValue")
	// Sources that are not blobs of this Lanyard, or not URLs.
	e.fails(t, e.copyReq("box/dst", e.blobURL("box/missing"), nil), http.StatusNotFound, "CannotVerifyCopySource")
	e.fails(t, e.copyReq("box/dst", e.srv.URL+"/nosuchaccount/box/src", nil), http.StatusNotFound, "CannotVerifyCopySource")
	e.fails(t, e.copyReq("box/dst", "not a url", nil), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, e.copyReq("box/dst", "ftp://"+strings.TrimPrefix(e.srv.URL, "https://")+"/x/y/z", nil), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, e.copyReq("box/dst", src+"?snapshot=2020-01-01T00:00:00.0000000Z", nil), http.StatusNotFound, "CannotVerifyCopySource")
	e.fails(t, e.copyReq("box/dst", src+"?versionid=2020-01-01T00:00:00.0000000Z", nil), http.StatusNotFound, "CannotVerifyCopySource")
	e.fails(t, e.copyReq("box/dst", src+"?versionid=yesterday", nil), http.StatusBadRequest, "InvalidHeaderValue")
	// A copy of a snapshot shows the snapshot in x-ms-copy-source, as the client wrote it;
	// nothing else of the query.
	snapSrc := src + "?snapshot=" + url.QueryEscape(e.snapshotOf(t, "box/src")) + "&other=x"
	e.must(t, e.copyReq("box/fromsnap", snapSrc, nil), http.StatusAccepted)
	if got := e.must(t, req{method: "HEAD", path: "/" + account + "/box/fromsnap"}, http.StatusOK).hdr.Get("x-ms-copy-source"); got != strings.TrimSuffix(snapSrc, "&other=x") {
		t.Fatalf("x-ms-copy-source %q; want %q", got, strings.TrimSuffix(snapSrc, "&other=x"))
	}
	// Source and destination conditions.
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-source-if-match": `"0x1"`}), http.StatusPreconditionFailed, "SourceConditionNotMet")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-source-if-none-match": put.hdr.Get("ETag")}), http.StatusPreconditionFailed, "SourceConditionNotMet")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-source-if-tags": `"a" = 'b'`}), http.StatusPreconditionFailed, "SourceConditionNotMet")
	e.must(t, e.copyReq("box/dst", src, map[string]string{"x-ms-source-if-match": put.hdr.Get("ETag")}), http.StatusAccepted)
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"If-Match": `"0x1"`}), http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"If-None-Match": "*"}), http.StatusConflict, "BlobAlreadyExists")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-if-tags": `"a" = 'b'`}), http.StatusPreconditionFailed, "ConditionNotMet")
	// A leased destination takes a copy only with its lease id.
	lease := "11111111-2222-3333-4444-555555555555"
	e.must(t, req{method: "PUT", path: "/" + account + "/box/dst?comp=lease", hdr: map[string]string{"x-ms-lease-action": "acquire",
		"x-ms-lease-duration": "-1", "x-ms-proposed-lease-id": lease}}, http.StatusCreated)
	e.fails(t, e.copyReq("box/dst", src, nil), http.StatusPreconditionFailed, "LeaseIdMissing")
	e.must(t, e.copyReq("box/dst", src, map[string]string{"x-ms-lease-id": lease}), http.StatusAccepted)
	if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/dst"}, http.StatusOK).hdr; h.Get("x-ms-lease-state") != "leased" {
		t.Fatalf("lease lost by the copy: %v", h)
	}
	// A copy takes no body.
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/x", body: "b", hdr: map[string]string{"x-ms-copy-source": src}}, http.StatusBadRequest, "InvalidHeaderValue")
}

func TestAbortCopy(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/src", "x", nil)
	id := e.must(t, e.copyReq("box/dst", e.blobURL("box/src"), nil), http.StatusAccepted).hdr.Get("x-ms-copy-id")
	abort := func(name string, hdr map[string]string) req {
		return req{method: "PUT", path: "/" + account + "/box/" + name + "?comp=copy&copyid=" + id, hdr: hdr}
	}
	e.fails(t, abort("dst", map[string]string{"x-ms-copy-action": "abort"}), http.StatusConflict, "NoPendingCopyOperation")
	e.fails(t, abort("missing", map[string]string{"x-ms-copy-action": "abort"}), http.StatusNotFound, "BlobNotFound")
	e.fails(t, abort("dst", nil), http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/dst?comp=copy", hdr: map[string]string{"x-ms-copy-action": "abort"}}, http.StatusBadRequest, "MissingRequiredQueryParameter")
	if r := e.auth.last(); r.Action != blobapi.ActionBlobsWrite || r.Operation != "AbortCopyBlob" {
		t.Fatalf("abort authorized as %+v", r)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestSyncCopyAndFromURL(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/src", "0123456789", map[string]string{"x-ms-blob-content-type": "text/plain", "x-ms-tags": "t=1"})
	src := e.blobURL("box/src")
	sum := md5.Sum([]byte("0123456789"))
	sync := map[string]string{"x-ms-requires-sync": "true", "x-ms-copy-source-tag-option": "COPY", "x-ms-source-content-md5": b64(sum[:])}
	res := e.must(t, e.copyReq("box/sync", src, sync), http.StatusAccepted)
	if res.hdr.Get("x-ms-copy-status") != "success" || !guid.MatchString(res.hdr.Get("x-ms-copy-id")) {
		t.Fatalf("sync copy %v", res.hdr)
	}
	if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/sync"}, http.StatusOK).hdr; h.Get("x-ms-tag-count") != "1" || h.Get("x-ms-copy-status") != "success" {
		t.Fatalf("sync copy properties %v", h)
	}
	e.fails(t, e.copyReq("box/sync", src, map[string]string{"x-ms-requires-sync": "true", "x-ms-source-content-md5": b64(make([]byte, 16))}), http.StatusBadRequest, "Md5Mismatch")
	e.fails(t, e.copyReq("box/sync", src, map[string]string{"x-ms-requires-sync": "true", "x-ms-copy-source-tag-option": "COPY", "x-ms-tags": "a=b"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, e.copyReq("box/sync", src, map[string]string{"x-ms-copy-source-tag-option": "COPY"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.must(t, req{method: "PUT", path: "/" + account + "/box/log", hdr: map[string]string{"x-ms-blob-type": "AppendBlob"}}, http.StatusCreated)
	e.fails(t, e.copyReq("box/sync", e.blobURL("box/log"), map[string]string{"x-ms-requires-sync": "true"}), http.StatusConflict, "CannotVerifyCopySource")
	// Copy Blob (asynchronous) keeps an append blob's type.
	e.must(t, e.copyReq("box/log2", e.blobURL("box/log"), nil), http.StatusAccepted)
	if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/log2"}, http.StatusOK).hdr; h.Get("x-ms-blob-type") != "AppendBlob" {
		t.Fatalf("append copy %v", h)
	}

	// Put Blob From URL: the source's bytes and properties, the request's overriding.
	fromURL := map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-source-content-md5": b64(sum[:])}
	res = e.must(t, e.copyReq("box/put", src, fromURL), http.StatusCreated)
	if res.hdr.Get("Content-MD5") != b64(sum[:]) {
		t.Fatalf("put from URL %v", res.hdr)
	}
	got := e.must(t, req{method: "GET", path: "/" + account + "/box/put"}, http.StatusOK)
	if got.body != "0123456789" || got.hdr.Get("Content-Type") != "text/plain" || got.hdr.Get("x-ms-copy-id") != "" || got.hdr.Get("x-ms-tag-count") != "" {
		t.Fatalf("put from URL: %q %v", got.body, got.hdr)
	}
	e.must(t, e.copyReq("box/put", src, map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-copy-source-blob-properties": "false"}), http.StatusCreated)
	if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/put"}, http.StatusOK).hdr; h.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("source properties copied though told not to: %v", h)
	}
	e.fails(t, e.copyReq("box/put", src, map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-source-content-md5": b64(make([]byte, 16))}), http.StatusBadRequest, "Md5Mismatch")
	e.fails(t, e.copyReq("box/put", src, map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-source-if-match": `"0x1"`}), http.StatusPreconditionFailed, "SourceConditionNotMet")
	e.fails(t, e.copyReq("box/put", e.blobURL("box/none"), map[string]string{"x-ms-blob-type": "BlockBlob"}), http.StatusNotFound, "CannotVerifyCopySource")

	// Put Block From URL, with source ranges, then Put Block List.
	e.must(t, e.copyReq("box/blocks?comp=block&blockid=QUFBQQ==", src, map[string]string{"x-ms-source-range": "bytes=5-9"}), http.StatusCreated)
	e.must(t, e.copyReq("box/blocks?comp=block&blockid=QkJCQg==", src, map[string]string{"x-ms-source-range": "bytes=0-4"}), http.StatusCreated)
	e.fails(t, e.copyReq("box/blocks?comp=block&blockid=Q0NDQw==", src, map[string]string{"x-ms-source-range": "bytes=50-60"}), http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	e.fails(t, e.copyReq("box/blocks?comp=block&blockid=Q0NDQw==", src, map[string]string{"x-ms-source-range": "nonsense"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, e.copyReq("box/blocks?comp=block&blockid=Q0NDQw==", src, map[string]string{"x-ms-source-content-md5": b64(make([]byte, 16))}), http.StatusBadRequest, "Md5Mismatch")
	e.must(t, req{method: "PUT", path: "/" + account + "/box/blocks?comp=blocklist",
		body: `<BlockList><Latest>QUFBQQ==</Latest><Latest>QkJCQg==</Latest></BlockList>`}, http.StatusCreated)
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/blocks"}, http.StatusOK); got.body != "5678901234" {
		t.Fatalf("blocks from URL %q", got.body)
	}

	// Append Block From URL, with an append position condition.
	e.must(t, req{method: "PUT", path: "/" + account + "/box/appended", hdr: map[string]string{"x-ms-blob-type": "AppendBlob"}}, http.StatusCreated)
	res = e.must(t, e.copyReq("box/appended?comp=appendblock", src, map[string]string{"x-ms-source-range": "bytes=0-2"}), http.StatusCreated)
	if res.hdr.Get("x-ms-blob-append-offset") != "0" || res.hdr.Get("x-ms-blob-committed-block-count") != "1" {
		t.Fatalf("append from URL %v", res.hdr)
	}
	e.must(t, e.copyReq("box/appended?comp=appendblock", src, map[string]string{"x-ms-blob-condition-appendpos": "3"}), http.StatusCreated)
	e.fails(t, e.copyReq("box/appended?comp=appendblock", src, map[string]string{"x-ms-blob-condition-appendpos": "3"}), http.StatusPreconditionFailed, "AppendPositionConditionNotMet")
	e.fails(t, e.copyReq("box/put?comp=appendblock", src, nil), http.StatusConflict, "InvalidBlobType")
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/appended"}, http.StatusOK); got.body != "0120123456789" {
		t.Fatalf("appended from URL %q", got.body)
	}
}

// TestCopySourceSAS: a user delegation SAS in the source URL authorizes reading it, as
// the SAS's principal, whatever the caller may do on the source.
func TestCopySourceSAS(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	srcSAS := s.sasURL(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: "hello.txt", Permissions: (&sas.BlobPermissions{Read: true}).String()})
	s.must(t, s.copyReq("data/copy", srcSAS, nil), http.StatusAccepted)
	var asSAS bool
	for _, r := range s.auth.delegated {
		asSAS = asSAS || (r.Action == blobapi.ActionBlobsRead && r.Credential == blobapi.CredentialUserDelegationSAS &&
			r.Scope == "blobServices/default/containers/data/blobs/hello.txt")
	}
	if !asSAS {
		t.Fatalf("source not authorized by its SAS: %+v", s.auth.delegated)
	}
	if got := s.must(t, req{method: "GET", path: "/" + account + "/data/copy"}, http.StatusOK); got.body != "hello by SAS" {
		t.Fatalf("copied %q", got.body)
	}
	if h := s.must(t, req{method: "HEAD", path: "/" + account + "/data/copy"}, http.StatusOK).hdr; strings.Contains(h.Get("x-ms-copy-source"), "sig=") {
		t.Fatalf("x-ms-copy-source shows the SAS: %q", h.Get("x-ms-copy-source"))
	}
	// A destination SAS (c or w) copies from a source with its own SAS, not from a bare one.
	dstSAS := s.sasURL(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: "by-sas", Permissions: (&sas.BlobPermissions{Create: true}).String()})
	byPath := strings.TrimPrefix(dstSAS, s.srv.URL)
	s.must(t, req{method: "PUT", path: byPath, noAuth: true, hdr: map[string]string{"x-ms-copy-source": srcSAS}}, http.StatusAccepted)
	s.fails(t, req{method: "PUT", path: byPath, noAuth: true, hdr: map[string]string{"x-ms-copy-source": srcSAS}}, http.StatusForbidden, "AuthorizationPermissionMismatch")
	s.fails(t, req{method: "PUT", path: byPath, noAuth: true, hdr: map[string]string{"x-ms-copy-source": s.blobURL("data/hello.txt")}}, http.StatusNotFound, "CannotVerifyCopySource")
	// The SAS's principal may no longer read: refused.
	s.auth.denied[blobapi.ActionBlobsRead] = true
	s.fails(t, s.copyReq("data/copy", srcSAS, nil), http.StatusForbidden, "CannotVerifyCopySource")
	delete(s.auth.denied, blobapi.ActionBlobsRead)
	// A SAS without read, or for another blob, does not do.
	noRead := s.sasURL(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: "hello.txt", Permissions: (&sas.BlobPermissions{Write: true}).String()})
	s.fails(t, s.copyReq("data/copy", noRead, nil), http.StatusForbidden, "CannotVerifyCopySource")
	other := s.sasURL(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: "other.txt", Permissions: (&sas.BlobPermissions{Read: true}).String()})
	s.fails(t, s.copyReq("data/copy", strings.Replace(other, "other.txt", "hello.txt", 1), nil), http.StatusForbidden, "CannotVerifyCopySource")
}

// TestCopySourceTags: x-ms-copy-source-tag-option (the header the SDKs send) COPY takes the
// source's tags, on Copy Blob From URL and Put Blob From URL, and only for a caller allowed
// to read them (blobs/tags/read on the source, which blobs/read does not give).
func TestCopySourceTags(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/src", "0123456789", map[string]string{"x-ms-tags": "t=1&u=2"})
	src := e.blobURL("box/src")
	copyTags := map[string]string{"x-ms-requires-sync": "true", "x-ms-copy-source-tag-option": "COPY"}
	fromURL := func(extra map[string]string) req {
		r := e.copyReq("box/put", src, map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-copy-source-tag-option": "COPY"})
		for k, v := range extra {
			r.hdr[k] = v
		}
		return r
	}
	e.must(t, e.copyReq("box/sync", src, copyTags), http.StatusAccepted)
	e.must(t, fromURL(nil), http.StatusCreated)
	for _, b := range []string{"box/sync", "box/put"} {
		if res := e.must(t, req{method: "GET", path: "/" + account + "/" + b + "?comp=tags"}, http.StatusOK); !strings.Contains(res.body, "<Key>u</Key><Value>2</Value>") {
			t.Fatalf("%s: tags not copied:\n%s", b, res.body)
		}
	}
	e.auth.denied[blobapi.ActionBlobTagsRead] = true
	limited := map[string]string{"Authorization": "Bearer limited"}
	for k, v := range copyTags {
		limited[k] = v
	}
	e.fails(t, e.copyReq("box/sync2", src, limited), http.StatusForbidden, "CannotVerifyCopySource")
	e.fails(t, fromURL(map[string]string{"Authorization": "Bearer limited"}), http.StatusForbidden, "CannotVerifyCopySource")
	// Without COPY, the tags are not read and blobs/read is enough.
	e.must(t, e.copyReq("box/sync2", src, map[string]string{"Authorization": "Bearer limited", "x-ms-requires-sync": "true"}), http.StatusAccepted)
}
