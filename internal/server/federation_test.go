package server

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

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
	get := func(c *http.Client) error {
		resp, err := c.Get(issuer.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	// As Lanyard's own CA (an identity trusting this Lanyard's tokens).
	c, err := federationClient(issuerPEM, "")
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
	if c, err = federationClient(otherPEM, trusted); err != nil {
		t.Fatal(err)
	}
	if err := get(c); err != nil {
		t.Errorf("the trusted CA file is not trusted: %v", err)
	}
	if c, err = federationClient(otherPEM, ""); err != nil {
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
		if _, err := federationClient(otherPEM, f); err == nil {
			t.Errorf("federationClient accepted %s", f)
		}
	}
}
