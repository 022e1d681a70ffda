package blobapi_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// fullContent is a content store whose disk fills up after a few bytes of each file.
type fullContent struct{ *fscontent.Store }

func (c fullContent) Create(ctx context.Context) (blob.ContentWriter, error) {
	w, err := c.Store.Create(ctx)
	if err != nil {
		return nil, err
	}
	return &fullWriter{ContentWriter: w, room: 64 << 10}, nil
}

type fullWriter struct {
	blob.ContentWriter
	room int
}

func (w *fullWriter) Write(p []byte) (int, error) {
	if len(p) > w.room {
		n, _ := w.ContentWriter.Write(p[:w.room])
		w.room = 0
		return n, blob.ErrNoSpace(syscall.ENOSPC, false)
	}
	w.room -= len(p)
	return w.ContentWriter.Write(p)
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestDiskFullAnswersServerBusy: a large Put Blob that runs out of disk gets Azure's
// retryable 503 ServerBusy, with the full error body, and not a reset connection: the
// body the server no longer needs is read and dropped after the answer.
func TestDiskFullAnswersServerBusy(t *testing.T) {
	dir := t.TempDir()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := blob.Open(t.Context(), blob.Config{Meta: meta, Content: fullContent{content}, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(&blobapi.Handler{Service: svc, Auth: &fakeAuth{}, Accounts: accounts{account: "Standard_LRS"}})
	t.Cleanup(func() { srv.Close(); svc.Close() })
	e := &env{srv: srv, svc: svc}
	e.container(t, "full")

	const size = 64 << 20 // well past what socket buffers absorb
	for i := range 2 {    // twice: the connection must be fit for reuse, or closed cleanly
		hr, err := http.NewRequest("PUT", srv.URL+"/"+account+"/full/big", io.LimitReader(zeros{}, size))
		if err != nil {
			t.Fatal(err)
		}
		hr.ContentLength = size
		hr.Header.Set("Authorization", "Bearer token")
		hr.Header.Set("x-ms-version", "2026-12-06")
		hr.Header.Set("x-ms-blob-type", "BlockBlob")
		res, err := srv.Client().Do(hr)
		if err != nil {
			t.Fatalf("attempt %d: %v (the server must answer, not reset the connection)", i, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("attempt %d: reading the answer: %v", i, err)
		}
		var x struct{ Code, Message string }
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("x-ms-error-code") != "ServerBusy" ||
			xml.Unmarshal(b, &x) != nil || x.Code != "ServerBusy" || !strings.HasPrefix(x.Message, blob.NoSpaceMessage) {
			t.Fatalf("attempt %d: %d %s %s, want 503 ServerBusy %q", i, res.StatusCode, res.Header.Get("x-ms-error-code"), b, blob.NoSpaceMessage)
		}
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/full/big"}, http.StatusNotFound, "BlobNotFound")

	// A client that reads only once it has sent everything (as some do) must still get
	// the answer. It sends slowly, so that a server that closed right after answering
	// (net/http waits 500ms) would have reset the connection under it by then.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const chunk, chunks = 1 << 20, 16
	fmt.Fprintf(conn, "PUT /%s/full/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token\r\nx-ms-version: 2026-12-06\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: %d\r\n\r\n", account, chunk*chunks)
	buf := make([]byte, chunk)
	for i := range chunks {
		if _, err := conn.Write(buf); err != nil {
			t.Fatalf("sending the body, chunk %d: %v (the server dropped the connection)", i, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("x-ms-error-code") != "ServerBusy" {
		t.Fatalf("answer %d %s, want 503 ServerBusy", res.StatusCode, res.Header.Get("x-ms-error-code"))
	}
}
