package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// protectBlobs turns on blob versioning and soft delete (7 days) on the seed's account
// through ARM blobServices/default, with the admin credential.
func (s *blobSeed) protectBlobs(t *testing.T) {
	t.Helper()
	admin, err := os.ReadFile(filepath.Join(s.inst.home, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(s.inst.state.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body := `{"properties":{"isVersioningEnabled":true,"deleteRetentionPolicy":{"enabled":true,"days":7}}}`
	req, _ := http.NewRequest("PUT", s.inst.state.APIURL+s.account["id"].(string)+"/blobServices/default?api-version=2023-05-01", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(admin)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Properties struct {
			IsVersioningEnabled bool `json:"isVersioningEnabled"`
		} `json:"properties"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&got) != nil || !got.Properties.IsVersioningEnabled {
		t.Fatalf("blobServices/default: %d, %+v", resp.StatusCode, got)
	}
}

// TestGoSDKBlobVersions: blob versions, soft delete and Undelete Blob through the Go SDK
// (see goblob's versions), on an account with both turned on through ARM.
func TestGoSDKBlobVersions(t *testing.T) {
	s := blobFlow(t)
	s.protectBlobs(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "versions", "-container", "versions")
	if err != nil {
		t.Fatalf("versions: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("versions output: %v\n%s", err, out)
	}
	for _, step := range []string{"write", "read", "list", "delete", "promote", "undelete"} {
		if steps[step] == "" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
}

// TestJavaScriptSDKBlobVersions: the same through the JavaScript SDK (versions.mjs).
func TestJavaScriptSDKBlobVersions(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.protectBlobs(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "versions", "--container", "jsversions")
	if !r.OK || r.Data != "write,read,list,delete,promote,undelete" {
		t.Fatalf("node versions = %+v", r)
	}
}
