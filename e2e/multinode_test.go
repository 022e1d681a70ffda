package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// cluster is several `lanyard server` processes on one PostgreSQL database and one blob
// content directory, serving as one: same tenant, same key-encryption key, same CA, and
// one public issuer URL.
type cluster struct {
	adminDSN string // the server's maintenance database, to cut and restore access
	dbName   string
	dsn      string
	kek      string
	content  string
	issuer   string // public API URL every node advertises
	apiPort  string // node 0 listens there
	nodes    []*instance
	// configure, when set, adds to node i's configuration file.
	configure func(i int, cfg map[string]any)
}

// postgresForE2E returns the DSN of a PostgreSQL server, from LANYARD_TEST_POSTGRES. CI
// always sets it (scripts/test.sh starts PostgreSQL); elsewhere the test is skipped.
func postgresForE2E(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("LANYARD_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("LANYARD_TEST_POSTGRES must be set in CI")
		}
		t.Skip("LANYARD_TEST_POSTGRES is not set; scripts/test.sh sets it")
	}
	return dsn
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	return newClusterWith(t, n, nil)
}

// newClusterWith starts n nodes, letting configure add to node i's configuration file.
func newClusterWith(t *testing.T, n int, configure func(i int, cfg map[string]any)) *cluster {
	t.Helper()
	base := postgresForE2E(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	c := &cluster{dbName: "lanyard_e2e_" + hex.EncodeToString(b), content: t.TempDir(), apiPort: freePort(t)}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	c.adminDSN = u.String()
	admin := c.admin(t)
	if _, err := admin.Exec("CREATE DATABASE " + c.dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", c.adminDSN)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("ALTER DATABASE " + c.dbName + " ALLOW_CONNECTIONS true")
		_, _ = a.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", c.dbName)
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + c.dbName)
	})
	u.Path = "/" + c.dbName
	c.dsn = u.String()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c.kek = base64.StdEncoding.EncodeToString(key)
	c.issuer = "https://127.0.0.1:" + c.apiPort
	c.configure = configure
	for i := range n {
		c.nodes = append(c.nodes, c.start(t, i))
	}
	return c
}

func (c *cluster) admin(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", c.adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start runs node i. Node 0 creates the CA; later nodes get a copy, as an operator would
// install the same CA on every node.
func (c *cluster) start(t *testing.T, i int) *instance {
	t.Helper()
	inst := &instance{home: t.TempDir()}
	apiAddr := "127.0.0.1:0"
	if i == 0 {
		apiAddr = "127.0.0.1:" + c.apiPort
	} else {
		tlsDir := filepath.Join(inst.home, "tls")
		if err := os.MkdirAll(tlsDir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"ca.pem", "ca-key.pem"} {
			b, err := os.ReadFile(filepath.Join(c.nodes[0].home, "tls", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tlsDir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := map[string]any{
		"home": inst.home, "store": c.dsn, "publicApiUrl": c.issuer, "blobContentDir": c.content,
		"storeGracePeriod": "2m",
		"listen":           map[string]string{"api": apiAddr, "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"},
	}
	if c.configure != nil {
		c.configure(i, cfg)
	}
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(inst.home, "config.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(t, i, inst)
	return inst
}

// restart starts node i again, after kill, on its data folder and configuration file (so
// on the same ports when the configuration fixed them).
func (c *cluster) restart(t *testing.T, i int) {
	t.Helper()
	inst := c.nodes[i]
	// The state file a killed node left behind would read as ready.
	if err := os.Remove(filepath.Join(inst.home, "lanyard.json")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	c.run(t, i, inst)
}

// run starts node i's process on inst's configuration file and waits until it has written
// its state file. The test's end stops it with SIGTERM, unless it was killed.
func (c *cluster) run(t *testing.T, i int, inst *instance) {
	t.Helper()
	cmd := exec.Command(lanyardBin, "server", "--config", filepath.Join(inst.home, "config.json"))
	cmd.Env = baseEnv("LANYARD_KEK=" + c.kek)
	inst.stderr = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, inst.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	inst.cmd, inst.done, inst.stopped = cmd, done, false
	go func() {
		done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
			return // killed by the test
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("node %d did not stop within 15s of SIGTERM", i)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(inst.home, "lanyard.json"))
		if err == nil && json.Unmarshal(raw, &inst.state) == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("node %d exited: %v\n%s", i, <-done, inst.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d not ready after 30s\n%s", i, inst.stderr)
		}
	}
}

// httpClient trusts the cluster's CA.
func (c *cluster) httpClient(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(c.nodes[0].home, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// eventually polls cond until it holds, and reports how long that took. The bound is
// generous: the point is that it happens, the delay is measured in bench/.
func eventually(t *testing.T, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < 20*time.Second {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: never happened (last: %s)", what, last)
	return 0
}

func (c *cluster) check(t *testing.T, node int, assignee, action, scope string) (bool, string) {
	t.Helper()
	out, errOut, err := c.nodes[node].try("role", "check", "--assignee", assignee, "--action", action, "--scope", scope)
	if err != nil {
		return false, errOut
	}
	var d map[string]any
	_ = json.Unmarshal([]byte(out), &d)
	return d["allowed"] == true, fmt.Sprint(d["explanation"])
}

var _ = strings.TrimSpace
