package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const storage = "https://storage.azure.com"

// seed is the quick-start flow: a group, a user-assigned identity, a second identity the
// app does not hold, and an app with both a system-assigned and the user-assigned identity.
type seed struct {
	inst     *instance
	user     map[string]any // flattened identity, as `lanyard identity show` prints it
	stranger map[string]any
	app      map[string]any
	system   string // the system-assigned identity's principal id
	sysAppID string
}

func seedFlow(t *testing.T) *seed {
	t.Helper()
	s := &seed{inst: up(t)}
	s.inst.cli(t, "group", "create", "-n", "demo")
	s.inst.cliJSON(t, &s.user, "identity", "create", "-g", "demo", "-n", "id1")
	s.inst.cliJSON(t, &s.stranger, "identity", "create", "-g", "demo", "-n", "stranger")
	s.inst.cliJSON(t, &s.app, "app", "create", "-g", "demo", "-n", "web")
	var ident map[string]any
	s.inst.cliJSON(t, &ident, "app", "identity", "assign", "-g", "demo", "-n", "web", "--system-assigned", "--identities", "id1")
	if ident["type"] != "SystemAssigned, UserAssigned" {
		t.Fatalf("identity type after assign = %v", ident["type"])
	}
	s.system, _ = ident["principalId"].(string)
	s.sysAppID, _ = s.app["id"].(string)
	if s.system == "" {
		t.Fatalf("no system-assigned principal: %v", ident)
	}
	return s
}

// runAs runs a client as app web with `lanyard app run`, returning stdout, stderr and the error.
func (s *seed) runAs(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return s.inst.try(append([]string{"app", "run", "-g", "demo", "-n", "web", "--"}, args...)...)
}

type goResult struct {
	Claims    map[string]any `json:"claims"`
	ExpiresOn int64          `json:"expiresOn"`
	RefreshOn int64          `json:"refreshOn"`
}

// checkClaims asserts the Entra v1 claim set for identity principal of kind.
func (s *seed) checkClaims(t *testing.T, c map[string]any, principal, clientID, mirid string) {
	t.Helper()
	want := map[string]any{
		"aud": storage, "iss": s.inst.state.AuthorityURL + "/", "tid": s.inst.state.TenantID,
		"oid": principal, "sub": principal, "appid": clientID, "idtyp": "app", "ver": "1.0", "xms_mirid": mirid,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	for _, k := range []string{"uti", "iat", "nbf", "exp"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
		t.Errorf("lifetime = %vs, want the default 3600", exp-iat)
	}
}

func TestGoSDKManagedIdentity(t *testing.T) {
	s := seedFlow(t)
	user := s.user
	sysClient := ""
	for _, tc := range []struct {
		name      string
		args      []string
		principal string
	}{
		{"system-assigned", nil, s.system},
		{"user-assigned by client id", []string{"-client-id", user["clientId"].(string)}, user["principalId"].(string)},
		{"user-assigned by resource id", []string{"-resource-id", user["id"].(string)}, user["principalId"].(string)},
		{"user-assigned by object id", []string{"-object-id", user["principalId"].(string)}, user["principalId"].(string)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := s.runAs(t, append([]string{gotokenBin, "-resource", storage}, tc.args...)...)
			if err != nil {
				t.Fatalf("gotoken: %v\n%s\nserver log:\n%s", err, errOut, s.inst.stderr)
			}
			var res goResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("gotoken output: %v\n%s", err, out)
			}
			if tc.principal == s.system {
				sysClient, _ = res.Claims["appid"].(string)
				s.checkClaims(t, res.Claims, s.system, sysClient, s.sysAppID)
			} else {
				s.checkClaims(t, res.Claims, tc.principal, user["clientId"].(string), user["id"].(string))
			}
			if res.RefreshOn <= time.Now().Unix() || res.RefreshOn >= res.ExpiresOn {
				t.Errorf("refreshOn %d is not between now and expiresOn %d", res.RefreshOn, res.ExpiresOn)
			}
		})
	}
	t.Run("identity not assigned", func(t *testing.T) {
		_, errOut, err := s.runAs(t, gotokenBin, "-client-id", s.stranger["clientId"].(string))
		if err == nil || !strings.Contains(errOut, "Unable to load the proper Managed Identity") {
			t.Fatalf("got err=%v, stderr=%s; want the App Service refusal", err, errOut)
		}
	})
	t.Run("identity that does not exist", func(t *testing.T) {
		_, errOut, err := s.runAs(t, gotokenBin, "-client-id", "11111111-2222-3333-4444-555555555555")
		if err == nil || !strings.Contains(errOut, "Unable to load the proper Managed Identity") {
			t.Fatalf("got err=%v, stderr=%s; want the same refusal as for an unassigned identity", err, errOut)
		}
	})
}

