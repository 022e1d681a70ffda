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

// sasGet downloads url in a fresh process that has no credential of any kind (no
// managed-identity environment, only trust in Lanyard's CA): the SAS is all it has.
func (s *blobSeed) sasGet(t *testing.T, lang, url string) blobResult {
	t.Helper()
	var out, errOut string
	var err error
	if lang == "go" {
		out, errOut, err = runWithEnv(map[string]string{"SSL_CERT_FILE": s.inst.state.BundleFile}, buildGoblob(t), "-op", "sas-get", "-sas-url", url)
	} else {
		requireNode(t)
		out, errOut, err = runWithEnv(map[string]string{"NODE_EXTRA_CA_CERTS": s.inst.state.CAFile},
			"node", filepath.Join(nodeClients, "blob.mjs"), "--op", "sas-get", "--sas-url", url)
	}
	var res blobResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("%s sas-get: %v (%v)\nstdout: %s\nstderr: %s\nserver log:\n%s", lang, err, jerr, out, errOut, s.inst.stderr)
	}
	return res
}

// revokeUserDelegationKeys calls the ARM action with the admin credential.
func (s *blobSeed) revokeUserDelegationKeys(t *testing.T) {
	t.Helper()
	admin, err := os.ReadFile(filepath.Join(s.inst.home, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(s.inst.state.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("POST", s.inst.state.APIURL+s.account["id"].(string)+"/revokeUserDelegationKeys?api-version=2023-05-01", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(admin)))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revokeUserDelegationKeys: %d", resp.StatusCode)
	}
}

// TestUserDelegationSAS: an app with a managed identity makes a user delegation SAS (Go:
// GetUserDelegationCredential and SignWithUserDelegation; JavaScript: getUserDelegationKey
// and generateBlobSASQueryParameters) and a process with no credential downloads with it;
// the SAS stops working the moment the app's identity loses its role, and again when the
// account's user delegation keys are revoked.
func TestUserDelegationSAS(t *testing.T) {
	s := blobFlow(t)
	acct := s.account["id"].(string)
	id := s.assign(t, "writer", contributor, acct)
	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	ok(t, "upload", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "report.txt", "-data", "shared by SAS"))

	goSAS := s.goBlob(t, "writer", "-op", "make-sas", "-container", "data", "-blob", "report.txt")
	ok(t, "Go makes a SAS", goSAS)
	jsSAS := s.nodeBlob(t, "writer", "--op", "make-sas", "--container", "data", "--blob", "report.txt")
	ok(t, "JavaScript makes a SAS", jsSAS)
	urls := map[string]string{"go": goSAS.Data, "js": jsSAS.Data}
	for maker, url := range urls {
		if !strings.Contains(url, "skoid="+s.ids["writer"]["principalId"].(string)) {
			t.Fatalf("%s SAS does not name the writer: %s", maker, url)
		}
		for _, lang := range []string{"go", "js"} {
			if r := s.sasGet(t, lang, url); !r.OK || r.Data != "shared by SAS" {
				t.Fatalf("%s downloads with the %s SAS: %+v", lang, maker, r)
			}
		}
	}
	// The blob is no less private: an identity without a role still cannot read it.
	denied(t, "reader without a role", s.goBlob(t, "reader", "-op", "get", "-container", "data", "-blob", "report.txt"))

	// The role goes: every SAS the identity made stops working at once.
	s.inst.cli(t, "role", "assignment", "delete", "--ids", id)
	for maker, url := range urls {
		denied(t, "SAS made by "+maker+" after the role was removed", s.sasGet(t, "go", url))
	}
	s.assign(t, "writer", contributor, acct)
	if r := s.sasGet(t, "js", urls["go"]); !r.OK {
		t.Fatalf("SAS after the role is back: %+v", r)
	}

	// Revoking the account's keys ends every SAS signed with them.
	s.revokeUserDelegationKeys(t)
	for maker, url := range urls {
		if r := s.sasGet(t, "go", url); r.OK || r.Status != 403 || r.Code != "AuthenticationFailed" {
			t.Fatalf("SAS made by %s after revokeUserDelegationKeys: %+v", maker, r)
		}
	}
	fresh := s.goBlob(t, "writer", "-op", "make-sas", "-container", "data", "-blob", "report.txt")
	if r := s.sasGet(t, "go", fresh.Data); !r.OK {
		t.Fatalf("SAS from a key made after the revocation: %+v", r)
	}
}

// TestContainerACLAndCORS: Go (azblob) and JavaScript (@azure/storage-blob) apps with a
// managed identity set and read a container's stored access policies and the account's
// CORS rules; public access is refused; a browser-style preflight is answered per the
// rules with no credential.
func TestContainerACLAndCORS(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	acct := s.account["id"].(string)
	s.assign(t, "writer", "Storage Blob Data Owner", acct)
	s.assign(t, "writer", "Storage Account Contributor", acct)
	for _, c := range []struct{ lang, cont, origin string }{{"go", "goacl", "https://go.example"}, {"js", "jsacl", "https://js.example"}} {
		var r blobResult
		if c.lang == "go" {
			ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", c.cont))
			r = s.goBlob(t, "writer", "-op", "acl-cors", "-container", c.cont, "-data", c.origin)
		} else {
			ok(t, "create container", s.nodeBlob(t, "writer", "--op", "create-container", "--container", c.cont))
			r = s.nodeBlob(t, "writer", "--op", "acl-cors", "--container", c.cont, "--data", c.origin)
		}
		if want := "200 " + c.origin + " PUT"; !r.OK || r.Data != want {
			t.Fatalf("%s acl-cors: %+v, want data %q", c.lang, r, want)
		}
	}
	// Contributor has neither getAcl nor setAcl, as in Azure.
	s.assign(t, "reader", contributor, acct)
	denied(t, "contributor sets an ACL", s.goBlob(t, "reader", "-op", "acl-cors", "-container", "goacl", "-data", "https://x.example"))
}
