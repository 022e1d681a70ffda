package cli

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/server"
)

const webPath = "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.Web/sites/web"

// TestAppEnvShells: every shell gets back exactly the values, whatever they hold, and the
// managed variables the app leaves out are unset.
func TestAppEnvShells(t *testing.T) {
	f := newFakeAPI(t)
	vars := map[string]string{"IDENTITY_HEADER": "abc", "SSL_CERT_FILE": "/home/o'neil/tls/bundle.pem", "AZURE_STORAGE_ACCOUNT_URL": `https://127.0.0.1:10000/a\b/`}
	f.json("POST "+webPath+"/listIdentityEnvironment", http.StatusOK, vars)

	out, errOut, code := f.run("app", "env", "-g", "demo", "-n", "web")
	if code != 0 {
		t.Fatalf("app env: %d %s", code, errOut)
	}
	if !strings.Contains(out, "export SSL_CERT_FILE='/home/o'\\''neil/tls/bundle.pem'\n") || !strings.Contains(out, "unset AZURE_CLIENT_ID\n") {
		t.Errorf("bash output:\n%s", out)
	}
	// What bash makes of it is the test that counts.
	script := out + `printf '%s|%s|%s|%s' "$IDENTITY_HEADER" "$SSL_CERT_FILE" "$AZURE_STORAGE_ACCOUNT_URL" "${AZURE_CLIENT_ID-unset}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "AZURE_CLIENT_ID=stale")
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	if want := vars["IDENTITY_HEADER"] + "|" + vars["SSL_CERT_FILE"] + "|" + vars["AZURE_STORAGE_ACCOUNT_URL"] + "|unset"; string(got) != want {
		t.Errorf("bash read %q, want %q", got, want)
	}

	for shell, want := range map[string]string{
		"fish":       `set -gx AZURE_STORAGE_ACCOUNT_URL 'https://127.0.0.1:10000/a\\b/'`,
		"powershell": `$env:SSL_CERT_FILE = '/home/o''neil/tls/bundle.pem'`,
		"dotenv":     "IDENTITY_HEADER=abc",
	} {
		out, errOut, code := f.run("app", "env", "-g", "demo", "-n", "web", "--shell", shell)
		if code != 0 || !strings.Contains(out, want+"\n") {
			t.Errorf("--shell %s: %d %s\n%s, want a line %s", shell, code, errOut, out, want)
		}
	}
	if _, errOut, code := f.run("app", "env", "-g", "demo", "-n", "web", "--shell", "tcsh"); code == 0 || !strings.Contains(errOut, "powershell") {
		t.Errorf("--shell tcsh: %d %s", code, errOut)
	}

	out, _, _ = f.run("app", "env", "-g", "demo", "-n", "web", "--shell", "dotenv", "--client-id", "7f3c2a3e-1111-4222-8333-444455556666")
	if !strings.Contains(out, "AZURE_CLIENT_ID=7f3c2a3e-1111-4222-8333-444455556666\n") {
		t.Errorf("--client-id did not set AZURE_CLIENT_ID:\n%s", out)
	}
	if _, errOut, code := f.run("app", "env", "-g", "demo", "-n", "web", "--client-id", "id1"); code == 0 || !strings.Contains(errOut, "client id") {
		t.Errorf("--client-id id1 (a name): %d %s", code, errOut)
	}
}

// TestAppRunDropsStaleManagedVars: a client id inherited from the shell never reaches an
// app that has no default identity.
func TestAppRunDropsStaleManagedVars(t *testing.T) {
	f := newFakeAPI(t)
	f.json("POST "+webPath+"/listIdentityEnvironment", http.StatusOK, map[string]string{"IDENTITY_HEADER": "abc"})
	t.Setenv("AZURE_CLIENT_ID", "stale")
	t.Setenv("LANYARD_TEST_KEEP", "kept")
	out, errOut, code := f.run("app", "run", "-g", "demo", "-n", "web", "--", "bash", "-c", `printf '%s|%s|%s' "$IDENTITY_HEADER" "${AZURE_CLIENT_ID-unset}" "$LANYARD_TEST_KEEP"`)
	if code != 0 || out != "abc|unset|kept" {
		t.Errorf("app run: %d %q %s", code, out, errOut)
	}
}

// TestAppCreateDefaultIdentity: --default-identity becomes the tag the server reads, by
// resource id in the app's group; one that is not among --identities is refused before
// anything is created. (--role is exercised end to end by the README test.)
func TestAppCreateDefaultIdentity(t *testing.T) {
	f := newFakeAPI(t)
	var body map[string]any
	f.routes["PUT "+webPath] = func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": webPath, "name": "web"})
	}
	if _, errOut, code := f.run("app", "create", "-g", "demo", "-n", "web", "--identities", "id1", "--default-identity", "id2"); code == 0 || !strings.Contains(errOut, "not among --identities") {
		t.Errorf("--default-identity id2 not among --identities: %d %s", code, errOut)
	}
	if _, errOut, code := f.run("app", "create", "-g", "demo", "-n", "web", "--identities", "id1", "--role", "Reader"); code == 0 || !strings.Contains(errOut, "--system-assigned or --default-identity") {
		t.Errorf("--role with no identity to give it to: %d %s", code, errOut)
	}
	if n := f.called("PUT " + webPath); n != 0 {
		t.Fatalf("refused commands still created the app (%d PUTs)", n)
	}
	if _, errOut, code := f.run("app", "create", "-g", "demo", "-n", "web", "--identities", "id1", "--default-identity", "id1"); code != 0 {
		t.Fatalf("app create: %d %s", code, errOut)
	}
	tags, _ := body["tags"].(map[string]any)
	if want := "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"; tags[mgmt.DefaultIdentityTag] != want {
		t.Errorf("tags = %v, want %s = %s", tags, mgmt.DefaultIdentityTag, want)
	}
}

// TestListenHint: a busy address names the flag that moves it.
func TestListenHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, busy := net.Listen("tcp", ln.Addr().String())
	if !errors.Is(busy, syscall.EADDRINUSE) {
		t.Skipf("a second listen on one address gave %v", busy)
	}
	for _, tc := range []struct {
		listener, up, config string
	}{{"api", "--api-addr", "listen.api"}, {"msi", "--msi-addr", "listen.msi"}, {"blob", "--blob-addr", "listen.blob"}} {
		err := &server.ListenError{Listener: tc.listener, Addr: ln.Addr().String(), Err: busy}
		if msg := listenHint(err, true).Error(); !strings.Contains(msg, tc.up+" 127.0.0.1:PORT") || !strings.Contains(msg, ln.Addr().String()) {
			t.Errorf("up, %s: %s", tc.listener, msg)
		}
		if msg := listenHint(err, false).Error(); !strings.Contains(msg, tc.config) {
			t.Errorf("server, %s: %s", tc.listener, msg)
		}
	}
	other := &server.ListenError{Listener: "api", Addr: "10.0.0.1:1", Err: syscall.EADDRNOTAVAIL}
	if got := listenHint(other, true); got != error(other) { //nolint:errorlint // the very error, not one like it
		t.Errorf("another listen error was rewritten: %v", got)
	}
}
