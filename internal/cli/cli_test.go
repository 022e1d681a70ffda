package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/runstate"
)

// fakeAPI is a management API on loopback TLS that answers from routes ("METHOD /path",
// the query left out) and remembers what it was asked.
type fakeAPI struct {
	home   string
	mu     sync.Mutex
	calls  []string
	routes map[string]func(w http.ResponseWriter, r *http.Request)
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{home: t.TempDir(), routes: map[string]func(http.ResponseWriter, *http.Request){}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.calls = append(f.calls, key)
		h := f.routes[key]
		for route, rh := range f.routes {
			// A route ending in / takes every path below it (names made up by the CLI).
			if h == nil && strings.HasSuffix(route, "/") && strings.HasPrefix(key, route) {
				h = rh
			}
		}
		f.mu.Unlock()
		if h == nil {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"NotFound","message":"no route ` + r.URL.Path + `"}}`))
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(f.home, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.home, runstate.AdminTokenFile), []byte("admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runstate.Write(f.home, runstate.State{SubscriptionID: "sub-1", APIURL: srv.URL, CAFile: ca}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeAPI) json(route string, status int, v any) {
	f.routes[route] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

func (f *fakeAPI) called(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == route {
			n++
		}
	}
	return n
}

// run runs the command line against f and returns stdout, stderr and the exit code.
func (f *fakeAPI) run(args ...string) (string, string, int) {
	return f.runWithInput("", args...)
}

// runWithInput runs the command line with input as what the user types.
func (f *fakeAPI) runWithInput(input string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"--home", f.home}, args...), strings.NewReader(input), &out, &errOut)
	return out.String(), errOut.String(), code
}
