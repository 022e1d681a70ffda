package blobapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", nil)
	p := "/" + account + "/box/b"

	res := e.fails(t, req{method: "GET", path: p, noAuth: true}, http.StatusUnauthorized, "NoAuthenticationInformation")
	if got, want := res.hdr.Get("WWW-Authenticate"), "Bearer authorization_uri="+authURI+" resource_id=https://storage.azure.com"; got != want {
		t.Fatalf("challenge %q, want %q", got, want)
	}
	res = e.fails(t, req{method: "HEAD", path: p, noAuth: true}, http.StatusUnauthorized, "NoAuthenticationInformation")
	if res.hdr.Get("WWW-Authenticate") == "" {
		t.Fatal("HEAD 401 without challenge")
	}
	res = e.fails(t, req{method: "GET", path: p, hdr: map[string]string{"Authorization": "Bearer expired"}}, http.StatusUnauthorized, "InvalidAuthenticationInfo")
	if !strings.Contains(res.body, "<AuthenticationErrorDetail>Lifetime validation failed. The token is expired.</AuthenticationErrorDetail>") || res.hdr.Get("WWW-Authenticate") == "" {
		t.Fatalf("expired token answer %s", res.body)
	}
	for _, bad := range []string{"Bearer", "Bearer a b", "Basic dXNlcg==", "garbage"} {
		res = e.fails(t, req{method: "GET", path: p, hdr: map[string]string{"Authorization": bad}}, http.StatusBadRequest, "InvalidAuthenticationInfo")
		if res.hdr.Get("WWW-Authenticate") != "" {
			t.Fatal("challenge on a malformed header")
		}
	}
	e.fails(t, req{method: "GET", path: p, hdr: map[string]string{"Authorization": "SharedKey devstoreaccount1:c2lnbmF0dXJl"}}, http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")
	e.fails(t, req{method: "GET", path: p + "?sv=2024-01-01&sig=abc", noAuth: true}, http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")

	e.auth.denied[blobapi.ActionBlobsRead] = true
	limited := map[string]string{"Authorization": "Bearer limited"}
	e.fails(t, req{method: "GET", path: p, hdr: limited}, http.StatusForbidden, "AuthorizationPermissionMismatch")
	e.fails(t, req{method: "HEAD", path: p, hdr: limited}, http.StatusForbidden, "AuthorizationPermissionMismatch")

	// Without a challenge URI, 401s carry none.
	e.h.AuthorizationURI = ""
	res = e.fails(t, req{method: "GET", path: p, noAuth: true}, http.StatusUnauthorized, "NoAuthenticationInformation")
	if res.hdr.Get("WWW-Authenticate") != "" {
		t.Fatal("challenge without AuthorizationURI")
	}
}

func TestAccessRequests(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/dir/b", "x", nil)
	const c, b = "blobServices/default/containers/box", "blobServices/default/containers/box/blobs/dir/b"
	cases := []struct {
		r      req
		status int
		want   blobapi.AccessRequest
	}{
		{req{method: "GET", path: "/" + account + "?comp=list"}, 200, blobapi.AccessRequest{Operation: "ListContainers", Action: blobapi.ActionContainersRead}},
		{req{method: "PUT", path: "/" + account + "/box2?restype=container"}, 201, blobapi.AccessRequest{Container: "box2", Operation: "CreateContainer", Action: blobapi.ActionContainersWrite, Scope: "blobServices/default/containers/box2"}},
		{req{method: "GET", path: "/" + account + "/box?restype=container"}, 200, blobapi.AccessRequest{Container: "box", Operation: "GetContainerProperties", Action: blobapi.ActionContainersRead, Scope: c}},
		{req{method: "PUT", path: "/" + account + "/box?restype=container&comp=metadata"}, 200, blobapi.AccessRequest{Container: "box", Operation: "SetContainerMetadata", Action: blobapi.ActionContainersWrite, Scope: c}},
		{req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, 200, blobapi.AccessRequest{Container: "box", Operation: "ListBlobs", Action: blobapi.ActionBlobsRead, DataAction: true, Scope: c, SubOperation: "Blob.List"}},
		{req{method: "GET", path: "/" + account + "/box/dir/b"}, 200, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "GetBlob", Action: blobapi.ActionBlobsRead, DataAction: true, Scope: b}},
		{req{method: "HEAD", path: "/" + account + "/box/dir/b"}, 200, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "GetBlobProperties", Action: blobapi.ActionBlobsRead, DataAction: true, Scope: b}},
		{req{method: "PUT", path: "/" + account + "/box/dir/b", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}}, 201, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "PutBlob", Action: blobapi.ActionBlobsWrite, DataAction: true, Scope: b}},
		{req{method: "PUT", path: "/" + account + "/box/dir/b?comp=block&blockid=QUFB", body: "x"}, 201, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "PutBlock", Action: blobapi.ActionBlobsWrite, DataAction: true, Scope: b}},
		{req{method: "PUT", path: "/" + account + "/box/dir/b?comp=blocklist", body: "<BlockList><Latest>QUFB</Latest></BlockList>"}, 201, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "PutBlockList", Action: blobapi.ActionBlobsWrite, DataAction: true, Scope: b}},
		{req{method: "GET", path: "/" + account + "/box/dir/b?comp=blocklist"}, 200, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "GetBlockList", Action: blobapi.ActionBlobsRead, DataAction: true, Scope: b}},
		{req{method: "PUT", path: "/" + account + "/box/dir/b?comp=metadata"}, 200, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "SetBlobMetadata", Action: blobapi.ActionBlobsWrite, DataAction: true, Scope: b}},
		{req{method: "PUT", path: "/" + account + "/box/dir/b?comp=properties"}, 200, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "SetBlobProperties", Action: blobapi.ActionBlobsWrite, DataAction: true, Scope: b}},
		{req{method: "DELETE", path: "/" + account + "/box/dir/b"}, 202, blobapi.AccessRequest{Container: "box", Blob: "dir/b", Operation: "DeleteBlob", Action: blobapi.ActionBlobsDelete, DataAction: true, Scope: b}},
		{req{method: "DELETE", path: "/" + account + "/box?restype=container"}, 202, blobapi.AccessRequest{Container: "box", Operation: "DeleteContainer", Action: blobapi.ActionContainersDelete, Scope: c}},
	}
	for _, tc := range cases {
		e.must(t, tc.r, tc.status)
		tc.want.Account, tc.want.Token = account, "token"
		got := e.auth.last()
		if (got.Attributes != nil) != (tc.want.Blob != "") {
			t.Errorf("%s %s: attributes offered: %v", tc.r.method, tc.r.path, got.Attributes != nil)
		}
		got.Attributes = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tc.r.method, tc.r.path, got, tc.want)
		}
	}
}

