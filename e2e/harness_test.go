// Package e2e drives Lanyard as its users do: the real lanyard binary started with
// `lanyard up`, the CLI, and apps written with the unmodified Azure SDKs for Go and
// JavaScript, each credential scenario in a fresh process. Nothing here leaves loopback:
// every app runs with the managed-identity environment set, so no SDK probes IMDS.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	binDir      string // built binaries
	lanyardBin  string
	gotokenBin  string
	nodeClients string // directory of the JavaScript clients, with node_modules installed
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lanyard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	lanyardBin = filepath.Join(dir, "lanyard")
	gotokenBin = filepath.Join(dir, "gotoken")
	for _, b := range []struct{ out, dir, pkg string }{
		{lanyardBin, "..", "./cmd/lanyard"},
		{gotokenBin, ".", "./clients/gotoken"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	nodeClients, _ = filepath.Abs("clients/node")
	return m.Run()
}

// requireNode fails (never skips) when the JavaScript SDK is not installed: CI installs it
// with npm ci, and a silently skipped compatibility test proves nothing.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(nodeClients, "node_modules", "@azure", "identity")); err != nil {
		t.Fatalf("the JavaScript SDK is not installed: run `npm ci` in e2e/clients/node (%v)", err)
	}
}

// instance is one running `lanyard up`.
type instance struct {
	home  string
	state struct {
		TenantID       string `json:"tenantId"`
		SubscriptionID string `json:"subscriptionId"`
		APIURL         string `json:"apiUrl"`
		AuthorityURL   string `json:"authorityUrl"`
		MSIURL         string `json:"msiUrl"`
		BlobURL        string `json:"blobUrl"`
		CAFile         string `json:"caFile"`
		BundleFile     string `json:"bundleFile"`
	}
	stderr  *bytes.Buffer
	cmd     *exec.Cmd
	done    chan error // cmd's exit
	stopped bool
}

// baseEnv is the environment every child starts from: the test's own, minus anything that
// would point an SDK at a real cloud or at IMDS.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "AZURE_"), strings.HasPrefix(name, "IDENTITY_"), strings.HasPrefix(name, "MSI_"),
			name == "IMDS_ENDPOINT", name == "LANYARD_HOME", name == "SSL_CERT_FILE", name == "NODE_EXTRA_CA_CERTS",
			name == "CURL_CA_BUNDLE", name == "REQUESTS_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// up starts lanyard up in a fresh data folder on free loopback ports and waits until it
// has written its state file.
func up(t *testing.T, extraArgs ...string) *instance {
	t.Helper()
	return upIn(t, t.TempDir(), append([]string{"--api-addr", "127.0.0.1:0", "--msi-addr", "127.0.0.1:0", "--blob-addr", "127.0.0.1:0", "--servicebus-addr", "127.0.0.1:0"}, extraArgs...)...)
}

// upIn starts lanyard up in home with args and waits until it has written its state file.
func upIn(t *testing.T, home string, args ...string) *instance {
	t.Helper()
	inst := start(t, home, args...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(inst.home, "lanyard.json"))
		if err == nil && json.Unmarshal(raw, &inst.state) == nil {
			return inst
		}
		select {
		case err := <-inst.done:
			t.Fatalf("lanyard up exited: %v\n%s", err, inst.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("lanyard up not ready after 30s\n%s", inst.stderr)
		}
	}
}

// start starts lanyard up in home with args, without waiting; stop (or the test's end)
// stops it.
func start(t *testing.T, home string, args ...string) *instance {
	t.Helper()
	inst := &instance{home: home, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd := exec.Command(lanyardBin, append([]string{"up", "--home", inst.home}, args...)...)
	cmd.Env = baseEnv()
	cmd.Stdout = &bytes.Buffer{}
	cmd.Stderr = inst.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inst.cmd = cmd
	go func() { inst.done <- cmd.Wait() }()
	t.Cleanup(func() { inst.stop(t) })
	return inst
}

// stop stops inst with SIGTERM and checks it stopped cleanly, once.
func (inst *instance) stop(t *testing.T) {
	t.Helper()
	if inst.stopped {
		return
	}
	inst.stopped = true
	_ = inst.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-inst.done:
		if err != nil {
			t.Errorf("lanyard up did not stop cleanly: %v\n%s", err, inst.stderr)
		}
	case <-time.After(15 * time.Second):
		_ = inst.cmd.Process.Kill()
		t.Errorf("lanyard up did not stop within 15s of SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(inst.home, "lanyard.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left behind after stop: %v", err)
	}
}

// kill stops inst with SIGKILL, as a crash would: nothing of its own shutdown runs.
func (inst *instance) kill() {
	if inst.stopped {
		return
	}
	inst.stopped = true
	_ = inst.cmd.Process.Signal(syscall.SIGKILL)
	<-inst.done
}

// cli runs a lanyard command against inst and returns its stdout; it fails the test on a
// non-zero exit.
func (inst *instance) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := inst.try(args...)
	if err != nil {
		t.Fatalf("lanyard %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// try runs a lanyard command and returns its output and error.
func (inst *instance) try(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lanyardBin, append([]string{"--home", inst.home}, args...)...)
	cmd.Env = baseEnv()
	cmd.Dir = nodeClients
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// cliJSON runs a lanyard command and decodes its JSON output.
func (inst *instance) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := inst.cli(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("lanyard %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// appEnv returns the KEY=VALUE lines of `lanyard app env --shell dotenv` as a map.
func (inst *instance) appEnv(t *testing.T, group, app string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(inst.cli(t, "app", "env", "-g", group, "-n", app, "--shell", "dotenv")), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("app env printed %q, not KEY=VALUE", line)
		}
		vars[k] = v
	}
	return vars
}
