package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// roleCheck runs `lanyard role check` and returns its JSON answer; the command exits 1 on
// a denial, which is an answer here, not a failure.
func (inst *instance) roleCheck(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, errOut, err := inst.try(append([]string{"role", "check"}, args...)...)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1 && out != "") {
		t.Fatalf("lanyard role check %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
	}
	var check map[string]any
	if err := json.Unmarshal([]byte(out), &check); err != nil {
		t.Fatalf("role check printed no JSON: %v\n%s", err, out)
	}
	if allowed, _ := check["allowed"].(bool); allowed != (err == nil) {
		t.Fatalf("role check answered allowed=%v but exited with %v", allowed, err)
	}
	return check
}

// The CLI's guides against the real server: --query and -o tsv as scripts use them, names
// with -g as assignees, scopes checked before they reach a URL, role check's exit code,
// and deletes that say what they removed.
func TestCLIGuides(t *testing.T) {
	inst := up(t)
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cli(t, "identity", "create", "-g", "demo", "-n", "id1")
	clientID := strings.TrimSpace(inst.cli(t, "identity", "show", "-g", "demo", "-n", "id1", "--query", "clientId", "-o", "tsv"))
	if len(clientID) != 36 {
		t.Fatalf("--query clientId -o tsv printed %q", clientID)
	}
	acct := strings.TrimSpace(inst.cli(t, "storage", "account", "create", "-g", "demo", "-n", "acct1", "--query", "id", "-o", "tsv"))
	if out := inst.cli(t, "group", "list", "--query", "[].name", "-o", "yaml"); out != "- demo\n" {
		t.Errorf("group list as YAML: %q", out)
	}

	// A bare name as scope, and a name without its group, are explained; nothing is made.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--assignee", "id1", "-g", "demo", "--role", "Reader", "--scope", "acct1"}, `--scope "acct1" is not a resource id`},
		{[]string{"--assignee", "id1", "--role", "Reader", "--scope", acct}, "give its resource group with -g"},
		{[]string{"--assignee", "id1", "-g", "demo", "--role", "Raeder", "--scope", acct}, `did you mean "Reader"?`},
		{[]string{"--assignee", "id1", "-g", "demo", "--role", "Reader", "--scope", acct + "nope"}, "StorageAccountNotFound"},
	} {
		_, errOut, err := inst.try(append([]string{"role", "assignment", "create"}, c.args...)...)
		if err == nil || !strings.Contains(errOut, c.want) {
			t.Errorf("role assignment create %v: %v, stderr %q, want %q", c.args, err, errOut, c.want)
		}
	}
	if out := inst.cli(t, "role", "assignment", "list", "--all", "--query", "length(@)", "-o", "tsv"); out != "0\n" {
		t.Fatalf("a mistaken create made assignments: %s", out)
	}

	const blobWrite = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	if check := inst.roleCheck(t, "--assignee", "id1", "-g", "demo", "--action", blobWrite, "--scope", acct); check["allowed"] != false {
		t.Fatalf("role check before the assignment: %v", check)
	}
	inst.cli(t, "role", "assignment", "create", "--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Contributor", "--scope", acct)
	if check := inst.roleCheck(t, "--assignee", clientID, "--action", blobWrite, "--scope", acct); check["allowed"] != true {
		t.Fatalf("role check after the assignment: %v", check)
	}
	_, errOut, err := inst.try("role", "check", "--assignee", "id1", "-g", "demo", "--action", strings.Replace(blobWrite, "Accounts", "Acounts", 1), "--scope", acct, "-o", "none")
	if err == nil || !strings.Contains(errOut, "WARNING: no role mentions the action") || !strings.Contains(errOut, "did you mean") {
		t.Errorf("role check of a misspelled action: %v, %q", err, errOut)
	}

	// The audit trail is reachable from what users see: the event id in the table, and the
	// request id (x-ms-request-id) of a request found again with audit explain.
	table := inst.cli(t, "audit", "list", "--kind", "management.change", "-o", "table")
	if !strings.Contains(strings.SplitN(table, "\n", 2)[0], "Id") {
		t.Errorf("audit list -o table shows no Id column:\n%s", table)
	}
	reqID := strings.TrimSpace(inst.cli(t, "audit", "list", "--kind", "management.change", "--action", "*/roleAssignments/write", "--query", "[-1].requestId", "-o", "tsv"))
	if len(reqID) != 36 {
		t.Fatalf("no request id for the role assignment: %q", reqID)
	}
	if text := inst.cli(t, "audit", "explain", reqID); !strings.Contains(text, reqID) || !strings.Contains(strings.ToLower(text), "roleassignments") {
		t.Errorf("audit explain by request id printed:\n%s", text)
	}
	if out := inst.cli(t, "audit", "list", "--request-id", reqID, "--query", "[].requestId", "-o", "tsv"); strings.TrimSpace(out) == "" || strings.Count(out, reqID) != strings.Count(out, "\n") {
		t.Errorf("audit list --request-id printed %q", out)
	}

	_, errOut, err = inst.try("role", "assignment", "delete", "--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Contributor")
	if err != nil || !strings.Contains(errOut, "Deleted role assignment "+acct+"/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("role assignment delete: %v, %q", err, errOut)
	}
	_, errOut, err = inst.try("identity", "delete", "-g", "demo", "-n", "id1")
	if err != nil || !strings.HasPrefix(errOut, "Deleted identity /subscriptions/") {
		t.Errorf("identity delete: %v, %q", err, errOut)
	}
}

// lanyard down stops the server of a data folder, which removes its state file and exits
// cleanly; reset refuses while it runs, and afterwards empties the folder.
func TestDownAndReset(t *testing.T) {
	inst := up(t)
	if out, errOut, err := inst.try("--version"); err != nil || !strings.HasPrefix(out, "lanyard version ") || strings.TrimSpace(out) == "lanyard version dev" {
		t.Errorf("--version: %v, %q, %q", err, out, errOut)
	}
	_, errOut, err := inst.try("reset", "--yes")
	if err == nil || !strings.Contains(errOut, "stop it first with `lanyard down`") {
		t.Fatalf("reset while running: %v, %q", err, errOut)
	}
	_, errOut, err = inst.try("down")
	if err != nil || !strings.Contains(errOut, "Stopped Lanyard (pid ") {
		t.Fatalf("down: %v, %q", err, errOut)
	}
	select {
	case err := <-inst.done:
		inst.done <- err // for inst.stop, which checks the exit was clean
	case <-time.After(5 * time.Second):
		t.Fatal("lanyard up still runs after lanyard down returned")
	}
	inst.stop(t)
	_, errOut, err = inst.try("reset", "--yes")
	if err != nil || !strings.Contains(errOut, "Removed "+filepath.Join(inst.home, "kek")) {
		t.Fatalf("reset: %v, %q", err, errOut)
	}
	if entries, _ := os.ReadDir(inst.home); len(entries) != 0 {
		t.Fatalf("reset left %d entries", len(entries))
	}
}
