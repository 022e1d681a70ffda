package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/durable"
)

const (
	// serverValidity stays under the 398 days Apple platforms accept for TLS leaves.
	serverValidity = 365 * 24 * time.Hour
	// renewBefore is how long before expiry a cached leaf is replaced.
	renewBefore = 30 * 24 * time.Hour
)

// defaultNames are always in the server certificate: local clients reach Lanyard by them.
var defaultNames = []string{"localhost", "127.0.0.1", "::1"}

// ServerCertificate returns a TLS server certificate signed by the CA, valid for the DNS
// names and IP addresses in names plus localhost, 127.0.0.1 and ::1.
//
// The leaf is cached in the data directory and reused while it covers every name, was
// signed by this CA and has more than 30 days left, so a restart costs two file reads
// rather than a key generation.
func (ca *CA) ServerCertificate(names []string, now time.Time) (tls.Certificate, error) {
	dnsNames, ips, err := normalizeNames(append(slices.Clone(defaultNames), names...))
	if err != nil {
		return tls.Certificate{}, err
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.cachedServerCertificate(dnsNames, ips, now); ok {
		return c, nil
	}
	certPEM, keyPEM, err := ca.issueServer(dnsNames, ips, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Key first, so a crash between the writes leaves a mismatched pair, which the cache
	// check rejects, rather than a certificate whose key is missing.
	if err := durable.WriteFile(filepath.Join(ca.dir, ServerKeyFile), keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := durable.WriteFile(filepath.Join(ca.dir, ServerCertFile), certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: loading new server certificate: %w", err)
	}
	return c, nil
}

// cachedServerCertificate returns the leaf on disk when it is still good for dnsNames
// and ips at now. Any problem with it is a cache miss, never an error: it is rewritten.
func (ca *CA) cachedServerCertificate(dnsNames []string, ips []net.IP, now time.Time) (tls.Certificate, bool) {
	certPEM, err := os.ReadFile(filepath.Join(ca.dir, ServerCertFile))
	if err != nil {
		return tls.Certificate{}, false
	}
	keyPEM, err := readPrivateFile(filepath.Join(ca.dir, ServerKeyFile))
	if err != nil {
		return tls.Certificate{}, false
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM) // also checks that the key matches
	if err != nil || c.Leaf == nil {
		return tls.Certificate{}, false
	}
	leaf := c.Leaf
	if leaf.CheckSignatureFrom(ca.cert) != nil {
		return tls.Certificate{}, false // issued by an earlier CA
	}
	if now.Before(leaf.NotBefore) || !now.Add(renewBefore).Before(leaf.NotAfter) {
		return tls.Certificate{}, false
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return tls.Certificate{}, false
	}
	for _, n := range dnsNames {
		if !slices.Contains(leaf.DNSNames, n) {
			return tls.Certificate{}, false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return tls.Certificate{}, false
		}
	}
	return c, true
}

func (ca *CA) issueServer(dnsNames []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generating server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: dnsNames[0], Organization: []string{"Lanyard"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(serverValidity),
		// ECDSA keys sign; they do not encipher, so DigitalSignature is the only usage.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: creating server certificate: %w", err)
	}
	keyPEM, err = marshalKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEMOf(der), keyPEM, nil
}

// normalizeNames splits names into DNS names (lower case, no trailing dot) and IP
// addresses, dropping duplicates and empty entries, keeping the first-seen order.
func normalizeNames(names []string) (dnsNames []string, ips []net.IP, err error) {
	for _, raw := range names {
		n := strings.TrimSpace(raw)
		if n == "" {
			continue
		}
		// Accept the bracketed IPv6 form people copy from URLs.
		if strings.HasPrefix(n, "[") && strings.HasSuffix(n, "]") {
			n = n[1 : len(n)-1]
		}
		if hostPort, ok := hostWithPort(n); ok {
			if !slices.Contains(dnsNames, hostPort) {
				dnsNames = append(dnsNames, hostPort)
			}
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if !validDNSName(n) {
			return nil, nil, fmt.Errorf("pki: %q is neither an IP address nor a valid DNS name", raw)
		}
		if !slices.Contains(dnsNames, n) {
			dnsNames = append(dnsNames, n)
		}
	}
	return dnsNames, ips, nil
}

// hostWithPort accepts "host:port" (a valid DNS name or IPv4 address, and a port), kept as
// a DNS name of its own. Clients that take a namespace's host:port as their TLS server name
// (go-amqp, under azservicebus given "localhost:5671") are then verified: Go matches a
// name that is not a valid host name only exactly, and this one is.
func hostWithPort(n string) (string, bool) {
	host, port, err := net.SplitHostPort(n)
	if err != nil || strings.Contains(host, ":") {
		return "", false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return "", false
	}
	host = strings.ToLower(host)
	if net.ParseIP(host) == nil && !validDNSName(host) {
		return "", false
	}
	return host + ":" + port, true
}

// validDNSName accepts host names, with an optional leading "*." wildcard label.
func validDNSName(n string) bool {
	if len(n) == 0 || len(n) > 253 {
		return false
	}
	n = strings.TrimPrefix(n, "*.")
	for label := range strings.SplitSeq(n, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
