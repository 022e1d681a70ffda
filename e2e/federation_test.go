package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// oidcIssuer stands in for GitHub Actions and for a Kubernetes cluster: an OpenID Connect
// issuer with its own key, discovery document and JWKS, served over loopback HTTPS from a
// goroutine of the test process. Lanyard is started trusting its certificate.
type oidcIssuer struct {
	url    string // the issuer, as its tokens carry it
	key    *rsa.PrivateKey
	caFile string // the server's certificate, PEM
}

func newOIDCIssuer(t *testing.T, path string) *oidcIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &oidcIssuer{key: key}
	mux := http.NewServeMux()
	base := strings.TrimSuffix(path, "/")
	mux.HandleFunc("GET "+base+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.url, "jwks_uri": strings.TrimSuffix(iss.url, "/") + "/keys",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET "+base+"/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "e2e-1", Algorithm: "RS256", Use: "sig"}}})
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	iss.url = srv.URL + path
	iss.caFile = filepath.Join(t.TempDir(), "issuer-ca.pem")
	if err := os.WriteFile(iss.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return iss
}

// token signs claims as the issuer; iss, iat and nbf are filled in unless given.
func (i *oidcIssuer) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": i.url, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: i.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "e2e-1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func githubActionsToken(t *testing.T, gh *oidcIssuer, sub string) string {
	return gh.token(t, map[string]any{
		"sub": sub, "aud": "api://AzureADTokenExchange", "repository": "org/repo", "repository_owner": "org",
		"ref": "refs/heads/main", "ref_type": "branch", "event_name": "push", "workflow": "deploy",
		"job_workflow_ref": "org/repo/.github/workflows/deploy.yml@refs/heads/main", "runner_environment": "github-hosted",
	})
}

func kubernetesToken(t *testing.T, k8s *oidcIssuer) string {
	return k8s.token(t, map[string]any{
		"sub": "system:serviceaccount:ns:sa", "aud": []string{"api://AzureADTokenExchange"},
		"kubernetes.io": map[string]any{"namespace": "ns", "serviceaccount": map[string]any{"name": "sa", "uid": "5a1e7c3d-8b2f-4e6a-9c0d-3f4b2a1e6d70"}},
	})
}

// fedSeed: Lanyard trusting the test issuers' certificate, a storage account, an identity
// "ci" holding Storage Blob Data Contributor on it and trusting a GitHub Actions
// workflow on main and a Kubernetes service account.
type fedSeed struct {
	inst       *instance
	gh, k8s    *oidcIssuer
	ci         map[string]any
	account    map[string]any
	accountURL string
	dir        string
	caBundle   string // Lanyard's bundle (system roots + its CA) plus the issuers' certificates
	caExtra    string // Lanyard's CA plus the issuers' certificates, for NODE_EXTRA_CA_CERTS
}

func federationFlow(t *testing.T) *fedSeed {
	t.Helper()
	return federationFlowWith(t, true)
}

