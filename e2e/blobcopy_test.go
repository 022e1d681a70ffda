package e2e

import "testing"

// TestGoSDKBlobCopyBetweenAccounts: an app copies between two storage accounts it holds
// Storage Blob Data Contributor on, with every copy call of the Go SDK and of the
// JavaScript SDK; an identity with the role on the destination only is refused the
// source's read (403).
func TestGoSDKBlobCopyBetweenAccounts(t *testing.T) {
	s := blobFlow(t)
	var acct2 map[string]any
	s.inst.cliJSON(t, &acct2, "storage", "account", "create", "-g", "demo", "-n", "acct2")
	acct2URL := s.inst.state.BlobURL + "/acct2"
	s.assign(t, "writer", contributor, s.account["id"].(string))
	s.assign(t, "writer", contributor, acct2["id"].(string))
	s.assign(t, "scoped", contributor, s.account["id"].(string))

	ok(t, "create source container", s.goBlob(t, "writer", "-account-url", acct2URL, "-op", "create-container", "-container", "reports"))
	ok(t, "upload source", s.goBlob(t, "writer", "-account-url", acct2URL, "-op", "put", "-container", "reports", "-blob", "q3.csv", "-data", "quarter,total\nq3,42\n"))
	ok(t, "create destination container", s.goBlob(t, "writer", "-op", "create-container", "-container", "archive"))
	source := acct2URL + "/reports/q3.csv"
	if r := s.goBlob(t, "writer", "-op", "copy", "-container", "archive", "-blob", "q3.csv", "-source-url", source); !r.OK || r.Data != "quarter,total\nq3,42\n" {
		t.Fatalf("copy between accounts: %+v", r)
	}
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "archive", "-blob", "q3.csv"); !r.OK || r.Data != "quarter,total\nq3,42\n" {
		t.Fatalf("read the copy: %+v", r)
	}
	// The same with @azure/storage-blob.
	if r := s.nodeBlob(t, "writer", "--op", "copy", "--container", "archive", "--blob", "js-q3.csv", "--source-url", source); !r.OK || r.Data != "quarter,total\nq3,42\n" {
		t.Fatalf("node copy between accounts: %+v", r)
	}
	if r := s.nodeBlob(t, "scoped", "--op", "copy", "--container", "archive", "--blob", "js-stolen.csv", "--source-url", source); r.OK || r.Status != 403 || r.Code != "CannotVerifyCopySource" {
		t.Fatalf("node copy without read on the source: %+v, want 403 CannotVerifyCopySource", r)
	}
	// Write on the destination, nothing on the source's account.
	if r := s.goBlob(t, "scoped", "-op", "copy", "-container", "archive", "-blob", "stolen.csv", "-source-url", source); r.OK || r.Status != 403 || r.Code != "CannotVerifyCopySource" {
		t.Fatalf("copy without read on the source: %+v, want 403 CannotVerifyCopySource", r)
	}
	// A source on another host is refused, not fetched.
	if r := s.goBlob(t, "writer", "-op", "copy", "-container", "archive", "-blob", "x", "-source-url", "https://127.0.0.2:1/acct2/reports/q3.csv"); r.OK || r.Status != 403 || r.Code != "CannotVerifyCopySource" {
		t.Fatalf("copy from another host: %+v", r)
	}
}
