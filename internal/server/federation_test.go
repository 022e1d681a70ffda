package server

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/pki"
)

// The client that fetches issuer metadata trusts Lanyard's CA and the extra CA file.
func TestFederationClientTrust(t *testing.T) {
	issuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(issuer.Close)
	issuerPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Certificate().Raw})
	dir := t.TempDir()
	trusted := filepath.Join(dir, "issuers.pem")
	if err := os.WriteFile(trusted, issuerPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	loopback := &federation.AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	get := func(c *http.Client) error {
		resp, err := c.Get(issuer.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	// As Lanyard's own CA (an identity trusting this Lanyard's tokens).
	c, err := federationClient(issuerPEM, "", loopback)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(c); err != nil {
		t.Errorf("Lanyard's CA is not trusted: %v", err)
	}
	// As an extra CA (a private issuer), beside an unrelated Lanyard CA.
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := ca.CertPEM()
	if c, err = federationClient(otherPEM, trusted, loopback); err != nil {
		t.Fatal(err)
	}
	if err := get(c); err != nil {
		t.Errorf("the trusted CA file is not trusted: %v", err)
	}
	if c, err = federationClient(otherPEM, "", loopback); err != nil {
		t.Fatal(err)
	}
	if err := get(c); err == nil {
		t.Error("an issuer whose CA nobody named was trusted")
	}

	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		if _, err := federationClient(otherPEM, f, loopback); err == nil {
			t.Errorf("federationClient accepted %s", f)
		}
	}
}

// The client connects to a loopback issuer only when configuration allows its network,
// whatever name leads there, and a redirect cannot lead out of what is allowed.
func TestFederationClientRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	issuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(issuer.Close)
	issuerPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Certificate().Raw})
	port := netip.MustParseAddrPort(strings.TrimPrefix(issuer.URL, "https://")).Port()
	get := func(c *http.Client, u string) error {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	refused := func(err error) bool { return err != nil && strings.Contains(err.Error(), "may not be fetched from") }

	closed, err := federationClient(issuerPEM, "", &federation.AddressPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	// localhost is a name: only the address it resolves to can be judged, as for any
	// name that a rebinding DNS server points at loopback.
	for _, u := range []string{issuer.URL, fmt.Sprintf("https://localhost:%d", port), fmt.Sprintf("https://[::ffff:127.0.0.1]:%d", port)} {
		if err := get(closed, u); !refused(err) {
			t.Errorf("GET %s without allowedIssuerNetworks: %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the issuer saw %d requests", hits.Load())
	}

	// Allowed: 127.0.0.1 only. A redirect to 127.0.0.2 is refused before connecting.
	only := &federation.AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	c, err := federationClient(issuerPEM, "", only)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(c, issuer.URL); err != nil || hits.Load() != 1 {
		t.Fatalf("allowed issuer: %v (%d requests)", err, hits.Load())
	}
	redirector := httptest.NewTLSServer(http.RedirectHandler(fmt.Sprintf("https://127.0.0.2:%d/keys", port), http.StatusFound))
	t.Cleanup(redirector.Close)
	redirPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: redirector.Certificate().Raw})
	if c, err = federationClient(append(issuerPEM, redirPEM...), "", only); err != nil {
		t.Fatal(err)
	}
	if err := get(c, redirector.URL); !refused(err) {
		t.Errorf("redirect to 127.0.0.2: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("the redirect target saw %d requests", hits.Load()-1)
	}
}