// verifyToken checks a raw storage token the way a relying party does: discovery and JWKS only.
func (s *seed) verifyToken(t *testing.T, raw string) map[string]any {
	t.Helper()
	return s.verifyTokenFor(t, raw, storage)
}

// verifyTokenFor checks a raw token for audience aud by discovery and JWKS.
func (s *seed) verifyTokenFor(t *testing.T, raw, aud string) map[string]any {
	t.Helper()
	caPEM, err := os.ReadFile(s.inst.state.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), hc), 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, s.inst.state.AuthorityURL+"/")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	tok, err := provider.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

type nodeResult struct {
	Token     string `json:"token"`
	ExpiresOn int64  `json:"expiresOn"`
}

func (s *seed) runNode(t *testing.T, env []string, args ...string) nodeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"gettoken.mjs", "--resource", storage}, args...)...)
	cmd.Dir = nodeClients
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node gettoken.mjs %v: %v\n%s\nserver log:\n%s", args, err, stderr.String(), s.inst.stderr)
	}
	var res nodeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node output: %v\n%s", err, stdout.String())
	}
	return res
}

func TestJavaScriptSDKManagedIdentity(t *testing.T) {
	requireNode(t)
	s := seedFlow(t)
	vars := s.inst.appEnv(t, "demo", "web")
	var appService, imds []string
	for k, v := range vars {
		appService = append(appService, k+"="+v)
		if k != "IDENTITY_ENDPOINT" && k != "IDENTITY_HEADER" {
			imds = append(imds, k+"="+v)
		}
	}
	user := s.user
	for _, proto := range []struct {
		name string
		env  []string
	}{
		{"IDENTITY_ENDPOINT", baseEnv(appService...)},
		{"AZURE_POD_IDENTITY_AUTHORITY_HOST", baseEnv(imds...)},
	} {
		for _, tc := range []struct {
			name      string
			args      []string
			principal string
		}{
			{"system-assigned", nil, s.system},
			{"by client id", []string{"--client-id", user["clientId"].(string)}, user["principalId"].(string)},
			{"by resource id", []string{"--resource-id", user["id"].(string)}, user["principalId"].(string)},
			{"by object id", []string{"--object-id", user["principalId"].(string)}, user["principalId"].(string)},
		} {
			t.Run(proto.name+"/"+tc.name, func(t *testing.T) {
				res := s.runNode(t, proto.env, tc.args...)
				claims := s.verifyToken(t, res.Token)
				if claims["oid"] != tc.principal || claims["aud"] != storage {
					t.Errorf("claims = %v, want oid %s", claims, tc.principal)
				}
				// msal-node reads only expires_on: a wrong one would give a token expiring now.
				if left := res.ExpiresOn - time.Now().Unix(); left < 3000 || left > 3600 {
					t.Errorf("token expires in %ds, want about an hour", left)
				}
			})
		}
	}
}

