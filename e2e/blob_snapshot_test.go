package e2e

import (
	"encoding/json"
	"testing"
)

// TestGoSDKBlobSnapshots: blob snapshots through the Go SDK (see goblob's snapshots).
func TestGoSDKBlobSnapshots(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "snapshots", "-container", "snaps")
	if err != nil {
		t.Fatalf("snapshots: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("snapshots output: %v\n%s", err, out)
	}
	for _, step := range []string{"create", "read", "tags", "errors", "list", "delete"} {
		if steps[step] == "" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
}

// TestJavaScriptSDKBlobSnapshots: blob snapshots through the JavaScript SDK (snapshot.mjs).
func TestJavaScriptSDKBlobSnapshots(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "snapshots", "--container", "jssnaps")
	if !r.OK || r.Data != "create,read,tags,list,delete" {
		t.Fatalf("node snapshots = %+v", r)
	}
}
