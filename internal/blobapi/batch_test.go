package blobapi_test

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const boundary = "batch_6e6a3c1e-0d6c-4a8e-9d4b-2f1c3b7a9e10"

// del is an embedded Delete Blob of /{account}/{path} with a bearer token, and extra
// header lines.
func del(path string, extra ...string) string {
	return "DELETE /" + account + "/" + path + " HTTP/1.1\r\nAuthorization: Bearer token\r\nx-ms-date: Thu, 14 Jun 2018 16:46:54 GMT\r\n" +
		strings.Join(append(extra, ""), "\r\n") + "\r\n"
}

func tier(path, tier string) string {
	return "PUT /" + account + "/" + path + "?comp=tier HTTP/1.1\r\nAuthorization: Bearer token\r\nx-ms-access-tier: " + tier + "\r\nContent-Length: 0\r\n\r\n"
}

// batchBody frames embedded requests as the Go SDK does, Content-IDs from 0.
func batchBody(subs ...string) string {
	var b strings.Builder
	for i, s := range subs {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n%s\r\n", boundary, i, s)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

func batchReq(path, body string) req {
	return req{method: http.MethodPost, path: path, body: body,
		hdr: map[string]string{"Content-Type": "multipart/mixed; boundary=" + boundary}}
}

// subResp is one part of a batch's answer.
type subResp struct {
	contentID string // "" when the part has none
	status    int
	hdr       http.Header
	body      string
}

// submit sends a batch and takes its 202 answer apart as the Go SDK does.
func (e *env) submit(t *testing.T, path, body string) ([]subResp, resp) {
	t.Helper()
	return e.submitReq(t, batchReq(path, body))
}

// submitReq is submit of a request of the caller's.
func (e *env) submitReq(t *testing.T, r req) ([]subResp, resp) {
	t.Helper()
	res := e.must(t, r, http.StatusAccepted)
	mt, params, err := mime.ParseMediaType(res.hdr.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || !strings.HasPrefix(params["boundary"], "batchresponse_") {
		t.Fatalf("Content-Type %q", res.hdr.Get("Content-Type"))
	}
	mr := multipart.NewReader(strings.NewReader(res.body), params["boundary"])
	var out []subResp
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("response part: %v\n%s", err, res.body)
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/http" {
			t.Fatalf("part Content-Type %q", ct)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		hr, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw)+"\n")), nil)
		if err != nil {
			t.Fatalf("embedded response: %v\n%q", err, raw)
		}
		b, err := io.ReadAll(hr.Body)
		if err != nil {
			t.Fatalf("embedded body: %v\n%q", err, raw)
		}
		out = append(out, subResp{contentID: p.Header.Get("Content-ID"), status: hr.StatusCode, hdr: hr.Header, body: string(b)})
	}
	return out, res
}

// wantSub checks a sub-response's status, its error code in the header and the XML body,
// and the ids every Azure response carries.
func wantSub(t *testing.T, s subResp, contentID string, status int, code string) {
	t.Helper()
	if s.contentID != contentID || s.status != status {
		t.Fatalf("part %q: status %d, want part %q status %d\n%v\n%s", s.contentID, s.status, contentID, status, s.hdr, s.body)
	}
	if s.hdr.Get("x-ms-request-id") == "" || s.hdr.Get("x-ms-version") != "2026-12-06" {
		t.Fatalf("part %q: headers %v", s.contentID, s.hdr)
	}
	if got := s.hdr.Get("x-ms-error-code"); got != code {
		t.Fatalf("part %q: x-ms-error-code %q, want %q", s.contentID, got, code)
	}
	if code == "" {
		return
	}
	var x struct{ Code, Message string }
	if err := xml.Unmarshal([]byte(s.body), &x); err != nil || x.Code != code ||
		!strings.Contains(x.Message, "\nRequestId:"+s.hdr.Get("x-ms-request-id")+"\n") {
		t.Fatalf("part %q: error body %q (%v)", s.contentID, s.body, err)
	}
}

func (e *env) exists(t *testing.T, path string) bool {
	t.Helper()
	res := e.do(t, req{method: http.MethodHead, path: "/" + account + "/" + path})
	return res.status == http.StatusOK
}

