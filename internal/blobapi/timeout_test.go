package blobapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/httplimit"
)

// A body withheld past the stall deadline is answered in Azure's shape for a client too
// slow: 500 OperationTimedOut, which the SDKs retry.
func TestWithheldBodyTimesOut(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	srv := httptest.NewUnstartedServer(httplimit.Limits{BodyStall: 300 * time.Millisecond}.Handler(e.h))
	srv.StartTLS()
	t.Cleanup(srv.Close)

	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	go func() { _, _ = pw.Write([]byte("0123456789")) }() // 90 of 100 bytes withheld
	hr, err := http.NewRequest("PUT", srv.URL+"/"+account+"/box/b", pr)
	if err != nil {
		t.Fatal(err)
	}
	hr.ContentLength = 100
	hr.Header.Set("Authorization", "Bearer token")
	hr.Header.Set("x-ms-version", "2026-12-06")
	hr.Header.Set("x-ms-blob-type", "BlockBlob")
	client := srv.Client()
	client.Timeout = 20 * time.Second // far above the deadline under test
	res, err := client.Do(hr)
	if err != nil {
		t.Fatalf("no answer to a withheld body: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || res.Header.Get("x-ms-error-code") != "OperationTimedOut" {
		t.Fatalf("status %d, x-ms-error-code %q; want 500 OperationTimedOut", res.StatusCode, res.Header.Get("x-ms-error-code"))
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/box/b"}, http.StatusNotFound, "BlobNotFound")
}
