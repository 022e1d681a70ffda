package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lanyardIn runs the lanyard CLI with home as its data folder (and no profile chosen by the
// environment), returning stdout, stderr and the error.
func lanyardIn(home string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lanyardBin, append([]string{"--home", home}, args...)...)
	cmd.Env = baseEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestCLILoginWithProfiles: a CLI with an empty data folder logs in to a running server,
// with the admin credential and then as managed identities, and RBAC decides what each
// identity's commands may do, as for anyone calling the management API.
func TestCLILoginWithProfiles(t *testing.T) {
	s := seedFlow(t)
	st := s.inst.state
	mine := t.TempDir() // the team member's data folder: no server, no admin credential

	t.Run("admin credential", func(t *testing.T) {
		if out, errOut, err := lanyardIn(mine, "login", "--server", st.APIURL, "--ca-file", st.CAFile,
			"--admin-token-file", filepath.Join(s.inst.home, "admin.token"), "--profile", "adm"); err != nil {
			t.Fatalf("login: %v\n%s%s", err, out, errOut)
		}
		out, errOut, err := lanyardIn(mine, "--profile", "adm", "group", "list", "--query", "[].name", "-o", "tsv")
		if err != nil || strings.TrimSpace(out) != "demo" {
			t.Fatalf("group list with the admin profile: %v %q %s", err, out, errOut)
		}
		raw, err := os.ReadFile(filepath.Join(mine, "profiles.json"))
		if err != nil {
			t.Fatal(err)
		}
		secret, _ := os.ReadFile(filepath.Join(s.inst.home, "admin.token"))
		if bytes.Contains(raw, bytes.TrimSpace(secret)) {
			t.Errorf("profiles.json holds the admin credential itself")
		}
		if info, err := os.Stat(filepath.Join(mine, "profiles.json")); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("profiles.json mode: %v %v", info.Mode().Perm(), err)
		}
	})

	s.inst.cli(t, "group", "create", "-n", "other")
	client := s.user["clientId"].(string)
	s.inst.cli(t, "role", "assignment", "create", "--assignee", client, "--role", "Reader", "-g", "demo")
	// asApp runs the CLI inside the app's managed-identity environment: the only way a
	// managed identity authenticates, and what keeps azidentity away from IMDS.
	asApp := func(args ...string) (string, string, error) {
		return s.runAs(t, append([]string{lanyardBin, "--home", mine}, args...)...)
	}
	forbidden := func(t *testing.T, what string, args ...string) {
		t.Helper()
		if out, errOut, err := asApp(args...); err == nil || !strings.Contains(errOut, "AuthorizationFailed") {
			t.Errorf("%s: err=%v stdout=%s stderr=%s; want 403 AuthorizationFailed", what, err, out, errOut)
		}
	}

	t.Run("managed identity with Reader on a group", func(t *testing.T) {
		out, errOut, err := asApp("login", "--server", st.APIURL, "--ca-file", st.CAFile, "--identity", "--client-id", client, "--profile", "web")
		if err != nil {
			t.Fatalf("login --identity: %v\n%s%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
		}
		var view map[string]any
		if err := json.Unmarshal([]byte(out), &view); err != nil || view["subscriptionId"] != st.SubscriptionID || view["current"] != true {
			t.Fatalf("login printed %s (%v); want subscription %s", out, err, st.SubscriptionID)
		}
		var g map[string]any
		out, errOut, err = asApp("--profile", "web", "group", "show", "-n", "demo")
		if err != nil || json.Unmarshal([]byte(out), &g) != nil || g["name"] != "demo" {
			t.Fatalf("group show as Reader: %v %s %s", err, out, errOut)
		}
		// web is the current profile now: no --profile needed.
		forbidden(t, "identity create as Reader", "identity", "create", "-g", "demo", "-n", "id9")
		forbidden(t, "group show of another group", "group", "show", "-n", "other")
		// The admin profile is still there and still the admin's.
		if out, errOut, err := lanyardIn(mine, "--profile", "adm", "identity", "create", "-g", "demo", "-n", "id8"); err != nil {
			t.Errorf("identity create with the admin profile: %v %s %s", err, out, errOut)
		}
	})

	t.Run("DefaultAzureCredential as the system-assigned identity", func(t *testing.T) {
		s.inst.cli(t, "role", "assignment", "create", "--assignee", s.system, "--role", "Reader", "--scope", "/subscriptions/"+st.SubscriptionID+"/resourceGroups/other")
		out, errOut, err := asApp("login", "--server", st.APIURL, "--ca-file", st.CAFile, "--azure", "--profile", "sys")
		if err != nil {
			t.Fatalf("login --azure: %v\n%s%s", err, out, errOut)
		}
		if out, errOut, err := asApp("group", "show", "-n", "other"); err != nil || !strings.Contains(out, `"other"`) {
			t.Errorf("group show as the system identity: %v %s %s", err, out, errOut)
		}
		forbidden(t, "group show of demo as the system identity", "group", "show", "-n", "demo")
	})

	t.Run("profile list and logout", func(t *testing.T) {
		var list []map[string]any
		out, errOut, err := lanyardIn(mine, "profile", "list")
		if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 3 {
			t.Fatalf("profile list: %v %s %s", err, out, errOut)
		}
		for _, name := range []string{"sys", "web", "adm"} {
			if _, errOut, err := lanyardIn(mine, "logout", "--profile", name); err != nil {
				t.Fatalf("logout %s: %v %s", name, err, errOut)
			}
		}
		// No profile left: the CLI is back to the data folder, which runs no server.
		if _, errOut, err := lanyardIn(mine, "group", "list"); err == nil || !strings.Contains(errOut, "no Lanyard server is running") {
			t.Errorf("group list after logout: %v %s", err, errOut)
		}
	})
}
