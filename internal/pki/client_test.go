package pki

import (
	"crypto/x509"
	"slices"
	"testing"
	"time"
)

func TestClientCertificate(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	now := time.Now()
	c, err := ca.ClientCertificate(`app "one"`, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if leaf.Subject.CommonName != `app "one"` {
		t.Errorf("CN = %q", leaf.Subject.CommonName)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ExtKeyUsage = %v, want client auth only", leaf.ExtKeyUsage)
	}
	if got := leaf.NotAfter.Sub(now); got > ClientCertificateValidity {
		t.Errorf("valid for %v, more than %v", got, ClientCertificateValidity)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err != nil {
		t.Errorf("does not verify against the CA: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now.Add(ClientCertificateValidity + time.Minute)}); err == nil {
		t.Error("still verifies after its validity")
	}
	if _, err := ca.ClientCertificate("", now); err == nil {
		t.Error("issued a certificate without a name")
	}
}