// TestBatchDelete: a service-scoped batch deletes each blob as a Delete Blob would,
// conditions included, and answers each in its own part, in order, Content-ID echoed.
func TestBatchDelete(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.container(t, "bbb")
	e.put(t, "aaa/one", "1", nil)
	e.put(t, "bbb/dir/two two", "2", nil)
	kept := e.put(t, "aaa/kept", "3", nil)
	subs, res := e.submit(t, "/"+account+"/?comp=batch", batchBody(
		del("aaa/one"),
		del("bbb/dir/two%20two"),
		del("aaa/missing"),
		del("aaa/kept", "If-Match: \"0x0\""),
		del("aaa/kept", "If-None-Match: "+kept.hdr.Get("ETag")),
	))
	if len(subs) != 5 {
		t.Fatalf("%d parts", len(subs))
	}
	wantSub(t, subs[0], "0", http.StatusAccepted, "")
	wantSub(t, subs[1], "1", http.StatusAccepted, "")
	wantSub(t, subs[2], "2", http.StatusNotFound, "BlobNotFound")
	wantSub(t, subs[3], "3", http.StatusPreconditionFailed, "ConditionNotMet")
	wantSub(t, subs[4], "4", http.StatusPreconditionFailed, "ConditionNotMet")
	ids := map[string]bool{res.hdr.Get("x-ms-request-id"): true}
	for _, s := range subs {
		if id := s.hdr.Get("x-ms-request-id"); ids[id] {
			t.Fatalf("request id %s shared", id)
		} else {
			ids[id] = true
		}
	}
	// Spelled as Azure does: the JavaScript SDK looks for this exact name.
	if !strings.Contains(res.body, "\r\nx-ms-error-code: BlobNotFound\r\n") || !strings.Contains(res.body, "\r\nContent-ID: 4\r\n") {
		t.Fatalf("header spelling:\n%s", res.body)
	}
	if e.exists(t, "aaa/one") || e.exists(t, "bbb/dir/two two") || !e.exists(t, "aaa/kept") {
		t.Fatal("deleted the wrong blobs")
	}
	if res.hdr.Get("x-ms-version") != "2026-12-06" {
		t.Fatalf("batch version %q", res.hdr.Get("x-ms-version"))
	}
}

// TestBatchContainerScope: a container-scoped batch serves its container's blobs and
// refuses, whole, one that names a blob elsewhere.
func TestBatchContainerScope(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.container(t, "bbb")
	e.put(t, "aaa/x", "1", nil)
	e.put(t, "bbb/y", "2", nil)
	subs, _ := e.submit(t, "/"+account+"/aaa?restype=container&comp=batch", batchBody(del("aaa/x")))
	wantSub(t, subs[0], "0", http.StatusAccepted, "")
	e.put(t, "aaa/x", "1", nil)
	subs, _ = e.submit(t, "/"+account+"/aaa?restype=container&comp=batch", batchBody(del("aaa/x"), del("bbb/y")))
	if len(subs) != 1 {
		t.Fatalf("%d parts", len(subs))
	}
	wantSub(t, subs[0], "", http.StatusBadRequest, "InvalidInput")
	if !e.exists(t, "aaa/x") || !e.exists(t, "bbb/y") {
		t.Fatal("a refused batch deleted a blob")
	}
}

// scopedAuth allows deletes in some containers only, and checks tokens as fakeAuth does.
type scopedAuth struct {
	fakeAuth
	deletable map[string]bool
}

func (s *scopedAuth) Authorize(ctx context.Context, r *http.Request, req blobapi.AccessRequest) error {
	if err := s.fakeAuth.Authorize(ctx, r, req); err != nil {
		return err
	}
	if req.Action == blobapi.ActionBlobsDelete && !s.deletable[req.Container] {
		return lanyard.Errorf(lanyard.KindPermissionDenied, "denied").WithCode("AuthorizationPermissionMismatch")
	}
	return nil
}

func (s *scopedAuth) Authenticate(ctx context.Context, r *http.Request, req blobapi.AccessRequest) (context.Context, error) {
	return s.fakeAuth.Authenticate(ctx, r, req)
}

