package blobapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", nil)
	cases := []struct {
		r      req
		status int
		code   string
	}{
		{req{method: "GET", path: "/nobody?comp=list"}, 404, "ResourceNotFound"},
		{req{method: "HEAD", path: "/nobody/box/b"}, 404, "ResourceNotFound"},
		{req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"x-ms-version": "2017-11-09"}}, 400, "InvalidHeaderValue"},
		{req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"x-ms-version": "latest"}}, 400, "InvalidHeaderValue"},
		{req{method: "GET", path: "/" + account + "?comp=bogus"}, 400, "InvalidQueryParameterValue"},
		{req{method: "GET", path: "/" + account + "?restype=service&comp=stats"}, 400, "InvalidQueryParameterValue"}, // served on a secondary endpoint only
		{req{method: "GET", path: "/" + account + "/box?restype=container&comp=rename"}, 501, "NotImplemented"},
		{req{method: "GET", path: "/" + account + "/box?restype=container&comp=bogus"}, 400, "InvalidQueryParameterValue"},
		{req{method: "GET", path: "/" + account + "/box/b?comp=tier"}, 405, "UnsupportedHttpVerb"},
		{req{method: "PUT", path: "/" + account + "/box/b?comp=expiry"}, 501, "NotImplemented"},
		{req{method: "PUT", path: "/" + account + "/box/b?comp=incrementalcopy"}, 501, "NotImplemented"},
		{req{method: "HEAD", path: "/" + account + "/box/b?comp=lease"}, 405, "UnsupportedHttpVerb"},
		{req{method: "GET", path: "/" + account + "/box/b?comp=bogus"}, 400, "InvalidQueryParameterValue"},
		{req{method: "GET", path: "/" + account + "/box/b?versionid=2024-01-01T00:00:00Z"}, 404, "BlobNotFound"},
		{req{method: "GET", path: "/" + account + "/box/b?versionid=2024-01-01T00:00:00Z&comp=blocklist"}, 404, "BlobNotFound"},
		{req{method: "GET", path: "/" + account + "/box/b?versionid=2024-01-01T00:00:00Z&comp=copy"}, 501, "NotImplemented"},
		{req{method: "PUT", path: "/" + account + "/box/b?versionid=2024-01-01T00:00:00Z&comp=metadata"}, 400, "InvalidQueryParameterValue"},
		{req{method: "GET", path: "/" + account + "/box/b?versionid=soon"}, 400, "InvalidQueryParameterValue"},
		{req{method: "DELETE", path: "/" + account + "/box/b?versionid=2024-01-01T00:00:00Z&deletetype=permanent"}, 501, "NotImplemented"},
		{req{method: "GET", path: "/" + account + "/box/b?restype=container"}, 400, "InvalidQueryParameterValue"},
		{req{method: "POST", path: "/" + account + "/box/b"}, 405, "UnsupportedHttpVerb"},
		{req{method: "PATCH", path: "/" + account + "/box?restype=container"}, 405, "UnsupportedHttpVerb"},
		{req{method: "GET", path: "/" + account + "//b"}, 400, "InvalidUri"},
		{req{method: "GET", path: "/" + account + "/b"}, 404, "ContainerNotFound"}, // blob b of $root
		{req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"If-Unmodified-Since": "Mon, 02 Jan 2006 15:04:05 GMT", "If-Match": `"nope"`}}, 412, "ConditionNotMet"},
	}
	for _, c := range cases {
		e.fails(t, c.r, c.status, c.code)
	}
	// Newer versions than known are served, and echoed.
	res := e.must(t, req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"x-ms-version": "2099-01-01", "x-ms-client-request-id": "abc"}}, 200)
	if res.hdr.Get("x-ms-version") != "2099-01-01" || res.hdr.Get("x-ms-client-request-id") != "abc" {
		t.Fatalf("version echo %v", res.hdr)
	}
	res = e.must(t, req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"x-ms-version": ""}}, 200)
	if res.hdr.Get("x-ms-version") == "" {
		t.Fatal("no x-ms-version answered")
	}
	// Blobs in $root are addressed without a container segment.
	e.container(t, "$root")
	e.put(t, "top", "t", nil)
	if res := e.must(t, req{method: "GET", path: "/" + account + "/$root/top"}, 200); res.body != "t" {
		t.Fatal("$root blob")
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	e.auth.panics = true
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/"+account+"?comp=list", nil)
	r.Header.Set("Authorization", "Bearer t")
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusInternalServerError || w.Header().Get("x-ms-error-code") != "InternalError" {
		t.Fatalf("panic answered %d %q", w.Code, w.Header().Get("x-ms-error-code"))
	}
	if strings.Contains(w.Body.String(), "exploded") {
		t.Fatalf("panic detail leaked: %s", w.Body.String())
	}
}
