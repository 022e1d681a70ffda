package authority

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/revocation"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

// issuerMinter mints from this authority, as the server wires it.
type issuerMinter struct {
	issuer    *token.Issuer
	issuerURL string
}

func (m issuerMinter) MintToken(_ context.Context, id lanyard.Identity, resource string) (AccessToken, error) {
	t, err := m.issuer.Issue(token.Request{TenantID: testTenant, IssuerURL: m.issuerURL, Audience: resource, Identity: id})
	return AccessToken{Raw: t.Raw, UTI: t.UTI, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}, err
}

// tokenWorld is an authority over HTTPS with its token endpoint, a directory with
// identities, and Lanyard trusting itself as an issuer: identity "target" accepts the
// tokens of identity "source" for api://AzureADTokenExchange.
type tokenWorld struct {
	srv       *httptest.Server
	h         *Handler
	store     *sqlstore.Store
	dir       *directory.Service
	issuer    *token.Issuer
	issuerURL string
	source    lanyard.Identity // its Lanyard tokens are the assertions
	target    lanyard.Identity // trusts source
	stranger  lanyard.Identity // trusted by nobody
	keys      *federation.IssuerKeys
	revs      *revocation.Set
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "dir.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &tokenWorld{store: st, dir: directory.New(st, lanyard.Tenant{ID: testTenant, SubscriptionID: "00000000-0000-4000-8000-000000000001"}, []byte("0123456789abcdef0123456789abcdef"), nil)}
	kr := newKeyring(t)
	w.issuer = &token.Issuer{Keys: kr}
	w.keys = &federation.IssuerKeys{FetchTimeout: 2 * time.Second}
	// Lanyard's own tokens are checked as the resources check them, as the server wires it.
	acc, err := access.New(ctx, st, lanyard.Tenant{ID: testTenant})
	if err != nil {
		t.Fatal(err)
	}
	if w.revs, err = revocation.Open(ctx, st, 24*time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	acc.SetRevocations(w.revs)
	validator := &federation.Validator{Keys: w.keys}
	w.h = &Handler{TenantID: testTenant, Keys: kr, Token: &TokenEndpoint{
		Exchanger: &federation.Exchanger{Directory: st, Validator: validator},
	}}
	mux := http.NewServeMux()
	w.h.Mount(mux)
	w.srv = httptest.NewUnstartedServer(mux)
	w.h.BaseURL = "https://" + w.srv.Listener.Addr().String()
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	// Other issuers' metadata is fetched over HTTPS (these tests' issuers are on loopback).
	w.keys.Client = w.srv.Client()
	w.issuerURL = IssuerV1(w.h.BaseURL, testTenant)
	validator.Local = federation.NewSelfIssuer(w.issuerURL, acc, &token.Verifier{Keys: kr}, nil)
	w.h.Token.Minter = issuerMinter{issuer: w.issuer, issuerURL: w.issuerURL}

	if _, _, err := w.dir.PutGroup(ctx, "rg", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		id   *lanyard.Identity
		name string
	}{{&w.source, "source"}, {&w.target, "target"}, {&w.stranger, "stranger"}} {
		if *p.id, _, err = w.dir.PutIdentity(ctx, "rg", p.name, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	creds := &federation.Credentials{Store: st, Identities: w.dir}
	if _, _, err := creds.Put(ctx, "rg", "target", "from-source", federation.Spec{Issuer: w.issuerURL, Subject: w.source.PrincipalID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := creds.Put(ctx, "rg", "stranger", "github", federation.Spec{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:org/repo:ref:refs/heads/main"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// assertion is a Lanyard token of id for aud, as `lanyard token get --resource
// api://AzureADTokenExchange` gives one.
func (w *tokenWorld) assertion(t *testing.T, id lanyard.Identity, aud string, at time.Time) string {
	t.Helper()
	iss := *w.issuer
	iss.Now = func() time.Time { return at }
	tok, err := iss.Issue(token.Request{TenantID: testTenant, IssuerURL: w.issuerURL, Audience: aud, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

func (w *tokenWorld) post(t *testing.T, path string, form url.Values, contentType string) response {
	t.Helper()
	if contentType == "" {
		contentType = "application/x-www-form-urlencoded; charset=utf-8"
	}
	req, err := http.NewRequestWithContext(t.Context(), "POST", w.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	res, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

// goForm is the body azidentity's WorkloadIdentityCredential sends (MSAL-Go), file
// content verbatim with its newline, OIDC scopes and the CAE claims azcore always adds.
func goForm(clientID, assertion, scope string) url.Values {
	return url.Values{
		"client_assertion":      {assertion + "\n"},
		"client_assertion_type": {jwtBearer},
		"client_id":             {clientID},
		"client_info":           {"1"},
		"grant_type":            {"client_credentials"},
		"scope":                 {scope + " openid offline_access profile"},
		"claims":                {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
	}
}

// nodeForm is what msal-node sends.
func nodeForm(clientID, assertion, scope string) url.Values {
	return url.Values{
		"client_id": {clientID}, "scope": {scope}, "grant_type": {"client_credentials"},
		"x-client-SKU": {"msal.js.node"}, "x-client-VER": {"3.8.1"}, "x-client-OS": {"linux"}, "x-client-CPU": {"x64"},
		"x-ms-lib-capability": {"retry-after, h429"}, "x-client-current-telemetry": {"5|771,2,,,|,"},
		"x-client-last-telemetry": {"5|0|||0,0"}, "client-request-id": {"3e6a1a4e-54f9-4a0e-9b3f-0c0d7f3f4f1e"},
		"client_assertion": {assertion}, "client_assertion_type": {jwtBearer},
	}
}

func (w *tokenWorld) accessClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	set := parseJWKS(t, fetch(t, w.srv, "GET", "/"+testTenant+"/discovery/keys").body)
	var c map[string]any
	if err := json.Unmarshal(verifyWithJWKS(t, set, raw), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenEndpointIssuesForFederatedAssertion(t *testing.T) {
	w := newTokenWorld(t)
	assertion := w.assertion(t, w.source, lanyard.DefaultFederatedAudience, time.Now())
	lower := strings.ToLower(testTenant)
	cases := []struct {
		name     string
		path     string
		form     url.Values
		v1       bool
		resource string
	}{
		{"Go SDK, lower-cased tenant", "/" + lower + "/oauth2/v2.0/token", goForm(w.target.ClientID, assertion, "https://storage.azure.com/.default"), false, "https://storage.azure.com"},
		{"Node SDK, client-request-id in the query", "/" + testTenant + "/oauth2/v2.0/token?client-request-id=abc", nodeForm(w.target.ClientID, assertion, "https://vault.azure.net/.default"), false, "https://vault.azure.net"},
		{"upper-cased tenant and client id", "/" + strings.ToUpper(testTenant) + "/oauth2/v2.0/token", goForm(strings.ToUpper(w.target.ClientID), assertion, "https://management.azure.com/.default"), false, "https://management.azure.com"},
		{"resource ending in a slash", "/" + testTenant + "/oauth2/v2.0/token", goForm(w.target.ClientID, assertion, "https://database.windows.net//.default"), false, "https://database.windows.net/"},
		{"application id URI", "/" + testTenant + "/oauth2/v2.0/token", goForm(w.target.ClientID, assertion, "api://my-api/.default"), false, "api://my-api"},
		{"only the last /.default is cut", "/" + testTenant + "/oauth2/v2.0/token", goForm(w.target.ClientID, assertion, "api://my-api/.default/.default"), false, "api://my-api/.default"},
		{"v1 with resource", "/" + testTenant + "/oauth2/token", func() url.Values {
			f := goForm(w.target.ClientID, assertion, "")
			f.Del("scope")
			f.Set("resource", "https://storage.azure.com/")
			return f
		}(), true, "https://storage.azure.com/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.post(t, tc.path, tc.form, "")
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if cc := res.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			body := decodeObject(t, res.body)
			if body["token_type"] != "Bearer" {
				t.Errorf("token_type = %v", body["token_type"])
			}
			expiresIn := body["expires_in"]
			if tc.v1 {
				s, _ := expiresIn.(string)
				expiresIn, _ = strconv.ParseFloat(s, 64)
				on, _ := strconv.ParseInt(body["expires_on"].(string), 10, 64)
				if left := on - time.Now().Unix(); left < 3500 || left > 3600 {
					t.Errorf("expires_on is %ds away", left)
				}
				if body["resource"] != tc.resource {
					t.Errorf("resource = %v, want %s", body["resource"], tc.resource)
				}
			} else if _, ok := body["expires_on"]; ok {
				t.Errorf("v2.0 answer has expires_on: %s", res.body)
			}
			if in, _ := expiresIn.(float64); in < 3500 || in > 3600 {
				t.Errorf("expires_in = %v, want about an hour", body["expires_in"])
			}
			c := w.accessClaims(t, body["access_token"].(string))
			want := map[string]any{"aud": tc.resource, "iss": w.issuerURL, "oid": w.target.PrincipalID, "sub": w.target.PrincipalID,
				"appid": w.target.ClientID, "tid": testTenant, "idtyp": "app", "xms_mirid": w.target.ResourceID}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
		})
	}
	// Lanyard checked its own tokens without fetching its own metadata.
	if n := w.keys.Fetches(); n != 0 {
		t.Errorf("%d metadata fetches, want none", n)
	}
}

// Every refusal in Entra's shape, with the error, status and AADSTS code Entra uses.
func TestTokenEndpointRefusals(t *testing.T) {
	w := newTokenWorld(t)
	ctx := t.Context()
	now := time.Now()
	good := w.assertion(t, w.source, lanyard.DefaultFederatedAudience, now)
	disabled, _, err := w.dir.PutIdentity(ctx, "rg", "disabled", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.dir.SetIdentityEnabled(ctx, disabled.PrincipalID, false); err != nil {
		t.Fatal(err)
	}
	unreachable := *w.issuer
	tok, err := unreachable.Issue(token.Request{TenantID: testTenant, IssuerURL: "https://127.0.0.1:1/down/", Audience: lanyard.DefaultFederatedAudience, Identity: w.source})
	if err != nil {
		t.Fatal(err)
	}
	down, _, err := w.dir.PutIdentity(ctx, "rg", "down", "", nil)
	if err != nil {
		t.Fatal(err)
	}

	v2 := "/" + testTenant + "/oauth2/v2.0/token"
	form := func(edit func(url.Values)) url.Values {
		f := goForm(w.target.ClientID, good, "https://storage.azure.com/.default")
		if edit != nil {
			edit(f)
		}
		return f
	}
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	parts := strings.Split(good, ".")
	algNone := base64.RawURLEncoding.EncodeToString(header) + "." + parts[1] + "." + parts[2]

	cases := []struct {
		name        string
		path        string
		form        url.Values
		contentType string
		status      int
		error       string
		aadsts      int
	}{
		{"wrong tenant", "/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", form(nil), "", 400, "invalid_tenant", 90002},
		{"JSON body", v2, form(nil), "application/json", 400, "invalid_request", 90100},
		{"body too large", v2, form(func(f url.Values) { f.Set("pad", strings.Repeat("x", 70<<10)) }), "", 400, "invalid_request", 90100},
		{"no grant_type", v2, form(func(f url.Values) { f.Del("grant_type") }), "", 400, "invalid_request", 900144},
		{"password grant", v2, form(func(f url.Values) { f.Set("grant_type", "password") }), "", 400, "unsupported_grant_type", 70003},
		{"no client_id", v2, form(func(f url.Values) { f.Del("client_id") }), "", 400, "invalid_request", 900144},
		{"client_id twice", v2, form(func(f url.Values) { f.Add("client_id", w.stranger.ClientID) }), "", 400, "invalid_request", 90100},
		{"no scope", v2, form(func(f url.Values) { f.Del("scope") }), "", 400, "invalid_request", 900144},
		{"scope without /.default", v2, form(func(f url.Values) { f.Set("scope", "https://storage.azure.com/user_impersonation") }), "", 400, "invalid_scope", 1002012},
		{"only OpenID scopes", v2, form(func(f url.Values) { f.Set("scope", "openid profile") }), "", 400, "invalid_scope", 70011},
		{"two resources", v2, form(func(f url.Values) { f.Set("scope", "https://a/.default https://b/.default") }), "", 400, "invalid_scope", 70011},
		{"v1 without resource", "/" + testTenant + "/oauth2/token", form(nil), "", 400, "invalid_request", 900144},
		{"client secret", v2, form(func(f url.Values) { f.Del("client_assertion"); f.Set("client_secret", "s3cret") }), "", 401, "invalid_client", 7000215},
		{"no credential", v2, form(func(f url.Values) { f.Del("client_assertion") }), "", 401, "invalid_client", 7000218},
		{"no client_assertion_type", v2, form(func(f url.Values) { f.Del("client_assertion_type") }), "", 400, "invalid_request", 900144},
		{"SAML assertion type", v2, form(func(f url.Values) {
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		}), "", 400, "invalid_request", 90100},
		{"unknown client", v2, form(func(f url.Values) { f.Set("client_id", "11111111-2222-3333-4444-555555555555") }), "", 400, "unauthorized_client", 700016},
		{"disabled identity", v2, form(func(f url.Values) { f.Set("client_id", disabled.ClientID) }), "", 400, "unauthorized_client", 7000112},
		{"identity without federated credentials", v2, form(func(f url.Values) { f.Set("client_id", w.source.ClientID) }), "", 400, "invalid_request", 70021},
		{"untrusted issuer", v2, form(func(f url.Values) { f.Set("client_id", w.stranger.ClientID) }), "", 401, "invalid_client", 700211},
		{"wrong subject", v2, form(func(f url.Values) {
			f.Set("client_assertion", w.assertion(t, w.stranger, lanyard.DefaultFederatedAudience, now))
		}), "", 401, "invalid_client", 700213},
		{"wrong audience", v2, form(func(f url.Values) {
			f.Set("client_assertion", w.assertion(t, w.source, "https://storage.azure.com", now))
		}), "", 401, "invalid_client", 700212},
		{"expired", v2, form(func(f url.Values) {
			f.Set("client_assertion", w.assertion(t, w.source, lanyard.DefaultFederatedAudience, now.Add(-3*time.Hour)))
		}), "", 401, "invalid_client", 700024},
		{"alg none", v2, form(func(f url.Values) { f.Set("client_assertion", algNone) }), "", 401, "invalid_client", 700027},
		{"tampered", v2, form(func(f url.Values) {
			f.Set("client_assertion", parts[0]+"."+parts[1]+"."+parts[2][:len(parts[2])-4]+"AAAA")
		}), "", 401, "invalid_client", 700027},
		{"malformed", v2, form(func(f url.Values) { f.Set("client_assertion", "not.a.jwt!") }), "", 400, "invalid_request", 50027},
		{"issuer unreachable", v2, form(func(f url.Values) { f.Set("client_id", down.ClientID); f.Set("client_assertion", tok.Raw) }), "", 400, "invalid_request", 50166},
	}
	fc := &federation.Credentials{Store: w.store, Identities: w.dir}
	if _, _, err := fc.Put(ctx, "rg", "down", "unreachable", federation.Spec{Issuer: "https://127.0.0.1:1/down/", Subject: w.source.PrincipalID}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := w.post(t, tc.path, tc.form, tc.contentType)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("refusal took %v", elapsed)
			}
			if res.status != tc.status {
				t.Errorf("status = %d, want %d; %s", res.status, tc.status, res.body)
			}
			body := decodeObject(t, res.body)
			if body["error"] != tc.error {
				t.Errorf("error = %v, want %s", body["error"], tc.error)
			}
			codes, _ := body["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != float64(tc.aadsts) {
				t.Errorf("error_codes = %v, want [%d]", body["error_codes"], tc.aadsts)
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS"+strconv.Itoa(tc.aadsts)+": ") || strings.Contains(desc, parts[1]) {
				t.Errorf("error_description = %q", desc)
			}
			for _, f := range []string{"trace_id", "correlation_id", "timestamp"} {
				if s, _ := body[f].(string); s == "" {
					t.Errorf("%s missing", f)
				}
			}
			if _, ok := body["access_token"]; ok {
				t.Error("a refusal carries an access token")
			}
		})
	}
}

func TestTokenEndpointMethods(t *testing.T) {
	w := newTokenWorld(t)
	res := fetch(t, w.srv, "GET", "/"+testTenant+"/oauth2/v2.0/token")
	if res.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", res.status)
	}
}

// Every code the exchange can fail with maps to a client error, never a 500.
func TestEveryExchangeCodeIsMapped(t *testing.T) {
	for _, code := range []string{
		federation.CodeUnknownClient, federation.CodeClientDisabled, federation.CodeNoCredentials,
		federation.CodeUntrustedIssuer, federation.CodeSubjectMismatch, federation.CodeAudienceMismatch,
		federation.CodeMalformed, federation.CodeTooLarge, federation.CodeMissingClaim, federation.CodeBadAlgorithm,
		federation.CodeUnknownKey, federation.CodeBadSignature, federation.CodeExpired, federation.CodeNotYetValid,
		federation.CodeIssuerUnavailable, federation.CodeAssertionRevoked,
	} {
		oe := exchangeError(&lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: code, Message: "m"})
		if oe.status >= 500 || oe.aadsts == 50000 {
			t.Errorf("%s maps to %d %s", code, oe.status, oe.code)
		}
	}
	if oe := exchangeError(lanyard.Errorf(lanyard.KindUnavailable, "down")); oe.status != 503 || oe.code != "temporarily_unavailable" {
		t.Errorf("unavailable store maps to %+v", oe)
	}
	if oe := exchangeError(io.ErrUnexpectedEOF); oe.status != 500 || strings.Contains(oe.msg, "EOF") {
		t.Errorf("internal error maps to %+v", oe)
	}
}

// Every answer is recorded, for the audit trail: who, through which credential, and why not.
func TestTokenEndpointRecordsAnswers(t *testing.T) {
	w := newTokenWorld(t)
	var (
		mu      sync.Mutex
		records []TokenRecord
	)
	w.h.Token.Record = func(_ context.Context, r TokenRecord) {
		mu.Lock()
		defer mu.Unlock()
		records = append(records, r)
	}
	assertion := w.assertion(t, w.source, lanyard.DefaultFederatedAudience, time.Now())
	v2 := "/" + testTenant + "/oauth2/v2.0/token"
	if res := w.post(t, v2, goForm(w.target.ClientID, assertion, "https://storage.azure.com/.default"), ""); res.status != 200 {
		t.Fatalf("issue: %d %s", res.status, res.body)
	}
	w.post(t, v2, goForm(w.stranger.ClientID, assertion, "https://storage.azure.com/.default"), "")
	mu.Lock()
	defer mu.Unlock()
	if len(records) != 2 {
		t.Fatalf("records = %+v", records)
	}
	ok, no := records[0], records[1]
	if ok.PrincipalID != w.target.PrincipalID || ok.Credential != "from-source" || ok.Subject != w.source.PrincipalID ||
		ok.Issuer != w.issuerURL || ok.Resource != "https://storage.azure.com" || ok.TokenID == "" || ok.Error != "" {
		t.Errorf("issued record = %+v", ok)
	}
	if no.PrincipalID != w.stranger.PrincipalID || no.Error != "invalid_client" || no.AADSTS != 700211 || no.TokenID != "" {
		t.Errorf("refused record = %+v", no)
	}
}
