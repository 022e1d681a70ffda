package blobapi_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	account = "devstoreaccount1"
	authURI = "https://127.0.0.1:10443/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/authorize"
)

// fakeAuth allows any token but a few magic ones, and records what it was asked.
type fakeAuth struct {
	mu       sync.Mutex
	requests []blobapi.AccessRequest
	// denied lists actions refused to the token "limited".
	denied map[string]bool
	panics bool
}

func (f *fakeAuth) Authorize(ctx context.Context, r *http.Request, req blobapi.AccessRequest) error {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if f.panics {
		panic("authorizer exploded")
	}
	switch {
	case req.Token == "":
		return lanyard.Errorf(lanyard.KindUnauthenticated, "No token.").WithCode("NoAuthenticationInformation")
	case req.Token == "expired":
		return lanyard.Errorf(lanyard.KindUnauthenticated, "Lifetime validation failed. The token is expired.").WithCode("InvalidAuthenticationInfo")
	case req.Token == "limited" && f.denied[req.Action]:
		return lanyard.Errorf(lanyard.KindPermissionDenied, "denied").WithCode("AuthorizationPermissionMismatch")
	}
	return nil
}

// Authenticate refuses what Authorize refuses for the token alone.
func (f *fakeAuth) Authenticate(ctx context.Context, r *http.Request, req blobapi.AccessRequest) (context.Context, error) {
	req.Action = ""
	return ctx, f.Authorize(ctx, r, req)
}

func (f *fakeAuth) last() blobapi.AccessRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// accounts are the accounts that exist, by name, with their SKU.
type accounts map[string]string

// AccountSKU looks names up case-insensitively, as the directory does.
func (a accounts) AccountSKU(ctx context.Context, name string) (string, bool, error) {
	sku, ok := a[strings.ToLower(name)]
	return sku, ok, nil
}

type env struct {
	t    *testing.T
	srv  *httptest.Server
	h    *blobapi.Handler
	auth *fakeAuth
	svc  *blob.Service
}

func newEnv(t testing.TB) *env { return newEnvConfig(t, blob.Config{}) }

// newEnvConfig is newEnv with the Service's clock and rehydrate delay taken from cfg.
func newEnvConfig(t testing.TB, cfg blob.Config) *env {
	dir := t.TempDir()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := blob.Open(context.Background(), blob.Config{Meta: meta, Content: content, GCInterval: -1,
		Now: cfg.Now, RehydrateDelay: cfg.RehydrateDelay, Policy: cfg.Policy})
	if err != nil {
		t.Fatal(err)
	}
	auth := &fakeAuth{denied: map[string]bool{}}
	h := &blobapi.Handler{Service: svc, Auth: auth, Accounts: accounts{account: lanyard.SKUStandardLRS}, AuthorizationURI: authURI}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	e := &env{srv: srv, h: h, auth: auth, svc: svc}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	return e
}

// req describes one request; headers default to a bearer token and a version.
type req struct {
	method, path string
	body         string
	hdr          map[string]string
	noAuth       bool
}

type resp struct {
	status int
	hdr    http.Header
	body   string
}

func (e *env) do(t *testing.T, r req) resp {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if !r.noAuth {
		hr.Header.Set("Authorization", "Bearer token")
	}
	hr.Header.Set("x-ms-version", "2026-12-06")
	for k, v := range r.hdr {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: res.StatusCode, hdr: res.Header, body: string(b)}
}

// must sends r and checks the status.
func (e *env) must(t *testing.T, r req, status int) resp {
	t.Helper()
	res := e.do(t, r)
	if res.status != status {
		t.Fatalf("%s %s: status %d, want %d\n%s\n%s", r.method, r.path, res.status, status, res.hdr.Get("x-ms-error-code"), res.body)
	}
	return res
}

// fails sends r and checks status and error code, in the header and (except for HEAD
// and 304) in the XML body.
func (e *env) fails(t *testing.T, r req, status int, code string) resp {
	t.Helper()
	res := e.must(t, r, status)
	if got := res.hdr.Get("x-ms-error-code"); got != code {
		t.Fatalf("%s %s: x-ms-error-code %q, want %q\n%s", r.method, r.path, got, code, res.body)
	}
	if r.method == http.MethodHead || status == http.StatusNotModified {
		if res.body != "" {
			t.Fatalf("%s %s: body on a bodiless error: %q", r.method, r.path, res.body)
		}
		return res
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatalf("error body is not XML: %v\n%s", err, res.body)
	}
	if x.Code != code || !strings.Contains(x.Message, "\nRequestId:"+res.hdr.Get("x-ms-request-id")+"\nTime:") {
		t.Fatalf("error body %q", res.body)
	}
	if ct := res.hdr.Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return res
}

func (e *env) container(t *testing.T, name string) {
	t.Helper()
	e.must(t, req{method: "PUT", path: "/" + account + "/" + name + "?restype=container"}, http.StatusCreated)
}

func (e *env) put(t *testing.T, path, body string, hdr map[string]string) resp {
	t.Helper()
	h := map[string]string{"x-ms-blob-type": "BlockBlob"}
	for k, v := range hdr {
		h[k] = v
	}
	return e.must(t, req{method: "PUT", path: "/" + account + "/" + path, body: body, hdr: h}, http.StatusCreated)
}
