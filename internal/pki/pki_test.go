package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustCA(t testing.TB, dir string) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestLoadOrCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	before := time.Now()
	ca := mustCA(t, dir)

	if runtime.GOOS != "windows" {
		if m := mode(t, filepath.Join(dir, CACertFile)); m != 0o644 {
			t.Errorf("ca.pem mode = %04o, want 0644", m)
		}
		if m := mode(t, filepath.Join(dir, CAKeyFile)); m != 0o600 {
			t.Errorf("ca-key.pem mode = %04o, want 0600", m)
		}
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("data dir mode = %04o, want 0700", m)
		}
	}

	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid || !c.MaxPathLenZero || c.MaxPathLen != 0 {
		t.Errorf("CA constraints: IsCA=%v valid=%v maxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("CA lacks the certSign key usage")
	}
	if !strings.HasPrefix(c.Subject.CommonName, "Lanyard Local CA ") || len(c.Subject.CommonName) <= len("Lanyard Local CA ") {
		t.Errorf("CA name = %q", c.Subject.CommonName)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
	if got := c.NotAfter.Sub(before); got < 9*365*24*time.Hour || got > 11*365*24*time.Hour {
		t.Errorf("CA validity = %v, want about 10 years", got)
	}
	if c.NotBefore.After(before) {
		t.Error("CA NotBefore is not backdated")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}

	// CertPEM is the file's content and a copy.
	onDisk, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	p := ca.CertPEM()
	if !bytes.Equal(p, onDisk) {
		t.Error("CertPEM differs from ca.pem")
	}
	p[0] = 'X'
	if bytes.Equal(p, ca.CertPEM()) {
		t.Error("CertPEM returns the CA's own slice")
	}

	// Reloading yields the same CA.
	again := mustCA(t, dir)
	if !again.Certificate().Equal(c) {
		t.Fatal("reload created a new CA")
	}

	// A second data directory gets a different CA, told apart by name.
	other := mustCA(t, t.TempDir())
	if other.Certificate().Subject.CommonName == c.Subject.CommonName {
		t.Error("two CAs share a name")
	}
}

func TestPoolIsACopy(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	p := ca.Pool()
	other := mustCA(t, t.TempDir())
	p.AddCert(other.Certificate())
	if ca.Pool().Equal(p) {
		t.Fatal("Pool returned the CA's own pool")
	}
	want := x509.NewCertPool()
	want.AddCert(ca.Certificate())
	if !ca.Pool().Equal(want) {
		t.Fatal("Pool does not hold exactly the CA")
	}
}

func TestLoadOrCreateCARecreatesAfterInterruptedCreate(t *testing.T) {
	dir := t.TempDir()
	mustCA(t, dir)
	// Only the key survived: the CA is created anew.
	if err := os.Remove(filepath.Join(dir, CACertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateCARefuses(t *testing.T) {
	otherDir := t.TempDir()
	mustCA(t, otherDir)
	otherKey, _ := os.ReadFile(filepath.Join(otherDir, CAKeyFile))

	leafDir := t.TempDir()
	leafCA := mustCA(t, leafDir)
	leaf, err := leafCA.ServerCertificate(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := certPEMOf(leaf.Certificate[0])

	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    string
	}{
		{"key readable by others", func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "owner only"},
		{"key missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
				t.Fatal(err)
			}
		}, CAKeyFile},
		{"key of another CA", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, CAKeyFile), otherKey, 0o600) }, "does not belong"},
		{"key garbage", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, CAKeyFile), []byte("junk"), 0o600) }, "no PEM"},
		{"cert garbage", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, CACertFile), []byte("junk"), 0o644) }, "no PEM"},
		{"cert is a leaf", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, CACertFile), leafPEM, 0o644) }, "not a CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustCA(t, dir)
			tc.corrupt(t, dir)
			_, err := LoadOrCreateCA(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestExpiredCAIsRefused(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, dir)
	_, err := loadCA(dir, ca.CertPEM(), time.Now().Add(11*365*24*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("err = %v, want expiry", err)
	}
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func TestServerCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, dir)
	now := time.Now()
	c, err := ca.ServerCertificate([]string{"Lanyard.Example.", "10.1.2.3", "[fd00::1]", " ", "localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if leaf == nil {
		t.Fatal("Leaf not set")
	}
	if want := []string{"localhost", "lanyard.example"}; !slices.Equal(leaf.DNSNames, want) {
		t.Errorf("DNSNames = %v, want %v", leaf.DNSNames, want)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "::1", "10.1.2.3", "fd00::1"}; !slices.Equal(ips, want) {
		t.Errorf("IPAddresses = %v, want %v", ips, want)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("leaf key is %T, want ECDSA", leaf.PublicKey)
	}
	if got := leaf.NotAfter.Sub(now); got < 360*24*time.Hour || got > 366*24*time.Hour {
		t.Errorf("leaf validity = %v, want about a year", got)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "lanyard.example", CurrentTime: now}); err != nil {
		t.Errorf("leaf does not verify against the CA: %v", err)
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, filepath.Join(dir, ServerKeyFile)); m != 0o600 {
			t.Errorf("server-key.pem mode = %04o, want 0600", m)
		}
	}
}