// TestBatchAuthorizesEachSubRequest: each sub-request is authorized for its own blob
// with its own token, so one batch mixes 202, 403 and 401; the batch's own token is only
// authenticated.
func TestBatchAuthorizesEachSubRequest(t *testing.T) {
	e := newEnv(t)
	auth := &scopedAuth{fakeAuth: fakeAuth{denied: map[string]bool{}}, deletable: map[string]bool{"aaa": true}}
	e.h.Auth = auth
	e.container(t, "aaa")
	e.container(t, "bbb")
	e.put(t, "aaa/x", "1", nil)
	e.put(t, "bbb/y", "2", nil)
	e.put(t, "aaa/z", "3", nil)
	e.put(t, "aaa/w", "4", nil)
	noToken := "DELETE /" + account + "/aaa/z HTTP/1.1\r\n\r\n"
	expired := strings.Replace(del("aaa/w"), "Bearer token", "Bearer expired", 1)
	subs, _ := e.submit(t, "/"+account+"/?comp=batch", batchBody(del("aaa/x"), del("bbb/y"), noToken, expired))
	wantSub(t, subs[0], "0", http.StatusAccepted, "")
	wantSub(t, subs[1], "1", http.StatusForbidden, "AuthorizationPermissionMismatch")
	wantSub(t, subs[2], "2", http.StatusUnauthorized, "NoAuthenticationInformation")
	wantSub(t, subs[3], "3", http.StatusUnauthorized, "InvalidAuthenticationInfo")
	if !strings.HasPrefix(subs[2].hdr.Get("WWW-Authenticate"), "Bearer authorization_uri="+authURI) {
		t.Fatalf("challenge %q", subs[2].hdr.Get("WWW-Authenticate"))
	}
	if e.exists(t, "aaa/x") || !e.exists(t, "bbb/y") || !e.exists(t, "aaa/z") || !e.exists(t, "aaa/w") {
		t.Fatal("deleted what was not allowed, or not what was")
	}
	var scopes []string
	auth.mu.Lock()
	for _, r := range auth.requests {
		if r.Action == blobapi.ActionBlobsDelete {
			scopes = append(scopes, r.Scope)
		}
	}
	auth.mu.Unlock()
	want := []string{"blobServices/default/containers/aaa/blobs/x", "blobServices/default/containers/bbb/blobs/y",
		"blobServices/default/containers/aaa/blobs/z", "blobServices/default/containers/aaa/blobs/w"}
	// Sub-requests run concurrently: compare as sets.
	slices.Sort(scopes)
	slices.Sort(want)
	if strings.Join(scopes, " ") != strings.Join(want, " ") {
		t.Fatalf("authorized scopes %q, want %q", scopes, want)
	}
}

