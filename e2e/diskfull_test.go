package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size at dir, so that a test can fill a disk; it skips
// when that is not possible (not root, no mount) and unmounts when the test ends, after
// the instances started later have stopped.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full tests mount a tmpfs: they need root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs at %s: %v %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

// fill writes a file in dir until the file system has no space left.
func fill(t *testing.T, dir, name string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err = f.Write(buf); err != nil {
				break
			}
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling the disk: %v", err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readyz returns the status and body of inst's /readyz.
func readyz(t *testing.T, inst *instance, apiURL string) (int, string) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(inst.home, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(apiURL + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func noSpace(t *testing.T, what string, r blobResult) {
	t.Helper()
	if r.OK || r.Status != http.StatusServiceUnavailable || r.Code != "ServerBusy" {
		t.Fatalf("%s on a full disk: got %+v, want 503 ServerBusy", what, r)
	}
}

// TestBlobDiskFull fills the disk Lanyard's data folder is on (a tmpfs) through the Go
// SDK and then from outside: uploads get a retryable 503 ServerBusy, /readyz says why,
// reads and deletions keep working, and once a deletion freed space uploads work again,
// with no restart. Then it restarts Lanyard while the disk is still full: it starts,
// serves reads and frees space with deletions.
func TestBlobDiskFull(t *testing.T) {
	home := t.TempDir()
	mountTmpfs(t, home, "64m")
	// Fixed ports, so that the restarted server is where the app's environment says:
	// on a full disk it cannot write lanyard.json.
	addrs := []string{"--api-addr", freeAddr(t), "--msi-addr", freeAddr(t), "--blob-addr", freeAddr(t)}
	inst := upIn(t, home, addrs...)
	apiURL := inst.state.APIURL
	s := &blobSeed{seed: &seed{inst: inst}, ids: map[string]map[string]any{}}
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cliJSON(t, &s.app, "app", "create", "-g", "demo", "-n", "web")
	inst.cliJSON(t, &s.account, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	s.accountURL = inst.state.BlobURL + "/acct1"
	var id map[string]any
	inst.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", "writer")
	s.ids["writer"] = id
	inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "writer")
	s.assign(t, "writer", contributor, s.account["id"].(string))
	s.env = inst.appEnv(t, "demo", "web")

	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	ok(t, "upload keep", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "keep.txt", "-data", "kept"))
	ok(t, "upload big", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "big.bin", "-big-mib", "8"))

	fill(t, home, "filler-1")
	noSpace(t, "upload", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "more.bin", "-big-mib", "2"))
	if st, body := readyz(t, inst, apiURL); st != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Fatalf("/readyz on a full disk: %d %s, want 503 naming the full disk", st, body)
	}
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "keep.txt"); !r.OK || r.Data != "kept" {
		t.Fatalf("read on a full disk: %+v", r)
	}
	ok(t, "delete on a full disk", s.goBlob(t, "writer", "-op", "delete", "-container", "data", "-blob", "big.bin"))
	if st, body := readyz(t, inst, apiURL); st != http.StatusOK {
		t.Fatalf("/readyz once space was freed: %d %s", st, body)
	}
	ok(t, "upload once space was freed", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "more.bin", "-big-mib", "2"))

	// Restart while the disk is full.
	fill(t, home, "filler-2")
	inst.stop(t)
	again := start(t, home, addrs...)
	s.inst = again
	if st, body := waitServing(t, again, apiURL); st == 0 {
		t.Fatalf("restart on a full disk: not serving (%s)\n%s", body, again.stderr)
	}
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "keep.txt"); !r.OK || r.Data != "kept" {
		t.Fatalf("read after a restart on a full disk: %+v", r)
	}
	ok(t, "delete after a restart on a full disk", s.goBlob(t, "writer", "-op", "delete", "-container", "data", "-blob", "more.bin"))
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "more.bin"); r.OK || r.Status != http.StatusNotFound {
		t.Fatalf("deleted blob: %+v", r)
	}
}

// waitServing waits until inst answers /readyz (ready or not) at apiURL, or exits.
func waitServing(t *testing.T, inst *instance, apiURL string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, body := readyz(t, inst, apiURL); st != 0 {
			return st, body
		}
		select {
		case err := <-inst.done:
			inst.stopped = true
			return 0, "exited: " + errString(err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, "not answering after 30s"
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