func serial(t *testing.T, c tls.Certificate) string {
	t.Helper()
	return c.Leaf.SerialNumber.String()
}

func TestServerCertificateCache(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, dir)
	now := time.Now()
	first, err := ca.ServerCertificate([]string{"a.example", "10.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}

	reuse := func(t *testing.T, ca *CA, names []string, at time.Time) bool {
		t.Helper()
		c, err := ca.ServerCertificate(names, at)
		if err != nil {
			t.Fatal(err)
		}
		return serial(t, c) == serial(t, first)
	}

	// Reuse across a reload of the CA (a restart), for the same names or a subset.
	if !reuse(t, mustCA(t, dir), []string{"a.example", "10.0.0.1"}, now.Add(time.Hour)) {
		t.Error("same names after restart: leaf was not reused")
	}
	if !reuse(t, ca, nil, now.Add(24*time.Hour)) {
		t.Error("subset of names: leaf was not reused")
	}
	if !reuse(t, ca, []string{"A.EXAMPLE."}, now) {
		t.Error("same name, other spelling: leaf was not reused")
	}

	// Each of these must produce a new leaf; each case starts again from the first leaf.
	firstCert, _ := os.ReadFile(filepath.Join(dir, ServerCertFile))
	firstKey, _ := os.ReadFile(filepath.Join(dir, ServerKeyFile))
	for _, tc := range []struct {
		name  string
		names []string
		at    time.Time
		setup func(t *testing.T)
	}{
		{"new DNS name", []string{"a.example", "b.example"}, now, nil},
		{"new IP", []string{"10.0.0.2"}, now, nil},
		{"near expiry", nil, now.Add(340 * 24 * time.Hour), nil},
		{"expired", nil, now.Add(400 * 24 * time.Hour), nil},
		{"clock before NotBefore", nil, now.Add(-time.Hour), nil},
		{"corrupt certificate", nil, now, func(t *testing.T) { writeFile(t, filepath.Join(dir, ServerCertFile), []byte("junk"), 0o644) }},
		{"key missing", nil, now, func(t *testing.T) { os.Remove(filepath.Join(dir, ServerKeyFile)) }},
		{"key readable by others", nil, now, func(t *testing.T) {
			if runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			os.Chmod(filepath.Join(dir, ServerKeyFile), 0o644)
		}},
		{"key of another leaf", nil, now, func(t *testing.T) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), nil)
			p, _ := marshalKeyPEM(k)
			writeFile(t, filepath.Join(dir, ServerKeyFile), p, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(dir, ServerCertFile), firstCert, 0o644)
			writeFile(t, filepath.Join(dir, ServerKeyFile), firstKey, 0o600)
			if tc.setup != nil {
				tc.setup(t)
			}
			c, err := ca.ServerCertificate(tc.names, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if serial(t, c) == serial(t, first) {
				t.Fatal("stale leaf was reused")
			}
			// The replacement is cached in turn.
			again, err := ca.ServerCertificate(tc.names, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if serial(t, again) != serial(t, c) {
				t.Fatal("replacement leaf was not cached")
			}
		})
	}

	t.Run("issued by another CA", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, ServerCertFile), firstCert, 0o644)
		writeFile(t, filepath.Join(dir, ServerKeyFile), firstKey, 0o600)
		os.Remove(filepath.Join(dir, CACertFile))
		os.Remove(filepath.Join(dir, CAKeyFile))
		newCA := mustCA(t, dir)
		c, err := newCA.ServerCertificate(nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Leaf.CheckSignatureFrom(newCA.Certificate()); err != nil {
			t.Fatalf("leaf from the old CA was reused: %v", err)
		}
	})
}

