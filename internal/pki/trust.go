package pki

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/lanyard-id/lanyard/internal/durable"
)

// systemBundles are where Linux distributions and macOS keep the system root
// certificates as one PEM file, in the order Go's crypto/x509 looks for them. The first
// one present is used. A variable so tests can point it elsewhere.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // macOS, Alpine, FreeBSD
}

// WriteTrustBundle writes to path the system root certificates followed by caPEM, so a
// process started with SSL_CERT_FILE=path (Go, OpenSSL, Python, curl) trusts both the
// public internet and Lanyard. SSL_CERT_FILE replaces the system roots rather than adding
// to them, hence the copy. When no system bundle is found the file holds just caPEM.
// A file that already holds exactly that is not rewritten.
func WriteTrustBundle(path string, caPEM []byte) error {
	if _, err := parseCertPEM(caPEM); err != nil {
		return fmt.Errorf("pki: trust bundle: the CA certificate is not valid PEM: %w", err)
	}
	var buf bytes.Buffer
	system, err := readSystemBundle()
	if err != nil {
		return err
	}
	if len(system) > 0 {
		buf.Write(system)
		if !bytes.HasSuffix(system, []byte("\n")) {
			buf.WriteByte('\n')
		}
	}
	buf.WriteString("# Lanyard Local CA\n")
	buf.Write(caPEM)
	if !bytes.HasSuffix(caPEM, []byte("\n")) {
		buf.WriteByte('\n')
	}
	// Every start calls this: leave a bundle that is already right alone, so that a
	// restart on a full disk (to delete data and free space) does not fail here.
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, buf.Bytes()) {
		if info, err := os.Stat(path); err == nil && (runtime.GOOS == "windows" || info.Mode().Perm() == 0o644) {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pki: trust bundle: %w", err)
	}
	return durable.WriteFile(path, buf.Bytes(), 0o644)
}

func readSystemBundle() ([]byte, error) {
	for _, p := range systemBundles {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(bytes.TrimSpace(data)) == 0) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pki: reading system certificates: %w", err)
		}
		return data, nil
	}
	return nil, nil
}