// TestAddOnly: a principal with blobs/add/action but not blobs/write may create a blob
// with Put Blob, not replace one, and may not use blocks.
func TestAddOnly(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.auth.denied[blobapi.ActionBlobsWrite] = true
	h := map[string]string{"Authorization": "Bearer limited", "x-ms-blob-type": "BlockBlob"}
	p := "/" + account + "/box/new"
	e.must(t, req{method: "PUT", path: p, body: "x", hdr: h}, http.StatusCreated)
	e.fails(t, req{method: "PUT", path: p, body: "y", hdr: h}, http.StatusForbidden, "AuthorizationPermissionMismatch")
	if res := e.must(t, req{method: "GET", path: p}, http.StatusOK); res.body != "x" {
		t.Fatal("add-only caller replaced a blob")
	}
	h["If-None-Match"] = "*"
	e.fails(t, req{method: "PUT", path: p, body: "y", hdr: h}, http.StatusConflict, "BlobAlreadyExists")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=QUFB", body: "x", hdr: map[string]string{"Authorization": "Bearer limited"}}, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// panicReader fails the test if anything reads the body.
type panicReader struct{ t *testing.T }

func (p panicReader) Read([]byte) (int, error) {
	p.t.Error("body read before authorization")
	return 0, errors.New("read")
}

func TestRejectBeforeBody(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	for _, tc := range []struct {
		hdr    map[string]string
		path   string
		length int64
		status int
		code   string
	}{
		{map[string]string{"Expect": "100-continue"}, "/box/b", 10, 401, "NoAuthenticationInformation"},
		{map[string]string{"Authorization": "Bearer expired"}, "/box/b", 10, 401, "InvalidAuthenticationInfo"},
		{map[string]string{"Authorization": "Bearer t"}, "/box/b", 5000*1<<20 + 1, 413, "RequestBodyTooLarge"},
		{map[string]string{"Authorization": "Bearer t"}, "/box/b?comp=block&blockid=QUFB", 4000*1<<20 + 1, 413, "RequestBodyTooLarge"},
		{map[string]string{"Authorization": "Bearer t"}, "/box/b", -1, 411, "MissingContentLengthHeader"},
		{map[string]string{"Authorization": "Bearer t"}, "/nobox/b", 10, 404, "ContainerNotFound"},
		{map[string]string{"Authorization": "Bearer t", "If-None-Match": "*"}, "/box/b", 10, 201, ""},
		{map[string]string{"Authorization": "Bearer t", "If-None-Match": "*"}, "/box/b", 10, 409, "BlobAlreadyExists"},
	} {
		body := io.Reader(panicReader{t})
		if tc.status == 201 {
			body = strings.NewReader("0123456789")
		}
		r := httptest.NewRequest("PUT", "/"+account+tc.path, body)
		r.ContentLength = tc.length
		r.Header.Set("x-ms-blob-type", "BlockBlob")
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get("x-ms-error-code") != tc.code {
			t.Errorf("%v %s: %d %q, want %d %q", tc.hdr, tc.path, w.Code, w.Header().Get("x-ms-error-code"), tc.status, tc.code)
		}
	}
}
