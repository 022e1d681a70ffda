package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

// The azblob lease package against Lanyard: blob and container leases through their whole
// life, the codes Azure answers, and the compatibility fixes (account info, access
// tier, CRC-64, permanent delete), in one run of the Go client.
func TestGoSDKBlobLeases(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "leases", "-container", "leases")
	if err != nil {
		t.Fatalf("leases: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("leases output: %v\n%s", err, out)
	}
	for _, step := range []string{"blob-acquire", "blob-lifecycle", "blob-listing", "container", "account-info", "compat"} {
		if steps[step] != "ok" {
			t.Errorf("step %s did not pass: %v", step, steps)
		}
	}
}

// The passwordless pattern: processes of one app, each with its own managed identity and
// no secret, use a blob lease as a lock. Of several acquiring at once exactly one holds it;
// the others are refused with LeaseAlreadyPresent until it is released. A Reader may not
// take the lock: a lease is a write.
func TestBlobLeaseAsLock(t *testing.T) {
	s := blobFlow(t)
	acct := s.account["id"].(string)
	s.assign(t, "writer", contributor, acct)
	s.assign(t, "scoped", contributor, acct+"/blobServices/default/containers/locks")
	s.assign(t, "reader", "Storage Blob Data Reader", acct)
	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "locks"))
	ok(t, "create lock blob", s.goBlob(t, "writer", "-op", "put", "-container", "locks", "-blob", "leader", "-data", "nobody"))
	denied(t, "reader takes the lock", s.goBlob(t, "reader", "-op", "lock-acquire", "-container", "locks", "-blob", "leader",
		"-data", "00000000-0000-4000-8000-000000000009"))

	lockID := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	who := []string{"writer", "scoped", "writer", "scoped"}
	results := make([]blobResult, len(who))
	var wg sync.WaitGroup
	for i := range who {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.goBlob(t, who[i], "-op", "lock-acquire", "-container", "locks", "-blob", "leader", "-data", lockID(i))
		}()
	}
	wg.Wait()
	holder := -1
	for i, r := range results {
		switch {
		case r.OK && holder == -1:
			holder = i
		case r.OK:
			t.Fatalf("processes %d and %d both hold the lock", holder, i)
		case r.Status != 409 || r.Code != "LeaseAlreadyPresent":
			t.Fatalf("process %d: %+v; want 409 LeaseAlreadyPresent", i, r)
		}
	}
	if holder == -1 {
		t.Fatalf("no process got the lock: %+v", results)
	}
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "locks", "-blob", "leader"); r.Data != "written under "+lockID(holder) {
		t.Fatalf("the lock blob holds %q; want the holder's write", r.Data)
	}
	// Nobody else may write it, nor take the lock, until the holder releases it.
	next := (holder + 1) % len(who)
	if r := s.goBlob(t, who[next], "-op", "put", "-container", "locks", "-blob", "leader", "-data", "intruder"); r.OK || r.Status != 412 || r.Code != "LeaseIdMissing" {
		t.Fatalf("write without the lease: %+v; want 412 LeaseIdMissing", r)
	}
	if r := s.goBlob(t, who[next], "-op", "lock-acquire", "-container", "locks", "-blob", "leader", "-data", lockID(next)); r.OK || r.Code != "LeaseAlreadyPresent" {
		t.Fatalf("second acquire while held: %+v", r)
	}
	ok(t, "release", s.goBlob(t, who[holder], "-op", "lock-release", "-container", "locks", "-blob", "leader", "-data", lockID(holder)))
	ok(t, "acquire after release", s.goBlob(t, who[next], "-op", "lock-acquire", "-container", "locks", "-blob", "leader", "-data", lockID(next)))
}

// @azure/storage-blob's BlobLeaseClient against Lanyard.
func TestJavaScriptSDKBlobLeases(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "leases", "--container", "jsleases")
	if !r.OK || r.Data != "blob,container,account" {
		t.Fatalf("node leases = %+v", r)
	}
}
