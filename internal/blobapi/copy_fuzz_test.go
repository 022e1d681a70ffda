package blobapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzCopySource: whatever x-ms-copy-source and x-ms-copy-source-authorization say, a
// copy is answered below 500 (or 501 for what is not served), and succeeds only for a source URL on the request's own
// host that names the source blob.
func FuzzCopySource(f *testing.F) {
	e := newEnv(f)
	ctx := f.Context()
	if _, err := e.svc.CreateContainer(ctx, account, "box", nil); err != nil {
		f.Fatal(err)
	}
	host := strings.TrimPrefix(e.srv.URL, "https://")
	for _, s := range []string{
		e.srv.URL + "/" + account + "/box/src", e.srv.URL + "/" + account + "/box/src?sv=1&sig=x", e.srv.URL + "/" + account + "/src",
		"https://evil.example/" + account + "/box/src", "http://" + host + "/" + account + "/box/src#f", "https://u:p@" + host + "/a/b/c",
		"https://" + host + "/%zz", "https://" + host, "/" + account + "/box/src", "", "https://" + host + "/" + account + "/box/src?snapshot=1",
	} {
		f.Add(s, "")
		f.Add(s, "Bearer token")
	}
	src := httptest.NewRequest(http.MethodPut, "/"+account+"/box/src", strings.NewReader("data"))
	src.Header.Set("Authorization", "Bearer token")
	src.Header.Set("x-ms-version", "2026-12-06")
	src.Header.Set("x-ms-blob-type", "BlockBlob")
	src.Host = host
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, src)
	if rec.Code != http.StatusCreated {
		f.Fatalf("put source: %d %s", rec.Code, rec.Body)
	}
	f.Fuzz(func(t *testing.T, source, sourceAuth string) {
		r := httptest.NewRequest(http.MethodPut, "/"+account+"/box/dst", nil)
		r.Host = host
		r.Header.Set("Authorization", "Bearer token")
		r.Header.Set("x-ms-version", "2026-12-06")
		r.Header["X-Ms-Copy-Source"] = []string{source}
		if sourceAuth != "" {
			r.Header["X-Ms-Copy-Source-Authorization"] = []string{sourceAuth}
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("source %q: %d %s", source, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusAccepted {
			u, err := url.Parse(source)
			if err != nil || !strings.EqualFold(u.Host, host) {
				t.Fatalf("copied from %q, not this host", source)
			}
		}
	})
}