// federationFlowWith is federationFlow, with Lanyard allowed to fetch the test issuers'
// metadata from loopback or not. Not allowed, the issuers' credentials are refused on
// write, and ci-deploy has none.
func federationFlowWith(t *testing.T, allowLoopbackIssuers bool) *fedSeed {
	t.Helper()
	gh := newOIDCIssuer(t, "")
	k8s := newOIDCIssuer(t, "/7f1c3a2e-5b6d-4c8e-9a0f-1b2c3d4e5f60/")
	dir := t.TempDir()
	trust := filepath.Join(dir, "issuers.pem")
	writeConcat(t, trust, gh.caFile, k8s.caFile)
	args := []string{"--trust-ca", trust}
	if allowLoopbackIssuers {
		// The test issuers listen on loopback, where Lanyard fetches nothing by default.
		args = append(args, "--allow-issuer-network", "127.0.0.1/32")
	}
	s := &fedSeed{inst: up(t, args...), gh: gh, k8s: k8s, dir: dir}
	s.caBundle, s.caExtra = filepath.Join(dir, "bundle.pem"), filepath.Join(dir, "extra-ca.pem")
	writeConcat(t, s.caBundle, s.inst.state.BundleFile, trust)
	writeConcat(t, s.caExtra, s.inst.state.CAFile, trust)

	s.inst.cli(t, "group", "create", "-n", "demo")
	s.inst.cliJSON(t, &s.account, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	s.accountURL = s.inst.state.BlobURL + "/acct1"
	s.inst.cliJSON(t, &s.ci, "identity", "create", "-g", "demo", "-n", "ci-deploy")
	s.inst.cli(t, "role", "assignment", "create", "--assignee", s.ci["clientId"].(string), "--role", contributor, "--scope", s.account["id"].(string))
	if !allowLoopbackIssuers {
		_, errOut, err := s.inst.try("identity", "federated-credential", "create", "-g", "demo", "--identity-name", "ci-deploy",
			"--name", "github-main", "--issuer", gh.url, "--subject", "repo:org/repo:ref:refs/heads/main")
		if err == nil || !strings.Contains(errOut, "InvalidIssuer") {
			t.Fatalf("a loopback issuer was accepted without --allow-issuer-network: err=%v stderr=%s", err, errOut)
		}
		return s
	}
	var fic map[string]any
	s.inst.cliJSON(t, &fic, "identity", "federated-credential", "create", "-g", "demo", "--identity-name", "ci-deploy",
		"--name", "github-main", "--issuer", gh.url, "--subject", "repo:org/repo:ref:refs/heads/main")
	if fic["issuer"] != gh.url || fic["subject"] != "repo:org/repo:ref:refs/heads/main" {
		t.Fatalf("federated-credential create printed %v", fic)
	}
	if aud, _ := fic["audiences"].([]any); len(aud) != 1 || aud[0] != "api://AzureADTokenExchange" {
		t.Fatalf("default audiences = %v", fic["audiences"])
	}
	s.inst.cli(t, "identity", "federated-credential", "create", "-g", "demo", "--identity-name", "ci-deploy",
		"--name", "aks-ns-sa", "--issuer", k8s.url, "--subject", "system:serviceaccount:ns:sa", "--audiences", "api://AzureADTokenExchange")
	return s
}

func writeConcat(t *testing.T, out string, files ...string) {
	t.Helper()
	var buf bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		if !bytes.HasSuffix(b, []byte("\n")) {
			buf.WriteByte('\n')
		}
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tokenFile writes an assertion as a CI runner or the kubelet does: a file ending with a
// newline, which the Go SDK sends verbatim.
func (s *fedSeed) tokenFile(t *testing.T, raw string) string {
	t.Helper()
	f, err := os.CreateTemp(s.dir, "token-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(raw + "\n"); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// env is the workload's environment: the four variables WorkloadIdentityCredential reads,
// trust for Lanyard and the issuers, and a dead proxy for anything beyond loopback, so that
// a request to login.microsoftonline.com (instance discovery) fails at once instead of
// leaving the machine.
func (s *fedSeed) env(clientID, tokenFile string) []string {
	return baseEnv(
		"AZURE_CLIENT_ID="+clientID,
		"AZURE_TENANT_ID="+s.inst.state.TenantID,
		"AZURE_FEDERATED_TOKEN_FILE="+tokenFile,
		"AZURE_AUTHORITY_HOST="+s.inst.state.APIURL,
		"SSL_CERT_FILE="+s.caBundle,
		"NODE_EXTRA_CA_CERTS="+s.caExtra,
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost",
		"https_proxy=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9", "no_proxy=127.0.0.1,localhost",
	)
}

var goworkloadBin string

func buildGoworkload(t *testing.T) string {
	t.Helper()
	if goworkloadBin == "" {
		out := filepath.Join(binDir, "goworkload")
		if b, err := exec.Command("go", "build", "-o", out, "./clients/goworkload").CombinedOutput(); err != nil {
			t.Fatalf("build goworkload: %v\n%s", err, b)
		}
		goworkloadBin = out
	}
	return goworkloadBin
}

// run runs a client with env in a fresh process and returns stdout, stderr and the error.
func (s *fedSeed) run(t *testing.T, env []string, dir string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// goWorkload runs the Go client and decodes its JSON output, failing the test on error.
func (s *fedSeed) goWorkload(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	out, errOut, err := s.run(t, env, "", buildGoworkload(t), args...)
	if err != nil {
		t.Fatalf("goworkload %v: %v\n%s\nserver log:\n%s", args, err, errOut, s.inst.stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("goworkload output: %v\n%s", err, out)
	}
	return res
}

// verify checks an access token as a relying party does (discovery and JWKS of Lanyard)
// and that it names identity id.
func (s *fedSeed) verify(t *testing.T, raw string, id map[string]any) {
	t.Helper()
	c := (&seed{inst: s.inst}).verifyToken(t, raw)
	for k, v := range map[string]any{"oid": id["principalId"], "appid": id["clientId"], "xms_mirid": id["id"], "tid": s.inst.state.TenantID, "idtyp": "app"} {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
}

func TestFederatedGoSDKWorkloadIdentity(t *testing.T) {
	s := federationFlow(t)
	clientID := s.ci["clientId"].(string)
	github := s.tokenFile(t, githubActionsToken(t, s.gh, "repo:org/repo:ref:refs/heads/main"))

	t.Run("GitHub Actions token: token, then a blob upload", func(t *testing.T) {
		res := s.goWorkload(t, s.env(clientID, github), "-op", "token")
		s.verify(t, res["token"].(string), s.ci)
		if left := int64(res["expiresOn"].(float64)) - time.Now().Unix(); left < 3000 || left > 3600 {
			t.Errorf("token expires in %ds", left)
		}
		res = s.goWorkload(t, s.env(clientID, github), "-op", "put", "-account-url", s.accountURL, "-container", "ci-jobs", "-blob", "go.txt", "-data", "from a GitHub Actions job")
		if res["ok"] != true {
			t.Fatalf("put = %v", res)
		}
	})
	t.Run("Kubernetes service-account token", func(t *testing.T) {
		k8s := s.tokenFile(t, kubernetesToken(t, s.k8s))
		res := s.goWorkload(t, s.env(clientID, k8s), "-op", "put", "-account-url", s.accountURL, "-container", "ci-jobs", "-blob", "pod.txt", "-data", "from a pod")
		if res["ok"] != true {
			t.Fatalf("put = %v", res)
		}
	})

	refused := func(t *testing.T, env []string, code string) {
		t.Helper()
		start := time.Now()
		_, errOut, err := s.run(t, env, "", buildGoworkload(t), "-op", "token")
		if err == nil || !strings.Contains(errOut, code) {
			t.Fatalf("got err=%v stderr=%s; want a refusal with %s\nserver log:\n%s", err, errOut, code, s.inst.stderr)
		}
		if elapsed := time.Since(start); elapsed > 20*time.Second {
			t.Errorf("the refusal took %v", elapsed)
		}
	}
	t.Run("another branch", func(t *testing.T) {
		refused(t, s.env(clientID, s.tokenFile(t, githubActionsToken(t, s.gh, "repo:org/repo:ref:refs/heads/dev"))), "AADSTS700213")
		// The refusal is in the audit trail (the writer batches, so give it a moment).
		var events []map[string]any
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			s.inst.cliJSON(t, &events, "audit", "list", "--kind", "token.refused")
			if len(events) > 0 {
				break
			}
		}
		if len(events) == 0 || !strings.Contains(fmt.Sprint(events[len(events)-1]), "AADSTS700213") || !strings.Contains(fmt.Sprint(events[len(events)-1]), "federation") {
			t.Fatalf("audit trail of the refusal: %v", events)
		}
	})
	t.Run("another audience", func(t *testing.T) {
		raw := s.gh.token(t, map[string]any{"sub": "repo:org/repo:ref:refs/heads/main", "aud": "https://github.com/org"})
		refused(t, s.env(clientID, s.tokenFile(t, raw)), "AADSTS700212")
	})
	t.Run("expired", func(t *testing.T) {
		raw := s.gh.token(t, map[string]any{"sub": "repo:org/repo:ref:refs/heads/main", "aud": "api://AzureADTokenExchange",
			"iat": time.Now().Add(-2 * time.Hour).Unix(), "nbf": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
		refused(t, s.env(clientID, s.tokenFile(t, raw)), "AADSTS700024")
	})
	t.Run("untrusted issuer", func(t *testing.T) {
		raw := s.gh.token(t, map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:org/repo:ref:refs/heads/main", "aud": "api://AzureADTokenExchange"})
		refused(t, s.env(clientID, s.tokenFile(t, raw)), "AADSTS700211")
	})
	t.Run("credential deleted", func(t *testing.T) {
		var list []map[string]any
		s.inst.cliJSON(t, &list, "identity", "federated-credential", "list", "-g", "demo", "--identity-name", "ci-deploy")
		if len(list) != 2 {
			t.Fatalf("list = %v", list)
		}
		var shown map[string]any
		s.inst.cliJSON(t, &shown, "identity", "federated-credential", "show", "-g", "demo", "--identity-name", "ci-deploy", "-n", "GITHUB-MAIN")
		if shown["name"] != "github-main" {
			t.Fatalf("show = %v", shown)
		}
		s.inst.cli(t, "identity", "federated-credential", "delete", "-g", "demo", "--identity-name", "ci-deploy", "-n", "github-main")
		refused(t, s.env(clientID, github), "AADSTS700211")
	})
}

func TestFederatedJavaScriptSDK(t *testing.T) {
	requireNode(t)
	s := federationFlow(t)
	clientID := s.ci["clientId"].(string)
	for _, tc := range []struct {
		name, credential, token string
	}{
		{"WorkloadIdentityCredential, Kubernetes token", "workload", kubernetesToken(t, s.k8s)},
		{"WorkloadIdentityCredential, GitHub Actions token", "workload", githubActionsToken(t, s.gh, "repo:org/repo:ref:refs/heads/main")},
		{"ManagedIdentityCredential with no options (token exchange)", "managed", kubernetesToken(t, s.k8s)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob := tc.credential + ".txt"
			out, errOut, err := s.run(t, s.env(clientID, s.tokenFile(t, tc.token)), nodeClients, "node", "workload.mjs",
				"--credential", tc.credential, "--account-url", s.accountURL, "--container", "jsci", "--blob", blob, "--data", "from node: "+tc.name)
			if err != nil {
				t.Fatalf("node workload.mjs: %v\n%s\nserver log:\n%s", err, errOut, s.inst.stderr)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(out), &res); err != nil || res["ok"] != true {
				t.Fatalf("output %s (%v)", out, err)
			}
			s.verify(t, res["token"].(string), s.ci)
		})
	}
}

// An identity can trust Lanyard's own tokens: an app's managed-identity token for
// api://AzureADTokenExchange is the assertion, as it could be at Entra or any system that
// accepts federated credentials. Lanyard checks them itself, so its own issuer, on
// loopback, needs no --allow-issuer-network; and a token no resource would take any more
// (revoked, of an identity disabled or deleted) is no assertion either.
func TestFederatedLanyardAsIssuer(t *testing.T) {
	s := federationFlowWith(t, false)
	s.inst.cliJSON(t, new(map[string]any), "app", "create", "-g", "demo", "-n", "web")
	var src map[string]any
	s.inst.cliJSON(t, &src, "identity", "create", "-g", "demo", "-n", "src")
	s.inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "src")
	s.inst.cli(t, "identity", "federated-credential", "create", "-g", "demo", "--identity-name", "ci-deploy",
		"--name", "from-lanyard", "--issuer", s.inst.state.AuthorityURL+"/", "--subject", src["principalId"].(string))

	var tok map[string]any
	s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--resource", "api://AzureADTokenExchange", "--client-id", src["clientId"].(string))
	file := s.tokenFile(t, tok["accessToken"].(string))
	res := s.goWorkload(t, s.env(s.ci["clientId"].(string), file), "-op", "token")
	s.verify(t, res["token"].(string), s.ci)
	res = s.goWorkload(t, s.env(s.ci["clientId"].(string), file), "-op", "put", "-account-url", s.accountURL, "-container", "chain", "-blob", "b.txt", "-data", "via Lanyard's own token")
	if res["ok"] != true {
		t.Fatalf("put = %v", res)
	}
	// A token of src for another audience is no assertion.
	s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--resource", storage, "--client-id", src["clientId"].(string))
	_, errOut, err := s.run(t, s.env(s.ci["clientId"].(string), s.tokenFile(t, tok["accessToken"].(string))), "", buildGoworkload(t), "-op", "token")
	if err == nil || !strings.Contains(errOut, "AADSTS700212") {
		t.Fatalf("storage token as assertion: err=%v stderr=%s", err, errOut)
	}

	srcClient := src["clientId"].(string)
	assertion := func(t *testing.T) (file, uti string) {
		t.Helper()
		var tok map[string]any
		s.inst.cliJSON(t, &tok, "token", "get", "-g", "demo", "-n", "web", "--resource", "api://AzureADTokenExchange", "--client-id", srcClient)
		raw := tok["accessToken"].(string)
		return s.tokenFile(t, raw), jwtClaims(t, raw)["uti"].(string)
	}
	accepted := func(t *testing.T, what, file string) {
		t.Helper()
		if out, errOut, err := s.run(t, s.env(s.ci["clientId"].(string), file), "", buildGoworkload(t), "-op", "token"); err != nil {
			t.Fatalf("%s: %v\n%s\n%s\nserver log:\n%s", what, err, out, errOut, s.inst.stderr)
		}
	}
	refused := func(t *testing.T, what, file string) {
		t.Helper()
		_, errOut, err := s.run(t, s.env(s.ci["clientId"].(string), file), "", buildGoworkload(t), "-op", "token")
		if err == nil || !strings.Contains(errOut, "AADSTS700213") || !strings.Contains(errOut, "invalid_client") {
			t.Fatalf("%s: err=%v stderr=%s; want invalid_client AADSTS700213\nserver log:\n%s", what, err, errOut, s.inst.stderr)
		}
	}
	t.Run("revoked by uti", func(t *testing.T) {
		file, uti := assertion(t)
		accepted(t, "before the revocation", file)
		s.inst.cli(t, "token", "revoke", "--uti", uti, "--reason", "e2e")
		refused(t, "revoked token", file)
		fresh, _ := assertion(t)
		accepted(t, "a fresh token of the same identity", fresh)
	})
	t.Run("revoked by principal", func(t *testing.T) {
		file, _ := assertion(t)
		accepted(t, "before the revocation", file)
		s.inst.cli(t, "token", "revoke", "--principal", srcClient, "--reason", "e2e")
		refused(t, "token issued before the principal's revocation", file)
		fresh, _ := assertion(t)
		accepted(t, "a token issued after it", fresh)
	})
	t.Run("disabled, then deleted identity", func(t *testing.T) {
		file, _ := assertion(t)
		accepted(t, "enabled", file)
		s.inst.cli(t, "identity", "update", "-g", "demo", "-n", "src", "--enabled", "false")
		refused(t, "disabled identity", file)
		s.inst.cli(t, "identity", "update", "-g", "demo", "-n", "src", "--enabled", "true")
		accepted(t, "enabled again", file)
		s.inst.cli(t, "identity", "delete", "-g", "demo", "-n", "src")
		refused(t, "deleted identity", file)
	})
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s...", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
