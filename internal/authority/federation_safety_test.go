package authority

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// A Lanyard token that no resource would accept any more is no assertion either: revoked
// by its uti, revoked with its principal, or of an identity disabled or deleted since.
func TestTokenEndpointRefusesSpentLanyardAssertions(t *testing.T) {
	w := newTokenWorld(t)
	ctx := t.Context()
	fc := &federation.Credentials{Store: w.store, Identities: w.dir}
	source := func(name string) lanyard.Identity {
		id, _, err := w.dir.PutIdentity(ctx, "rg", name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := fc.Put(ctx, "rg", "target", "from-"+name, federation.Spec{Issuer: w.issuerURL, Subject: id.PrincipalID}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	issue := func(id lanyard.Identity, at time.Time) token.Token {
		iss := *w.issuer
		iss.Now = func() time.Time { return at }
		tok, err := iss.Issue(token.Request{TenantID: testTenant, IssuerURL: w.issuerURL, Audience: lanyard.DefaultFederatedAudience, Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	exchange := func(t *testing.T, raw string) response {
		t.Helper()
		return w.post(t, "/"+testTenant+"/oauth2/v2.0/token", goForm(w.target.ClientID, raw, "https://storage.azure.com/.default"), "")
	}
	accepted := func(t *testing.T, what, raw string) {
		t.Helper()
		if res := exchange(t, raw); res.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", what, res.status, res.body)
		}
	}
	refused := func(t *testing.T, what, raw string, leaks ...string) {
		t.Helper()
		res := exchange(t, raw)
		body := decodeObject(t, res.body)
		codes, _ := body["error_codes"].([]any)
		if res.status != http.StatusUnauthorized || body["error"] != "invalid_client" || len(codes) != 1 || codes[0] != float64(700213) {
			t.Fatalf("%s: status %d: %s; want 401 invalid_client AADSTS700213", what, res.status, res.body)
		}
		desc, _ := body["error_description"].(string)
		if !strings.Contains(desc, "no longer valid") {
			t.Errorf("%s: error_description = %q", what, desc)
		}
		for _, l := range leaks {
			if strings.Contains(desc, l) {
				t.Errorf("%s: error_description %q tells %q", what, desc, l)
			}
		}
	}
	now := time.Now()

	t.Run("revoked by uti", func(t *testing.T) {
		id := source("revoked-token")
		tok := issue(id, now)
		accepted(t, "before the revocation", tok.Raw)
		if _, err := w.revs.RevokeToken(ctx, tok.UTI, id.PrincipalID, tok.ExpiresAt, "test", "test"); err != nil {
			t.Fatal(err)
		}
		refused(t, "revoked token", tok.Raw, tok.UTI)
		accepted(t, "another token of the same identity", issue(id, now).Raw)
	})
	t.Run("revoked by principal", func(t *testing.T) {
		id := source("revoked-principal")
		old := issue(id, now.Add(-2*time.Minute))
		accepted(t, "before the revocation", old.Raw)
		if _, err := w.revs.RevokePrincipal(ctx, id.PrincipalID, now.Add(-time.Minute), "test", "test"); err != nil {
			t.Fatal(err)
		}
		refused(t, "token issued before the principal's revocation", old.Raw, id.PrincipalID)
		accepted(t, "token issued after it", issue(id, now).Raw)
	})
	t.Run("disabled identity", func(t *testing.T) {
		id := source("disabled-source")
		tok := issue(id, now)
		accepted(t, "while enabled", tok.Raw)
		if _, err := w.dir.SetIdentityEnabled(ctx, id.PrincipalID, false); err != nil {
			t.Fatal(err)
		}
		refused(t, "disabled identity", tok.Raw, "disabled")
		if _, err := w.dir.SetIdentityEnabled(ctx, id.PrincipalID, true); err != nil {
			t.Fatal(err)
		}
		accepted(t, "enabled again", tok.Raw)
	})
	t.Run("deleted identity", func(t *testing.T) {
		id := source("deleted-source")
		tok := issue(id, now)
		accepted(t, "before the deletion", tok.Raw)
		if err := w.dir.DeleteIdentity(ctx, "rg", "deleted-source"); err != nil {
			t.Fatal(err)
		}
		refused(t, "deleted identity", tok.Raw, "exist")
	})
	if n := w.keys.Fetches(); n != 0 {
		t.Errorf("%d metadata fetches for Lanyard's own tokens, want none", n)
	}
}

// Whatever an issuer's host does (answer 404 or 401, name another issuer, refuse the
// connection, or sit on an address Lanyard may not contact), the caller gets one and the
// same refusal: the token endpoint is no probe of what the issuer's URL points at.
func TestTokenEndpointIssuerFailuresLookAlike(t *testing.T) {
	w := newTokenWorld(t)
	ctx := t.Context()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var base string
	writeJSON := func(rw http.ResponseWriter, v any) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /good/.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, map[string]string{"issuer": base + "/good", "jwks_uri": base + "/good/keys"})
	})
	mux.HandleFunc("GET /good/keys", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /401/.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("WWW-Authenticate", `Basic realm="intranet-secret"`)
		http.Error(rw, `{"issuer":"intranet-secret"}`, http.StatusUnauthorized)
	})
	mux.HandleFunc("GET /wrong/.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, map[string]string{"issuer": "https://intranet-secret.example/", "jwks_uri": base + "/good/keys"})
	})
	issuerSrv := httptest.NewTLSServer(mux) // /404 is anything else
	t.Cleanup(issuerSrv.Close)
	base = issuerSrv.URL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String() + "/closed"
	ln.Close()

	if _, _, err := w.dir.PutIdentity(ctx, "rg", "ext", "", nil); err != nil {
		t.Fatal(err)
	}
	ext, err := w.dir.GetIdentity(ctx, "rg", "ext")
	if err != nil {
		t.Fatal(err)
	}
	fc := &federation.Credentials{Store: w.store, Identities: w.dir}
	for name, issuer := range map[string]string{"good": base + "/good", "e404": base + "/404", "e401": base + "/401", "wrong": base + "/wrong", "closed": closed} {
		if _, _, err := fc.Put(ctx, "rg", "ext", name, federation.Spec{Issuer: issuer, Subject: "workload"}); err != nil {
			t.Fatal(err)
		}
	}
	assertion := func(issuer string) string {
		now := time.Now()
		return signWith(t, key, "k1", map[string]any{"iss": issuer, "sub": "workload", "aud": lanyard.DefaultFederatedAudience,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	}
	validator := w.h.Token.Exchanger.(*federation.Exchanger).Validator
	client := func(allow ...string) *http.Client {
		p := &federation.AddressPolicy{}
		for _, a := range allow {
			p.Allow = append(p.Allow, netip.MustParsePrefix(a))
		}
		tr := issuerSrv.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: time.Second, Control: p.Control}).DialContext
		return &http.Client{Transport: tr}
	}
	exchange := func(t *testing.T, c *http.Client, issuer string) response {
		t.Helper()
		// A fresh cache each time: no failure is answered from another's.
		validator.Keys = &federation.IssuerKeys{Client: c, FetchTimeout: 2 * time.Second}
		return w.post(t, "/"+testTenant+"/oauth2/v2.0/token", goForm(ext.ClientID, assertion(issuer), "https://storage.azure.com/.default"), "")
	}
	// What the caller sees, less the ids and time that differ in every answer.
	seen := func(t *testing.T, res response) string {
		t.Helper()
		body := decodeObject(t, res.body)
		desc, _ := body["error_description"].(string)
		desc, _, _ = strings.Cut(desc, " Trace ID: ")
		body["error_description"] = desc
		delete(body, "trace_id")
		delete(body, "correlation_id")
		delete(body, "timestamp")
		out, _ := json.Marshal(map[string]any{"status": res.status, "body": body})
		return string(out)
	}

	loopbackAllowed := client("127.0.0.0/8")
	cases := []struct {
		name   string
		client *http.Client
		issuer string
	}{
		{"loopback issuer, not allowed", client(), base + "/good"},
		{"loopback issuer, allowed network excludes it", client("10.0.0.0/8", "::1/128"), base + "/good"},
		{"404", loopbackAllowed, base + "/404"},
		{"401", loopbackAllowed, base + "/401"},
		{"another issuer named", loopbackAllowed, base + "/wrong"},
		{"connection refused", loopbackAllowed, closed},
	}
	var first string
	for _, tc := range cases {
		got := seen(t, exchange(t, tc.client, tc.issuer))
		for _, leak := range []string{"intranet-secret", "401", "404", "unreachable", "127.0.0.1", "refused", "allowed"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: the refusal tells %q: %s", tc.name, leak, got)
			}
		}
		if !strings.Contains(got, federation.IssuerUnavailableMessage) || !strings.Contains(got, "50166") {
			t.Errorf("%s: refusal %s", tc.name, got)
		}
		if first == "" {
			first = got
		} else if got != first {
			t.Errorf("%s: refusal\n%s\ndiffers from\n%s", tc.name, got, first)
		}
	}

	// The same issuer, allowed: a token.
	if res := exchange(t, loopbackAllowed, base+"/good"); res.status != http.StatusOK {
		t.Fatalf("allowed loopback issuer: status %d: %s", res.status, res.body)
	}
}

func signWith(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
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