func TestServerCertificateBadNames(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	for _, n := range []string{
		"a b", "-lead.example", "trail-.example", "a..b", "*", "a.*.example",
		"http://x", "x/y", "é.example", strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "a",
		"fe80::1%eth0", "host:0", "host:99999", "host:x", "host:05671", "a b:5671",
	} {
		if _, err := ca.ServerCertificate([]string{n}, time.Now()); err == nil {
			t.Errorf("%q: want error", n)
		}
	}
	// Wildcards are fine.
	if _, err := ca.ServerCertificate([]string{"*.lanyard.example"}, time.Now()); err != nil {
		t.Errorf("wildcard: %v", err)
	}
}

// TestHostPortNames: a host:port name is kept whole, and a client that takes it for its
// server name (go-amqp, given a namespace as localhost:5671) verifies the certificate.
func TestHostPortNames(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	c, err := ca.ServerCertificate([]string{"LOCALHOST:5671", "127.0.0.1:5671"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost:5671", "127.0.0.1:5671", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()}); err != nil {
			t.Errorf("verify as %q: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost:5672", Roots: ca.Pool()}); err == nil {
		t.Error("another port verified")
	}
}

// TestHTTPS serves with the leaf and connects with a client that trusts only the CA.
func TestHTTPS(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	cert, err := ca.ServerCertificate([]string{"lanyard.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	get := func(roots *x509.CertPool, serverName string) error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: serverName}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://127.0.0.1:" + port + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "ok" {
			return fmt.Errorf("body %q", body)
		}
		return nil
	}

	for _, name := range []string{"", "localhost", "lanyard.test"} { // "" verifies the IP SAN
		if err := get(ca.Pool(), name); err != nil {
			t.Errorf("server name %q: %v", name, err)
		}
	}
	if err := get(ca.Pool(), "other.test"); err == nil {
		t.Error("a name not in the certificate was accepted")
	}
	if err := get(x509.NewCertPool(), ""); err == nil {
		t.Error("a client that does not trust the CA connected")
	}
	if err := get(mustCA(t, t.TempDir()).Pool(), ""); err == nil {
		t.Error("a client trusting another Lanyard CA connected")
	}
}

// TestWarmStart checks that a restart with a cached leaf is fast; the whole server must
// be ready in under 300 ms.
func TestWarmStart(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, dir)
	if _, err := ca.ServerCertificate([]string{"x.test"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ca = mustCA(t, dir)
	if _, err := ca.ServerCertificate([]string{"x.test"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("warm start took %v", d)
	}
}

func BenchmarkWarmStart(b *testing.B) {
	dir := b.TempDir()
	ca := mustCA(b, dir)
	if _, err := ca.ServerCertificate(nil, time.Now()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ca, err := LoadOrCreateCA(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.ServerCertificate(nil, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkColdStart(b *testing.B) {
	for b.Loop() {
		ca, err := LoadOrCreateCA(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.ServerCertificate(nil, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func pemCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func withSystemBundles(t *testing.T, paths ...string) {
	t.Helper()
	old := systemBundles
	systemBundles = paths
	t.Cleanup(func() { systemBundles = old })
}

func TestWriteTrustBundle(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, filepath.Join(dir, "lanyard"))
	sys := mustCA(t, filepath.Join(dir, "system")) // stands in for a public root
	sysBundle := filepath.Join(dir, "system.pem")
	// No trailing newline: the bundle must still separate the two blocks.
	writeFile(t, sysBundle, bytes.TrimRight(sys.CertPEM(), "\n"), 0o644)

	t.Run("with system roots", func(t *testing.T) {
		withSystemBundles(t, filepath.Join(dir, "missing.pem"), filepath.Join(dir, "empty.pem"), sysBundle)
		writeFile(t, filepath.Join(dir, "empty.pem"), []byte("\n"), 0o644)
		out := filepath.Join(dir, "out", "bundle.pem")
		if err := WriteTrustBundle(out, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		certs := pemCerts(t, data)
		if len(certs) != 2 || !certs[0].Equal(sys.Certificate()) || !certs[1].Equal(ca.Certificate()) {
			t.Fatalf("bundle holds %d certs, want the system root then the Lanyard CA", len(certs))
		}
		if runtime.GOOS != "windows" && mode(t, out) != 0o644 {
			t.Errorf("bundle mode = %04o", mode(t, out))
		}
		// Rewriting replaces rather than appends.
		if err := WriteTrustBundle(out, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		again, _ := os.ReadFile(out)
		if !bytes.Equal(again, data) {
			t.Fatal("second write changed the bundle")
		}
		// An unchanged bundle is not written at all (on a full disk it could not be).
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := os.Chtimes(out, old, old); err != nil {
			t.Fatal(err)
		}
		if err := WriteTrustBundle(out, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(out); err != nil || !info.ModTime().Equal(old) {
			t.Fatalf("an unchanged bundle was rewritten (%v)", err)
		}
		// A changed one is.
		writeFile(t, out, []byte("stale\n"), 0o644)
		if err := WriteTrustBundle(out, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.ReadFile(out); !bytes.Equal(again, data) {
			t.Fatal("a stale bundle was not replaced")
		}
	})

	t.Run("no system roots", func(t *testing.T) {
		withSystemBundles(t, filepath.Join(dir, "missing.pem"))
		out := filepath.Join(dir, "only-ca.pem")
		if err := WriteTrustBundle(out, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		certs := pemCerts(t, data)
		if len(certs) != 1 || !certs[0].Equal(ca.Certificate()) {
			t.Fatalf("bundle holds %d certs, want just the CA", len(certs))
		}
	})

	t.Run("bad CA", func(t *testing.T) {
		for _, bad := range [][]byte{nil, []byte("junk"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")} {
			if err := WriteTrustBundle(filepath.Join(dir, "bad.pem"), bad); err == nil {
				t.Errorf("%q: want error", bad)
			}
		}
	})
}

// TestTrustBundleWithSSLCertFile runs a child process with SSL_CERT_FILE pointing at the
// bundle and the default HTTP client: Go must then trust Lanyard's server.
func TestTrustBundleWithSSLCertFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SSL_CERT_FILE is honoured by Go on Linux only (macOS uses the keychain)")
	}
	if url := os.Getenv("LANYARD_PKI_TEST_URL"); url != "" {
		return // the child runs TestTrustBundleChild instead
	}
	dir := t.TempDir()
	ca := mustCA(t, dir)
	cert, err := ca.ServerCertificate(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	run := func(bundle string) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTrustBundleChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LANYARD_PKI_TEST_URL=https://localhost:"+port+"/", "SSL_CERT_FILE="+bundle, "SSL_CERT_DIR=/nonexistent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	bundle := filepath.Join(dir, "bundle.pem")
	if err := WriteTrustBundle(bundle, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	if err := run(bundle); err != nil {
		t.Fatalf("child trusting the bundle: %v", err)
	}
	// Control: without Lanyard's CA the same child must fail.
	withSystemBundles(t, filepath.Join(dir, "none"))
	other := filepath.Join(dir, "other.pem")
	if err := WriteTrustBundle(other, mustCA(t, t.TempDir()).CertPEM()); err != nil {
		t.Fatal(err)
	}
	if err := run(other); err == nil {
		t.Fatal("child trusting another CA connected")
	}
}

func TestTrustBundleChild(t *testing.T) {
	url := os.Getenv("LANYARD_PKI_TEST_URL")
	if url == "" {
		t.Skip("helper for TestTrustBundleWithSSLCertFile")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