// TestBatchRefusedWhole: what is wrong with the batch body is answered 202 with a single
// part, without Content-ID, carrying the 400, as Azure does; nothing runs.
func TestBatchRefusedWhole(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.put(t, "aaa/x", "1", nil)
	many := make([]string, 257)
	for i := range many {
		many[i] = del("aaa/x")
	}
	jsFramed := "--" + boundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 0\r\n\r\n" +
		"GET /" + account + "/aaa/x HTTP/1.1\r\nAuthorization: Bearer token\r\n\r\n--" + boundary + "--\r\n"
	part := func(hdr, sub string) string {
		return "--" + boundary + "\r\n" + hdr + "\r\n" + sub + "\r\n--" + boundary + "--\r\n"
	}
	tests := []struct {
		name, body, code string
	}{
		{"mixed operations", batchBody(del("aaa/x"), tier("aaa/x", "Cool")), "AllBatchSubRequestsShouldBeSameApi"},
		{"257 sub-requests", batchBody(many...), "ExceedsMaxBatchRequestCount"},
		{"Get Blob", jsFramed, "InvalidInput"},
		{"Put Blob", batchBody("PUT /" + account + "/aaa/x HTTP/1.1\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 1\r\n\r\n1"), "InvalidInput"},
		{"Delete Container", batchBody("DELETE /" + account + "/aaa?restype=container HTTP/1.1\r\n\r\n"), "InvalidInput"},
		{"another account", batchBody(strings.Replace(del("aaa/x"), account, "other", 1)), "InvalidInput"},
		{"absolute URI", batchBody("DELETE https://example.com/" + account + "/aaa/x HTTP/1.1\r\n\r\n"), "InvalidInput"},
		{"container, no blob", batchBody("DELETE /" + account + " HTTP/1.1\r\n\r\n"), "InvalidInput"},
		{"no sub-requests", "--" + boundary + "--\r\n", "InvalidInput"},
		{"not multipart", "hello", "InvalidInput"},
		{"no Content-ID", part("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n", del("aaa/x")), "InvalidInput"},
		{"Content-ID not a number", part("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: x\r\n", del("aaa/x")), "InvalidInput"},
		{"part not application/http", part("Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 0\r\n", del("aaa/x")), "InvalidInput"},
		{"part base64", part("Content-Type: application/http\r\nContent-Transfer-Encoding: base64\r\nContent-ID: 0\r\n", del("aaa/x")), "InvalidInput"},
		{"part too large", batchBody(del("aaa/x", "x-ms-pad: "+strings.Repeat("p", 70<<10))), "InvalidInput"},
		{"not HTTP", batchBody("hello\r\n\r\n"), "InvalidInput"},
		{"chunked", batchBody("DELETE /" + account + "/aaa/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs, res := e.submit(t, "/"+account+"/?comp=batch", tt.body)
			if len(subs) != 1 {
				t.Fatalf("%d parts", len(subs))
			}
			wantSub(t, subs[0], "", http.StatusBadRequest, tt.code)
			if subs[0].hdr.Get("x-ms-request-id") != res.hdr.Get("x-ms-request-id") {
				t.Fatal("a batch's refusal carries another request id than the batch")
			}
			if !e.exists(t, "aaa/x") {
				t.Fatal("a refused batch deleted a blob")
			}
		})
	}
}

// TestBatchJSFraming: the JavaScript SDK ends each part with the embedded request's last
// header line (the blank line is the boundary's CRLF) and writes no Content-Length.
func TestBatchJSFraming(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.put(t, "aaa/x", "1", nil)
	e.put(t, "aaa/y", "1", nil)
	e.put(t, "aaa/z", "1", nil)
	// Its BlobBatchClient for a path-style service URL posts a container-scoped batch
	// without a container: served as the account's.
	subs, _ := e.submit(t, "/"+account+"?restype=container&comp=batch", batchBody(del("aaa/z")))
	wantSub(t, subs[0], "0", http.StatusAccepted, "")
	var b strings.Builder
	for i, name := range []string{"x", "y"} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n"+
			"DELETE /%s/aaa/%s HTTP/1.1\r\nauthorization: Bearer token\r\nx-ms-client-request-id: c%d\r\n\r\n", boundary, i, account, name, i)
	}
	b.WriteString("--" + boundary + "--\r\n")
	subs, _ = e.submit(t, "/"+account+"/?comp=batch", b.String())
	wantSub(t, subs[0], "0", http.StatusAccepted, "")
	wantSub(t, subs[1], "1", http.StatusAccepted, "")
	if subs[1].hdr.Get("x-ms-client-request-id") != "c1" {
		t.Fatalf("client request id %q", subs[1].hdr.Get("x-ms-client-request-id"))
	}
	if e.exists(t, "aaa/x") || e.exists(t, "aaa/y") {
		t.Fatal("not deleted")
	}
}

