package client

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/runstate"
)

// serve starts a loopback TLS server with h and returns a client for it, opened from a
// data folder as the CLI opens it.
func serve(t *testing.T, h http.HandlerFunc) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	home := t.TempDir()
	ca := filepath.Join(home, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, runstate.AdminTokenFile), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runstate.Write(home, runstate.State{SubscriptionID: "sub-1", APIURL: srv.URL, CAFile: ca}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestOpenWithoutServer(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, runstate.ErrNotRunning) {
		t.Fatalf("Open of an empty folder: %v, want ErrNotRunning", err)
	}
}

func TestDoSendsCredentialAndVersionAndDecodesErrors(t *testing.T) {
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" || r.URL.Query().Get("api-version") != APIVersion {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"name":"demo"}`))
		case "/arm-error":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found."}}`))
		default:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("upstream down"))
		}
	})
	ctx := context.Background()
	var out struct{ Name string }
	if err := c.Do(ctx, "GET", "/ok", nil, &out); err != nil || out.Name != "demo" {
		t.Fatalf("GET /ok: %v, %+v", err, out)
	}
	var ce *Error
	if err := c.Do(ctx, "GET", "/arm-error", nil, nil); !errors.As(err, &ce) || ce.Status != 404 || ce.Code != "ResourceGroupNotFound" {
		t.Fatalf("ARM error: %v", err)
	}
	if err := c.Do(ctx, "GET", "/other", nil, nil); !errors.As(err, &ce) || ce.Status != 502 || ce.Code != "Bad Gateway" || ce.Message != "upstream down" {
		t.Fatalf("plain error: %v", err)
	}
}

// Delete tells a deletion (200) from nothing to delete (ARM's 204).
func TestDeleteReportsWhetherSomethingWasThere(t *testing.T) {
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/there" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	if existed, err := c.Delete(ctx, "/there"); err != nil || !existed {
		t.Errorf("Delete /there: %v, %v", existed, err)
	}
	if existed, err := c.Delete(ctx, "/gone"); err != nil || existed {
		t.Errorf("Delete /gone: %v, %v", existed, err)
	}
}

// The admin credential goes only to the server: a nextLink on another host is refused
// before any request, and pages are followed until the last.
func TestPagesFollowsOnlyTheServersNextLinks(t *testing.T) {
	var srvURL string
	c, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "":
			_, _ = w.Write([]byte(`{"value":[{"n":1}],"nextLink":"` + srvURL + `/list?page=2&api-version=x"}`))
		case "2":
			_, _ = w.Write([]byte(`{"value":[{"n":2}],"nextLink":"https://elsewhere.example/list?page=3"}`))
		}
	})
	srvURL = srv.URL
	items, err := c.List(context.Background(), "/list")
	if err == nil || !strings.Contains(err.Error(), "refusing to call https://elsewhere.example") || len(items) != 2 {
		t.Fatalf("List: %d items, %v", len(items), err)
	}
}
