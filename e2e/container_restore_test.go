package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// keepDeletedContainers turns on the account's container soft delete through ARM
// (blobServices/default's containerDeleteRetentionPolicy), as the writer, who is made a
// Contributor of the account for it. The armstorage SDK's own call of it is in
// TestARMSDKDeployment.
func (s *blobSeed) keepDeletedContainers(t *testing.T, days int) {
	t.Helper()
	scope := s.account["id"].(string)
	s.assign(t, "writer", "Contributor", scope)
	var tok map[string]any
	s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--client-id", s.ids["writer"]["clientId"].(string),
		"--resource", "https://management.azure.com/")
	caPEM, err := os.ReadFile(s.inst.state.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{
		"containerDeleteRetentionPolicy": map[string]any{"enabled": true, "days": days}}})
	req, _ := http.NewRequest("PUT", s.inst.state.APIURL+scope+"/blobServices/default?api-version=2023-05-01", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+tok["accessToken"].(string))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"days":7`) {
		t.Fatalf("setting the container delete retention: %d %s", resp.StatusCode, raw)
	}
}

// TestGoSDKContainerRestore: container soft delete and Restore Container through the Go
// SDK (see goblob's restore-container).
func TestGoSDKContainerRestore(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	s.keepDeletedContainers(t, 7)
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "restore-container", "-container", "restorable")
	if err != nil {
		t.Fatalf("restore-container: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("restore-container output: %v\n%s", err, out)
	}
	for _, step := range []string{"delete", "list", "conflict", "restore"} {
		if steps[step] == "" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
	// A reader may list the deleted version but not restore it (containers/write).
	s.assign(t, "reader", "Storage Blob Data Reader", s.account["id"].(string))
	r := s.goBlob(t, "writer", "-op", "delete-container", "-container", "restorable")
	ok(t, "delete the restored container", r)
	denied(t, "restore as a reader", s.goBlob(t, "reader", "-op", "restore-container-only", "-container", "restorable"))
}

// TestJavaScriptSDKContainerRestore: the same through the JavaScript SDK (restore.mjs).
func TestJavaScriptSDKContainerRestore(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	s.keepDeletedContainers(t, 7)
	r := s.nodeBlob(t, "writer", "--op", "restore-container", "--container", "jsrestorable")
	if !r.OK || r.Data != "delete,list,conflict,restore" {
		t.Fatalf("node restore-container = %+v", r)
	}
}
