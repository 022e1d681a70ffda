// Package pki is Lanyard's own certificate authority. The Azure SDKs speak only https to
// an authority host, so Lanyard issues its TLS server certificate from a local CA that
// clients are told to trust (directly, or through the bundle WriteTrustBundle writes).
//
// Files in the data directory:
//
//	ca.pem          the CA certificate (0644), the thing clients trust
//	ca-key.pem      its private key, PKCS#8 (0600)
//	server.pem      cached server certificate (0644)
//	server-key.pem  its private key (0600)
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/durable"
)

// File names inside the data directory.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
)

const (
	caValidity = 10 * 365 * 24 * time.Hour
	// backdate absorbs clock skew between Lanyard and its clients.
	backdate = 5 * time.Minute
)

// CA is a loaded certificate authority. It is safe for concurrent use.
type CA struct {
	dir     string
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	pool    *x509.CertPool

	mu sync.Mutex // serialises ServerCertificate's cache reads and writes
}

// LoadOrCreateCA loads the CA from dir, creating the directory (0700) and a new ECDSA
// P-256 CA valid for ten years when there is none.
func LoadOrCreateCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: creating data directory: %w", err)
	}
	certPath := filepath.Join(dir, CACertFile)
	certPEM, err := os.ReadFile(certPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A key without a certificate is the leftover of an interrupted creation and is
		// useless on its own: create both afresh.
		if err := createCA(dir, time.Now()); err != nil {
			return nil, err
		}
		certPEM, err = os.ReadFile(certPath)
		if err != nil {
			return nil, fmt.Errorf("pki: reading CA certificate: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("pki: reading CA certificate: %w", err)
	}
	return loadCA(dir, certPEM, time.Now())
}

func loadCA(dir string, certPEM []byte, now time.Time) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", certPath, err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", certPath)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("pki: the CA certificate %s expired on %s; remove %s and %s to create a new CA (clients must then trust the new one)",
			certPath, cert.NotAfter.Format(time.DateOnly), CACertFile, CAKeyFile)
	}
	keyPEM, err := readPrivateFile(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := parseECKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("pki: %s does not belong to the certificate %s", keyPath, certPath)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{dir: dir, cert: cert, key: key, certPEM: certPEM, pool: pool}, nil
}

func createCA(dir string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: generating CA key: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	// A random suffix tells apart the CAs of different installations in trust stores.
	name := "Lanyard Local CA " + hex.EncodeToString(suffix)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Lanyard"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Only leaves below it: a leaked CA key cannot mint further CAs.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("pki: creating CA certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return err
	}
	// Key first: a certificate on disk always has its key beside it.
	if err := durable.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(dir, CACertFile), certPEMOf(der), 0o644)
}

// CertPEM returns the CA certificate in PEM form, as clients should trust it.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Certificate returns the parsed CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a new pool holding only the CA; callers may add to it.
func (ca *CA) Pool() *x509.CertPool { return ca.pool.Clone() }

func randomSerial() *big.Int {
	// 128 random bits, as the CA/Browser Forum asks (at least 64).
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0] &= 0x7f // keep it positive in DER
	return new(big.Int).SetBytes(b)
}

func certPEMOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func marshalKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseECKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PKCS#8 private key found")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, want ECDSA", k)
	}
	return ec, nil
}

// readPrivateFile reads a private key file, refusing one that others may read.
func readPrivateFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pki: private key file %s has mode %04o; it must be accessible by its owner only (chmod 600)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return data, nil
}
