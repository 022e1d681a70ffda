package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// ClientCertificateValidity is how long a client certificate for an upstream login lasts:
// long enough for one TLS handshake, short enough that a leaked one is soon useless.
const ClientCertificateValidity = 5 * time.Minute

// ClientCertificate issues a short-lived TLS client certificate whose common name is
// name, for logging in to a PostgreSQL that trusts the CA with pg_hba method cert (which
// maps the common name to the role). Nothing is cached: each login gets its own key.
func (ca *CA) ClientCertificate(name string, now time.Time) (tls.Certificate, error) {
	if name == "" {
		return tls.Certificate{}, errors.New("pki: a client certificate needs a name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generating client key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Lanyard"}},
		// A small backdate only: the upstream is usually on the same clock.
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(ClientCertificateValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: creating client certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parsing client certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