func TestCLITokenGetAndKeyRotation(t *testing.T) {
	s := seedFlow(t)
	var tok map[string]any
	s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--resource", storage, "--client-id", s.user["clientId"].(string))
	if tok["tokenType"] != "Bearer" || tok["tenant"] != s.inst.state.TenantID {
		t.Fatalf("token get = %v", tok)
	}
	before := s.verifyToken(t, tok["accessToken"].(string))

	var keys []map[string]any
	s.inst.cliJSON(t, &keys, "keys", "list")
	if len(keys) != 1 || keys[0]["active"] != true {
		t.Fatalf("keys list = %v", keys)
	}
	var rotated map[string]any
	s.inst.cliJSON(t, &rotated, "keys", "rotate")
	if rotated["name"] == keys[0]["name"] || rotated["active"] != true {
		t.Fatalf("keys rotate = %v (was %v)", rotated, keys[0]["name"])
	}
	s.inst.cliJSON(t, &keys, "keys", "list")
	if len(keys) != 2 || keys[1]["retiredAt"] == nil || keys[1]["published"] != true {
		t.Fatalf("after rotation keys = %v", keys)
	}
	// The token signed by the retired key still verifies: the key stays in the JWKS.
	s.verifyToken(t, tok["accessToken"].(string))
	// A token for another resource is signed by the new key.
	res, errOut, err := s.runAs(t, gotokenBin, "-resource", "https://vault.azure.net")
	if err != nil {
		t.Fatalf("gotoken after rotation: %v\n%s", err, errOut)
	}
	if !strings.Contains(res, `"aud":"https://vault.azure.net"`) {
		t.Errorf("token after rotation: %s", res)
	}
	_ = before
}

func TestCLIErrorsAndTable(t *testing.T) {
	inst := up(t)
	_, errOut, err := inst.try("identity", "show", "-g", "nogroup", "-n", "x")
	if err == nil || !strings.Contains(errOut, "ResourceNotFound") {
		t.Errorf("show missing identity: err=%v stderr=%s", err, errOut)
	}
	_, errOut, err = inst.try("identity", "create", "-g", "nogroup", "-n", "id1")
	if err == nil || !strings.Contains(errOut, "ResourceGroupNotFound") {
		t.Errorf("identity in missing group: err=%v stderr=%s", err, errOut)
	}
	inst.cli(t, "group", "create", "-n", "g1")
	inst.cli(t, "identity", "create", "-g", "g1", "-n", "id1")
	table := inst.cli(t, "identity", "list", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Name") || !strings.HasPrefix(lines[2], "id1") {
		t.Errorf("table output:\n%s", table)
	}
	// Deleting the group takes its identities with it.
	inst.cli(t, "group", "delete", "-n", "g1")
	var ids []map[string]any
	inst.cliJSON(t, &ids, "identity", "list")
	if len(ids) != 0 {
		t.Errorf("identities left after group delete: %v", ids)
	}
}

func TestManagementAPIRequiresAdminCredential(t *testing.T) {
	inst := up(t)
	caPEM, _ := os.ReadFile(inst.state.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, auth := range []string{"", "Bearer wrong", "Basic YTpi"} {
		req, _ := http.NewRequest("GET", inst.state.APIURL+"/subscriptions?api-version=2023-01-31", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Code string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 || body.Error.Code != "AuthenticationFailed" {
			t.Errorf("Authorization %q: status %d code %q, want 401 AuthenticationFailed", auth, resp.StatusCode, body.Error.Code)
		}
	}
	info, err := os.Stat(inst.home + "/admin.token")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("admin credential mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

func TestServerConfigIsStrict(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/lanyard.json"
	if err := os.WriteFile(path, []byte(`{"home": "`+dir+`", "listen": {"api": "127.0.0.1:0"}, "tokenLifetme": "2h"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lanyardBin, "server", "--config", path)
	cmd.Env = baseEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tokenLifetme") {
		t.Fatalf("an unknown key was accepted: err=%v output=%s", err, out)
	}
}
