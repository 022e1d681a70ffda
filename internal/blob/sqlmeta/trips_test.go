package sqlmeta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// wireCounter is a loopback proxy in front of PostgreSQL that reads the frontend side of
// the protocol and records, per round trip (a Sync or a simple Query, after which the
// client waits for ReadyForQuery), the statements sent in it.
type wireCounter struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	trips [][]string
}

func newWireCounter(t *testing.T, target string) *wireCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireCounter{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go w.accept()
	return w
}

func (w *wireCounter) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		go w.serve(c)
	}
}

func (w *wireCounter) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", w.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(client, server); client.Close() }()
	r := bufio.NewReader(client)
	// Untyped messages (SSL or GSS requests, then the startup message) come first.
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		rest := make([]byte, n-8)
		if _, err := io.ReadFull(r, rest); err != nil {
			return
		}
		if _, err := server.Write(append(hdr[:], rest...)); err != nil {
			return
		}
		if binary.BigEndian.Uint32(hdr[4:]) == 196608 { // protocol 3.0: the startup message
			break
		}
	}
	stmts := map[string]string{} // prepared statement name → text
	var cur []string
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint32(hdr[1:]))-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		cstr := func(b []byte) (string, []byte) {
			i := bytes.IndexByte(b, 0)
			return string(b[:i]), b[i+1:]
		}
		switch hdr[0] {
		case 'P': // Parse: name, query
			name, rest := cstr(body)
			q, _ := cstr(rest)
			stmts[name] = q
			cur = append(cur, "parse: "+oneLine(q))
		case 'B': // Bind: portal, statement
			_, rest := cstr(body)
			name, _ := cstr(rest)
			cur = append(cur, oneLine(stmts[name]))
		case 'Q':
			q, _ := cstr(body)
			cur = append(cur, oneLine(q))
		}
		if hdr[0] == 'S' || hdr[0] == 'Q' {
			w.mu.Lock()
			w.trips = append(w.trips, cur)
			w.mu.Unlock()
			cur = nil
		}
		if _, err := server.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// take returns the round trips recorded since the last call.
func (w *wireCounter) take() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.trips
	w.trips = nil
	return t
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, *http.Request, blobapi.AccessRequest) error { return nil }
func (allowAll) Authenticate(ctx context.Context, _ *http.Request, _ blobapi.AccessRequest) (context.Context, error) {
	return ctx, nil
}
func (allowAll) AccountSKU(context.Context, string) (string, bool, error) {
	return "Standard_LRS", true, nil
}

// TestBlobRoundTripsPostgres counts the round trips to PostgreSQL of the small Blob
// operations, end to end through the Blob HTTP handler: what the Azure SDK's UploadBuffer
// (one Put Blob) and DownloadBuffer (Get Blob Properties, then a ranged Get Blob) send; on
// a node that owns the blob metadata (see blobOwner) and on one that does not.
func TestBlobRoundTripsPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skip("LANYARD_TEST_POSTGRES is not a URL")
	}
	wc := newWireCounter(t, u.Host)
	u.Host = wc.ln.Addr().String()
	s := openPostgres(t, u.String())

	// Not the owner: the Put Blob precheck, then one statement to read the blob and one
	// to write it (with its guard), committed on its own; a Get Blob request, one
	// statement (two when the blob is missing: is its container?).
	roundTrips(t, s, wc, ownerTiming{}, "ctr1", []int{3, 3, 2, 2, 2})
	// The owner answers the precheck and the reads of a blob it wrote or read from memory,
	// creates a blob it does not remember with one INSERT, and overwrites one it remembers
	// with one UPDATE conditional on the version it remembers.
	roundTrips(t, s, wc, testOwnerTiming, "ctr2", []int{1, 1, 0, 0, 2})
}

func roundTrips(t *testing.T, s *sqlstore.Store, wc *wireCounter, timing ownerTiming, ctr string, want []int) {
	content, err := fscontent.Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	m := newBlobMeta(s.Handle(), timing)
	svc, err := blobs.Open(t.Context(), blobs.Config{Meta: m, Content: content, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if timing.lease != 0 {
		waitOwner(t, m)
	}
	srv := httptest.NewServer(&blobapi.Handler{Service: svc, Auth: allowAll{}, Accounts: allowAll{}})
	defer srv.Close()
	if _, err := svc.CreateContainer(t.Context(), "acct", ctr, nil); err != nil {
		t.Fatal(err)
	}

	do := func(method, name string, hdr map[string]string, body string, status int) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/acct/"+ctr+"/"+name, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("x-ms-version", "2025-01-05")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %s, want %d", method, name, resp.Status, status)
		}
	}
	body := strings.Repeat("x", 1024)
	put := func(name string) {
		do(http.MethodPut, name, map[string]string{"x-ms-blob-type": "BlockBlob"}, body, http.StatusCreated)
	}
	head := func(name string, status int) { do(http.MethodHead, name, nil, "", status) }
	get := func(name string) {
		head(name, http.StatusOK)
		do(http.MethodGet, name, map[string]string{"x-ms-range": "bytes=0-1023"}, "", http.StatusPartialContent)
	}
	// Warm up: each connection prepares a statement on its first use.
	for i := range 10 {
		put(fmt.Sprint("warm", i))
		put(fmt.Sprint("warm", i))
		get(fmt.Sprint("warm", i))
		head(fmt.Sprint("missing", i), http.StatusNotFound)
	}
	wc.take()

	ops := []struct {
		name string
		run  func()
	}{
		{"Put Blob, new", func() { put("new") }},
		{"Put Blob, overwrite", func() { put("new") }},
		{"Get Blob (HEAD + ranged GET)", func() { get("new") }},
		{"Get Blob again", func() { get("new") }},
		{"Get Blob Properties of a missing blob", func() { head("missing", http.StatusNotFound) }},
	}
	for i, op := range ops {
		op.run()
		n := 0
		for j, trip := range wc.take() {
			// A connection prepares a statement on its first use of it, and pings the
			// server before reuse after a second idle; neither is the operation's. Nor
			// is the owner's renewal of its lease, on a connection of its own.
			if len(trip) == 0 || strings.HasPrefix(trip[0], "parse: ") || trip[0] == "-- ping" || ownerSession(trip[0]) {
				continue
			}
			t.Logf("%s: %d: %s", op.name, j+1, strings.Join(trip, " | "))
			n++
		}
		if n != want[i] {
			t.Errorf("%s: %d round trips, want %d", op.name, n, want[i])
		}
	}
}

// ownerSession reports whether stmt is one of those blobOwner sends on its own session.
func ownerSession(stmt string) bool {
	for _, p := range []string{"UPDATE blob_cache_owner", "INSERT INTO blob_cache_owner", "SELECT until - ",
		"SELECT pg_try_advisory_lock(", "SELECT pg_advisory_lock(", "SELECT pg_advisory_unlock(", "SELECT 'lanyard_blob_owner_'", "SET lock_timeout"} {
		if strings.HasPrefix(stmt, p) {
			return true
		}
	}
	return false
}
