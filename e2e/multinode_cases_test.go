package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const blobWriteAction = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"

// TestMultiNode: two nodes on one PostgreSQL database behave as one system.
func TestMultiNode(t *testing.T) {
	c := newCluster(t, 2)
	n1, n2 := c.nodes[0], c.nodes[1]
	if n1.state.TenantID != n2.state.TenantID || n1.state.AuthorityURL != n2.state.AuthorityURL {
		t.Fatalf("nodes disagree: %+v vs %+v", n1.state, n2.state)
	}

	// Everything is created through node 1 …
	n1.cli(t, "group", "create", "-n", "demo")
	var id, acct map[string]any
	n1.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", "writer")
	n1.cli(t, "app", "create", "-g", "demo", "-n", "web", "--identities", "writer")
	n1.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "shared")
	// … and node 2 knows it, with no restart.
	var seen map[string]any
	n2.cliJSON(t, &seen, "identity", "show", "-g", "demo", "-n", "writer")
	if seen["clientId"] != id["clientId"] {
		t.Fatalf("node 2 sees identity %v, node 1 created %v", seen["clientId"], id["clientId"])
	}
	client := id["clientId"].(string)
	scope := acct["id"].(string) + "/blobServices/default/containers/data"

	// A role assignment created through node 1 decides at node 2.
	var a map[string]any
	n1.cliJSON(t, &a, "role", "assignment", "create", "--assignee", client, "--role", "Storage Blob Data Contributor", "--scope", acct["id"].(string))
	took := eventually(t, "node 2 allows after node 1 assigned", func() (bool, string) { return c.check(t, 1, client, blobWriteAction, scope) })
	t.Logf("assignment made on node 1 decided on node 2 after %s", took)

	// The real Go SDK uploads through node 2, with a token from node 1's endpoint.
	s := &blobSeed{seed: &seed{inst: n1}, ids: map[string]map[string]any{"writer": id}}
	s.accountURL = n2.state.BlobURL + "/shared"
	ok(t, "create container through node 2", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	ok(t, "upload through node 2", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "x.txt", "-data", "from node 2"))
	// Node 1 serves the same blob: shared metadata and content.
	s.accountURL = n1.state.BlobURL + "/shared"
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "x.txt"); !r.OK || r.Data != "from node 2" {
		t.Fatalf("download through node 1 = %+v", r)
	}
	// Read after write across nodes, in both directions: a node that owns the blob
	// metadata answers from memory, and gives way to the other node's write before that
	// write returns.
	for i, writer := range []*instance{n2, n1, n2} {
		reader := c.nodes[i%2]
		data := fmt.Sprintf("write %d", i)
		s.accountURL = writer.state.BlobURL + "/shared"
		ok(t, "overwrite", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "x.txt", "-data", data))
		s.accountURL = reader.state.BlobURL + "/shared"
		if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "x.txt"); !r.OK || r.Data != data {
			t.Fatalf("write %d, then download through the other node = %+v", i, r)
		}
	}
	s.accountURL = n1.state.BlobURL + "/shared"

	// A blob lease taken through node 2 holds at node 1: one lock for the whole cluster.
	multiNodeLease(t, s, n1, n2)

	// Deleted through node 2, the assignment stops deciding at node 1.
	n2.cli(t, "role", "assignment", "delete", "--ids", a["id"].(string))
	took = eventually(t, "node 1 denies after node 2 deleted", func() (bool, string) {
		allowed, why := c.check(t, 0, client, blobWriteAction, scope)
		return !allowed, why
	})
	t.Logf("deletion made on node 2 decided on node 1 after %s", took)
	denied(t, "upload through node 1 after the deletion", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "y.txt"))

	// A token issued by node 1, revoked through node 2, is refused at both.
	n1.cli(t, "role", "assignment", "create", "--assignee", client, "--role", "Storage Blob Data Contributor", "--scope", acct["id"].(string))
	var issued map[string]any
	n1.cliJSON(t, &issued, "token", "get", "-g", "demo", "-n", "web", "--client-id", client, "--resource", storage)
	raw := issued["accessToken"].(string)
	hc := c.httpClient(t)
	put := func(node *instance) (int, string) {
		req, _ := http.NewRequest("PUT", node.state.BlobURL+"/shared/data/raw.txt", strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer "+raw)
		req.Header.Set("x-ms-version", "2025-01-05")
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-ms-error-code")
	}
	for i, node := range c.nodes {
		eventually(t, fmt.Sprintf("node %d accepts node 1's token", i+1), func() (bool, string) {
			st, code := put(node)
			return st == http.StatusCreated, fmt.Sprint(st, code)
		})
	}
	n2.cli(t, "token", "revoke", "--uti", jwtClaim(t, raw, "uti"))
	for i, node := range c.nodes {
		took := eventually(t, fmt.Sprintf("node %d refuses the revoked token", i+1), func() (bool, string) {
			st, code := put(node)
			return st == http.StatusUnauthorized && code == "InvalidAuthenticationInfo", fmt.Sprint(st, code)
		})
		t.Logf("revocation made on node 2 refused at node %d after %s", i+1, took)
	}

	// A key rotated on node 1 is published by node 2, and tokens signed by either verify
	// against the shared issuer.
	var rotated map[string]any
	n1.cliJSON(t, &rotated, "keys", "rotate")
	eventually(t, "node 2 publishes the rotated key", func() (bool, string) {
		out, _, err := n2.try("keys", "list")
		return err == nil && strings.Contains(out, rotated["name"].(string)), out
	})
	var tok map[string]any
	n2.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--client-id", client, "--resource", "https://vault.azure.net")
	claims := (&seed{inst: n1}).verifyTokenFor(t, tok["accessToken"].(string), "https://vault.azure.net")
	if claims["oid"] != id["principalId"] {
		t.Fatalf("token from node 2 = %v", claims)
	}
}

// jwtClaim reads one claim of a JWT without verifying it.
func jwtClaim(t *testing.T, raw, name string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(claims[name])
}

// multiNodeLease takes a lease through n2 and checks that n1 enforces it, then that a
// release through n1 frees it for a holder through n2.
func multiNodeLease(t *testing.T, s *blobSeed, n1, n2 *instance) {
	t.Helper()
	idA, idB := "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	lockAt := func(n *instance, action, id string) blobResult {
		s.accountURL = n.state.BlobURL + "/shared"
		return s.goBlob(t, "writer", "-op", "lock-"+action, "-container", "data", "-blob", "x.txt", "-data", id)
	}
	ok(t, "acquire through node 2", lockAt(n2, "acquire", idA))
	if r := lockAt(n1, "acquire", idB); r.OK || r.Status != 409 || r.Code != "LeaseAlreadyPresent" {
		t.Fatalf("acquire through node 1 while node 2's client holds the lease = %+v", r)
	}
	s.accountURL = n1.state.BlobURL + "/shared"
	if r := s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "x.txt", "-data", "no lease"); r.OK || r.Code != "LeaseIdMissing" {
		t.Fatalf("write through node 1 without the lease = %+v", r)
	}
	ok(t, "release through node 1", lockAt(n1, "release", idA))
	ok(t, "acquire through node 2 after the release", lockAt(n2, "acquire", idB))
	ok(t, "release through node 2", lockAt(n2, "release", idB))
	s.accountURL = n1.state.BlobURL + "/shared"
}