// TestBatchSetTier: each Set Blob Tier sub-request is served, and authorized, as Set Blob
// Tier is on its own.
func TestBatchSetTier(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.put(t, "aaa/x", "1", nil)
	e.put(t, "aaa/y", "1", nil)
	subs, _ := e.submit(t, "/"+account+"/?comp=batch", batchBody(tier("aaa/x", "Cool"), tier("aaa/y", "Archive"),
		tier("aaa/none", "Cool"), tier("aaa/x", "Premium")))
	wantSub(t, subs[0], "0", http.StatusOK, "")
	wantSub(t, subs[1], "1", http.StatusOK, "")
	wantSub(t, subs[2], "2", http.StatusNotFound, "BlobNotFound")
	wantSub(t, subs[3], "3", http.StatusBadRequest, "InvalidHeaderValue")
	for path, want := range map[string]string{"aaa/x": "Cool", "aaa/y": "Archive"} {
		if got := e.must(t, req{method: "HEAD", path: "/" + account + "/" + path}, http.StatusOK).hdr.Get("x-ms-access-tier"); got != want {
			t.Fatalf("%s tier %q after the batch; want %s", path, got, want)
		}
	}
	// Each sub-request is authorized for its own blob, as a write.
	e.auth.denied[blobapi.ActionBlobsWrite] = true
	subs, _ = e.submit(t, "/"+account+"/?comp=batch", batchBody(strings.Replace(tier("aaa/x", "Hot"), "Bearer token", "Bearer limited", 1)))
	wantSub(t, subs[0], "0", http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// TestBatchRequestErrors: what is wrong with the batch request itself is answered as any
// request's error, before its body is read.
func TestBatchRequestErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	body := batchBody(del("aaa/x"))
	svc := "/" + account + "/?comp=batch"
	r := batchReq(svc, body)
	r.noAuth = true
	e.fails(t, r, http.StatusUnauthorized, "NoAuthenticationInformation")
	r = batchReq(svc, body)
	r.hdr["Authorization"] = "Bearer expired"
	e.fails(t, r, http.StatusUnauthorized, "InvalidAuthenticationInfo")
	r = batchReq(svc, body)
	r.hdr["Content-Type"] = "application/xml"
	e.fails(t, r, http.StatusBadRequest, "InvalidHeaderValue")
	// A multipart/mixed batch without a usable boundary is answered as a batch, with one
	// part carrying the 400, as Azure does.
	for ct, code := range map[string]string{"multipart/mixed": "InvalidHeaderValue", "multipart/mixed; boundary=": "InvalidHeaderValue",
		"multipart/mixed; boundary=a; boundary=b": "InvalidInput"} {
		r = batchReq(svc, body)
		r.hdr["Content-Type"] = ct
		subs, _ := e.submitReq(t, r)
		if len(subs) != 1 {
			t.Fatalf("%q: %d parts", ct, len(subs))
		}
		wantSub(t, subs[0], "", http.StatusBadRequest, code)
	}
	r = batchReq(svc, body)
	r.hdr["Content-Type"] = ""
	e.fails(t, r, http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, batchReq(svc, strings.Repeat("x", 4<<20+1)), http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	e.fails(t, req{method: http.MethodGet, path: svc}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	e.fails(t, req{method: http.MethodPut, path: "/" + account + "/aaa?restype=container&comp=batch"}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	subs, _ := e.submit(t, "/"+account+"/nope?restype=container&comp=batch", batchBody(del("nope/x")))
	wantSub(t, subs[0], "0", http.StatusNotFound, "ContainerNotFound")
}

// TestBatchPythonBoundary: a boundary with '=' unquoted, as azure-core for Python writes the
// one its email package makes, is a batch like any other; a boundary named twice is not.
func TestBatchPythonBoundary(t *testing.T) {
	e := newEnv(t)
	e.container(t, "aaa")
	e.put(t, "aaa/x", "data", nil)
	const pyBoundary = "===============5350051331357032302=="
	body := strings.ReplaceAll(batchBody(del("aaa/x")), boundary, pyBoundary)
	r := batchReq("/"+account+"/?comp=batch", body)
	r.hdr["Content-Type"] = "multipart/mixed; boundary=" + pyBoundary
	e.must(t, r, http.StatusAccepted)
	e.fails(t, req{method: http.MethodHead, path: "/" + account + "/aaa/x"}, http.StatusNotFound, "BlobNotFound")
	r.hdr["Content-Type"] = "multipart/mixed; boundary=a; boundary=" + pyBoundary
	subs, _ := e.submitReq(t, r)
	wantSub(t, subs[0], "", http.StatusBadRequest, "InvalidInput")
}
