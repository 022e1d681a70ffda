package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"crypto/tls"
	"crypto/x509"

	"github.com/google/uuid"
)

// TestManagementAPIAuthorizesTokenCallers: a principal with a token for ARM's audience
// may call the management API as far as RBAC lets it, as on Azure: a Reader reads but may
// not assign roles; User Access Administrator at the scope may.
func TestManagementAPIAuthorizesTokenCallers(t *testing.T) {
	s := seedFlow(t)
	var acct map[string]any
	s.inst.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	client := s.user["clientId"].(string)
	var tok map[string]any
	s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--client-id", client, "--resource", "https://management.azure.com/")
	bearer := tok["accessToken"].(string)
	caPEM, _ := os.ReadFile(s.inst.state.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.inst.state.APIURL+path+"?api-version=2022-04-01", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e struct{ Error struct{ Code string } }
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Error.Code
	}
	scope := acct["id"].(string)
	assign := func() (int, string) {
		body, _ := json.Marshal(map[string]any{"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + s.inst.state.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
			"principalId":      s.user["principalId"],
		}})
		return call("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString(), string(body))
	}

	// No role: even reading the account is refused.
	if st, code := call("GET", scope, ""); st != 403 || code != "AuthorizationFailed" {
		t.Fatalf("GET without a role: %d %s", st, code)
	}
	// Reader: reads, but cannot assign.
	s.inst.cli(t, "role", "assignment", "create", "--assignee", client, "--role", "Reader", "--scope", scope)
	if st, code := call("GET", scope, ""); st != 200 {
		t.Fatalf("GET as Reader: %d %s", st, code)
	}
	if st, code := assign(); st != 403 || code != "AuthorizationFailed" {
		t.Fatalf("assigning as Reader: %d %s", st, code)
	}
	// User Access Administrator at the account may assign there, and nowhere above it.
	s.inst.cli(t, "role", "assignment", "create", "--assignee", client, "--role", "User Access Administrator", "--scope", scope)
	if st, code := assign(); st != 201 {
		t.Fatalf("assigning as User Access Administrator: %d %s", st, code)
	}
	if st, code := call("PUT", "/subscriptions/"+s.inst.state.SubscriptionID+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString(),
		`{"properties":{"roleDefinitionId":"acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"`+s.user["principalId"].(string)+`"}}`); st != 403 {
		t.Fatalf("assigning at the subscription with a role at the account: %d %s", st, code)
	}
	// The admin-only surfaces stay admin-only.
	if st, _ := call("POST", "/providers/Lanyard.Authority/signingKeys/rotate", ""); st != 403 {
		t.Fatalf("key rotation by a principal: %d", st)
	}
}
