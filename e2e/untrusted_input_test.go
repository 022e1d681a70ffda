package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// msiGet asks the app's App Service endpoint for a token and returns the status and body.
func msiGet(t *testing.T, env map[string]string, q url.Values) (int, map[string]any) {
	t.Helper()
	q.Set("api-version", "2019-08-01")
	req, err := http.NewRequest("GET", env["IDENTITY_ENDPOINT"]+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-IDENTITY-HEADER", env["IDENTITY_HEADER"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("MSI answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

// GUIDs and resource ids compare case-insensitively, as on Azure: an app's own identity
// named in upper case is found at the endpoint, and by token revoke.
func TestIdentityGUIDsInAnyCase(t *testing.T) {
	inst := up(t)
	inst.cli(t, "group", "create", "-n", "demo")
	var id map[string]any
	inst.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", "id1")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "web")
	inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "id1")
	env := inst.appEnv(t, "demo", "web")
	clientID, principalID, rid := id["clientId"].(string), id["principalId"].(string), id["id"].(string)
	for _, sel := range [][2]string{{"client_id", clientID}, {"object_id", principalID}, {"principal_id", principalID}, {"mi_res_id", rid}} {
		status, body := msiGet(t, env, url.Values{"resource": {"https://storage.azure.com"}, sel[0]: {strings.ToUpper(sel[1])}})
		if status != http.StatusOK || body["client_id"] != clientID {
			t.Errorf("%s in upper case: %d %v", sel[0], status, body)
		}
	}
	var rev map[string]any
	inst.cliJSON(t, &rev, "token", "revoke", "--principal", strings.ToUpper(principalID))
	if rev["principalId"] != principalID {
		t.Errorf("token revoke --principal in upper case: %v", rev)
	}
	inst.cliJSON(t, &rev, "token", "revoke", "--principal", strings.ToUpper(clientID), "--before", "1h")
	if rev["principalId"] != principalID {
		t.Errorf("token revoke --principal (client id) in upper case: %v", rev)
	}
}

// A token request's resource is the app's to choose; listed as a table it stays in its
// cell, escaped, and explained it stays on its line.
func TestAuditTableEscapesRequestValues(t *testing.T) {
	inst := up(t)
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "web", "--system-assigned")
	env := inst.appEnv(t, "demo", "web")
	hostile := "https://x\n99  2030-01-01T00:00:00Z  token.issued  forged\x1b[31m\u202eevil"
	if status, body := msiGet(t, env, url.Values{"resource": {hostile}}); status != http.StatusOK {
		t.Fatalf("token for the hostile resource: %d %v", status, body)
	}

	var events []map[string]any
	inst.cliJSON(t, &events, "audit", "list")
	var ev map[string]any
	for _, e := range events {
		if e["action"] == hostile {
			ev = e
		}
	}
	if ev == nil {
		t.Fatalf("no event carries the resource as sent in the JSON output: %v", events)
	}
	table := inst.cli(t, "audit", "list", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	var rows []string
	for _, l := range lines {
		if strings.Contains(l, "forged") {
			rows = append(rows, l)
		}
	}
	if len(lines) != 2+len(events) || len(rows) != 1 || strings.ContainsAny(table, "\x1b\u202e") ||
		!strings.Contains(rows[0], `https://x\n99`) || !strings.Contains(rows[0], `\x1b[31m\u202eevil`) {
		t.Fatalf("audit list -o table shows %d lines for %d events, or raw escapes:\n%q", len(lines), len(events), table)
	}
	explained := inst.cli(t, "audit", "explain", ev["id"].(string))
	if strings.Count(strings.TrimSpace(explained), "\n") != 1 || strings.ContainsAny(explained, "\x1b\u202e") {
		t.Fatalf("audit explain:\n%q", explained)
	}
}
