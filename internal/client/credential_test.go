package client

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeCredential counts its calls and hands out numbered tokens, as an Azure SDK credential
// refreshing its token would.
type fakeCredential struct {
	calls  atomic.Int32
	scopes []string
	err    error
}

func (f *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := f.calls.Add(1)
	f.scopes = opts.Scopes
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	return azcore.AccessToken{Token: fmt.Sprintf("tok-%d", n)}, nil
}

// tlsServer starts h on loopback TLS and returns it with an HTTP client trusting it.
func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	hc, err := HTTPClient(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, hc
}

func TestAzureTokenAsksForTheManagementScopeOnEveryCall(t *testing.T) {
	var seen []string
	srv, hc := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{}`))
	})
	cred := &fakeCredential{}
	c, err := New(Config{APIURL: srv.URL, SubscriptionID: "s", Credential: AzureToken(cred), HTTP: hc})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.Do(t.Context(), "GET", "/x", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(seen, ",") != "Bearer tok-1,Bearer tok-2" {
		t.Errorf("Authorization headers %v: want a token from the credential on each call", seen)
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != ManagementScope {
		t.Errorf("scopes %v, want [%s]", cred.scopes, ManagementScope)
	}
}

func TestAzureTokenFailureIsWrappedAndNothingIsSent(t *testing.T) {
	var calls atomic.Int32
	srv, hc := tlsServer(t, func(http.ResponseWriter, *http.Request) { calls.Add(1) })
	cause := errors.New("no managed identity endpoint")
	c, err := New(Config{APIURL: srv.URL, Credential: AzureToken(&fakeCredential{err: cause}), HTTP: hc})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(t.Context(), "GET", "/x", nil, nil)
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "management API") {
		t.Errorf("Do: %v, want the credential's error wrapped", err)
	}
	if calls.Load() != 0 {
		t.Errorf("the server was called %d times without a credential", calls.Load())
	}
}

func TestReadAdminToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(path, []byte("  secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := ReadAdminToken(path); err != nil || tok != "secret" {
		t.Errorf("ReadAdminToken: %q, %v", tok, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAdminToken(empty); err == nil {
		t.Error("an empty admin credential was accepted")
	}
	if _, err := ReadAdminToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist wrapped", err)
	}
}

func TestDiscoverReadsTheChallenge(t *testing.T) {
	srv, hc := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Discover sent a credential")
		}
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://auth.example:8443/tenant-1/oauth2/authorize", error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	ch, err := Discover(t.Context(), hc, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if ch.AuthorityHost != "https://auth.example:8443" || ch.TenantID != "tenant-1" {
		t.Errorf("challenge %+v", ch)
	}
}

func TestDiscoverRefusesAServerThatIsNotLanyard(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"no challenge": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
		"200":          func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) },
		"no tenant": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://auth.example/"`)
			w.WriteHeader(http.StatusUnauthorized)
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, hc := tlsServer(t, h)
			if ch, err := Discover(t.Context(), hc, srv.URL); err == nil {
				t.Errorf("Discover accepted %+v", ch)
			}
		})
	}
}

func TestDiscoverDistrustsAnUnpinnedCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	hc, err := HTTPClient(nil) // the system roots, which do not hold httptest's CA
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(t.Context(), hc, srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Discover: %v, want a certificate error", err)
	}
}
