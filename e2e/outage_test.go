package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStoreOutage: PostgreSQL refuses every connection for a while. The node keeps
// issuing managed-identity tokens and validating tokens from memory, refuses writes with
// a clear 503, reports itself not ready, and recovers by itself, with nothing lost.
func TestStoreOutage(t *testing.T) {
	c := newCluster(t, 1)
	n := c.nodes[0]
	n.cli(t, "group", "create", "-n", "demo")
	var writer, idle, acct map[string]any
	n.cliJSON(t, &writer, "identity", "create", "-g", "demo", "-n", "writer")
	n.cliJSON(t, &idle, "identity", "create", "-g", "demo", "-n", "idle")
	n.cli(t, "app", "create", "-g", "demo", "-n", "web", "--identities", "writer,idle")
	n.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "acct")
	n.cli(t, "role", "assignment", "create", "--assignee", writer["clientId"].(string), "--role", "Storage Blob Data Contributor", "--scope", acct["id"].(string))
	s := &blobSeed{seed: &seed{inst: n}, ids: map[string]map[string]any{"writer": writer, "idle": idle}, accountURL: n.state.BlobURL + "/acct"}
	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	ok(t, "upload", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "before.txt", "-data", "written before the outage"))
	env := n.appEnv(t, "demo", "web")
	s.env = env // from now on clients run without asking the management API
	hc := c.httpClient(t)
	miToken := func(clientID, resource string) (int, string) {
		q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource}, "client_id": {clientID}}
		req, _ := http.NewRequest("GET", env["IDENTITY_ENDPOINT"]+"?"+q.Encode(), nil)
		req.Header.Set("X-IDENTITY-HEADER", env["IDENTITY_HEADER"])
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// Both identities have been looked up once, so the node holds them in memory.
	for _, id := range []map[string]any{writer, idle} {
		if st, body := miToken(id["clientId"].(string), storage); st != 200 {
			t.Fatalf("token before the outage: %d %s", st, body)
		}
	}
	denied(t, "idle identity before the outage", s.goBlob(t, "idle", "-op", "put", "-container", "data", "-blob", "x"))

	admin := c.admin(t)
	if _, err := admin.Exec("ALTER DATABASE " + c.dbName + " ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", c.dbName); err != nil {
		t.Fatal(err)
	}

	// Not ready, and it says why.
	eventually(t, "readyz reports the outage", func() (bool, string) {
		resp, err := hc.Get(n.state.APIURL + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 503 && strings.Contains(string(body), "not ready"), string(body)
	})
	// Reads from memory keep working: managed-identity tokens, for a resource never asked
	// for before too (freshly signed), the signing keys, and token validation with RBAC.
	if st, body := miToken(writer["clientId"].(string), "https://vault.azure.net"); st != 200 {
		t.Fatalf("managed-identity token during the outage: %d %s", st, body)
	}
	if resp, err := hc.Get(n.state.AuthorityURL + "/discovery/v2.0/keys"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("JWKS during the outage: %v %v", resp, err)
	}
	denied(t, "idle identity during the outage (token validated and RBAC decided from memory)", s.goBlob(t, "idle", "-op", "put", "-container", "data", "-blob", "x"))
	// Writes are refused clearly: ARM's 503 shape.
	_, errOut, err := n.try("identity", "create", "-g", "demo", "-n", "during")
	if err == nil || !strings.Contains(errOut, "StoreUnavailable") {
		t.Fatalf("identity create during the outage: err=%v stderr=%s", err, errOut)
	}

	if _, err := admin.Exec("ALTER DATABASE " + c.dbName + " ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node is ready again", func() (bool, string) {
		resp, err := hc.Get(n.state.APIURL + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode == 200, body["reason"]
	})
	n.cli(t, "identity", "create", "-g", "demo", "-n", "after")
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "before.txt"); !r.OK || r.Data != "written before the outage" {
		t.Fatalf("blob written before the outage: %+v", r)
	}
	ok(t, "upload after the outage", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "after.txt"))
}
