package e2e

import (
	"net/http"
	"os"
	"slices"
	"testing"
	"time"
)

// TestPostgresBlips drops every PostgreSQL connection of a two-node cluster right after a
// role change on node 0, again and again, and checks that node 1, once it says it is ready
// again, decides by the change: a node is correct or says it is not. It logs the time from
// each blip until both nodes are ready (docs/benchmarks.md records it). LANYARD_FAULTS_LONG=1
// runs 39 blips instead of 3.
func TestPostgresBlips(t *testing.T) {
	blips := 3
	if os.Getenv("LANYARD_FAULTS_LONG") != "" {
		blips = 39
	}
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	a.cli(t, "group", "create", "-n", "demo")
	var reader, acct map[string]any
	a.cliJSON(t, &reader, "identity", "create", "-g", "demo", "-n", "reader")
	a.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "acct")
	assignee, scope := reader["clientId"].(string), acct["id"].(string)
	const action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	hc := c.httpClient(t)
	admin := c.admin(t)
	ready := func(n *instance) bool {
		res, err := hc.Get(n.state.APIURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	var toReady []time.Duration
	for i := 0; i < blips; i++ {
		granted := i%2 == 0
		if granted {
			a.cli(t, "role", "assignment", "create", "--assignee", assignee, "--role", "Storage Blob Data Reader", "--scope", scope)
		} else {
			a.cli(t, "role", "assignment", "delete", "--assignee", assignee, "--role", "Storage Blob Data Reader", "--scope", scope)
		}
		blip := time.Now()
		if _, err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", c.dbName); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both nodes ready after the blip", func() (bool, string) { return ready(a) && ready(b), "" })
		toReady = append(toReady, time.Since(blip))
		if allowed, why := c.check(t, 1, assignee, action, scope); allowed != granted {
			t.Fatalf("blip %d: node 1 is ready but decides allowed=%v after the change made it %v: %s", i, allowed, granted, why)
		}
	}
	slices.Sort(toReady)
	t.Logf("PostgreSQL blips: %d connection drops right after a role change; blip to both nodes ready p50 %s, max %s; every decision after ready matched the change",
		blips, toReady[len(toReady)/2].Round(time.Millisecond), toReady[len(toReady)-1].Round(time.Millisecond))
}
