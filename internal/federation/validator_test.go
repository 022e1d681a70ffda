package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// clock is a settable time source shared by a Validator and its IssuerKeys.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a validator whose key source trusts the test issuers' certificates.
type fixture struct {
	clock *clock
	keys  *IssuerKeys
	v     *Validator
}

func newFixture(t *testing.T, iss *testIssuer) *fixture {
	t.Helper()
	c := newClock()
	k := &IssuerKeys{Client: iss.client(), Now: c.Now, FetchTimeout: 2 * time.Second}
	return &fixture{clock: c, keys: k, v: &Validator{Keys: k, Now: c.Now}}
}

func credential(name, issuer, subject string, audiences ...string) lanyard.FederatedCredential {
	if len(audiences) == 0 {
		audiences = []string{lanyard.DefaultFederatedAudience}
	}
	return lanyard.FederatedCredential{Name: name, IdentityPrincipalID: "p", Issuer: issuer, Subject: subject, Audiences: audiences}
}

// wantCode checks err's code (and that it is quick to come back is the caller's business).
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want %s", what, code)
	}
	if got := lanyard.CodeOf(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %s", what, err, got, code)
	}
	if msg := lanyard.MessageOf(err); msg == "" || strings.Contains(msg, "eyJ") {
		t.Fatalf("%s: message %q is empty or contains the assertion", what, msg)
	}
}

func TestValidateAssertions(t *testing.T) {
	gh := newTestIssuer(t, "")
	f := newFixture(t, gh)
	now := f.clock.Now()
	ghCred := credential("github-main", gh.url, "repo:org/repo:ref:refs/heads/main")
	creds := []lanyard.FederatedCredential{
		credential("github-prod", gh.url, "repo:org/repo:environment:prod"),
		ghCred,
	}
	claims := func(edit func(map[string]any)) map[string]any {
		c := githubClaims(gh.url, now)
		if edit != nil {
			edit(c)
		}
		return c
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // the point: a key too weak to trust
	if err != nil {
		t.Fatal(err)
	}
	gh.addKey("weak", jose.RS256, weak, true)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	gh.addKey("ec-384", jose.ES384, p384, true)
	gh.addKey("ps-1", jose.PS256, testRSAKey(1), true)
	pubDER, _ := x509.MarshalPKIXPublicKey(&testRSAKey(0).PublicKey)

	cases := []struct {
		name   string
		raw    string
		creds  []lanyard.FederatedCredential
		code   string // "" for success
		fetchs bool   // whether the issuer may be contacted
	}{
		{name: "GitHub Actions, RS256", raw: gh.sign("rsa-1", claims(nil)), fetchs: true},
		{name: "ES256", raw: gh.sign("ec-1", claims(nil)), fetchs: true},
		{name: "ES384", raw: gh.sign("ec-384", claims(nil)), fetchs: true},
		{name: "PS256", raw: gh.sign("ps-1", claims(nil)), fetchs: true},
		{name: "PS256 on a key published for RS256 only", raw: signWith(t, jose.PS256, testRSAKey(0), "rsa-1", claims(nil)), code: CodeUnknownKey, fetchs: true},
		{name: "no kid: every published key is tried", raw: gh.sign("", claims(nil)), fetchs: true},
		{name: "trailing newline, as Go sends the file", raw: gh.sign("rsa-1", claims(nil)) + "\n", fetchs: true},
		{name: "surrounding white space", raw: " \t" + gh.sign("rsa-1", claims(nil)) + "\r\n", fetchs: true},
		{name: "one of several audiences", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["aud"] = []string{"other", "api://AzureADTokenExchange"} })), fetchs: true},
		{name: "expired within the skew", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), fetchs: true},
		{name: "second credential of the issuer", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["sub"] = "repo:org/repo:environment:prod" })), fetchs: true},

		{name: "untrusted issuer", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["iss"] = "https://token.actions.githubusercontent.com" })), code: CodeUntrustedIssuer},
		{name: "issuer differing by a trailing slash", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["iss"] = gh.url + "/" })), code: CodeUntrustedIssuer},
		{name: "no credentials at all", raw: gh.sign("rsa-1", claims(nil)), creds: []lanyard.FederatedCredential{}, code: CodeNoCredentials},
		{name: "wrong subject", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["sub"] = "repo:org/repo:ref:refs/heads/dev" })), code: CodeSubjectMismatch, fetchs: true},
		{name: "subject differing in case", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["sub"] = "repo:Org/repo:ref:refs/heads/main" })), code: CodeSubjectMismatch, fetchs: true},
		{name: "wrong audience", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["aud"] = "https://github.com/org" })), code: CodeAudienceMismatch, fetchs: true},
		{name: "audience differing in case", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["aud"] = "api://azureadtokenexchange" })), code: CodeAudienceMismatch, fetchs: true},
		{name: "expired", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), code: CodeExpired},
		{name: "not yet valid (nbf)", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), code: CodeNotYetValid},
		{name: "issued in the future (iat)", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })), code: CodeNotYetValid},
		{name: "no exp", raw: gh.sign("rsa-1", claims(func(c map[string]any) { delete(c, "exp") })), code: CodeMissingClaim},
		{name: "no sub", raw: gh.sign("rsa-1", claims(func(c map[string]any) { delete(c, "sub") })), code: CodeMissingClaim},
		{name: "no aud", raw: gh.sign("rsa-1", claims(func(c map[string]any) { delete(c, "aud") })), code: CodeMissingClaim},
		{name: "iss of the wrong type", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["iss"] = 7 })), code: CodeMalformed},
		{name: "exp of the wrong type", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["exp"] = "tomorrow" })), code: CodeMalformed},
		{name: "alg none, empty signature", raw: unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), ""), code: CodeMalformed},
		{name: "alg none, with a signature", raw: unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), "AAAA"), code: CodeBadAlgorithm},
		{name: "HS256 keyed with the issuer's public key", raw: signWith(t, jose.HS256, pubDER, "rsa-1", claims(nil)), code: CodeBadAlgorithm},
		{name: "HS256 with a guessed secret", raw: signWith(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "", claims(nil)), code: CodeBadAlgorithm},
		{name: "EdDSA", raw: unsigned(t, map[string]any{"alg": "EdDSA", "kid": "rsa-1"}, claims(nil), "AAAA"), code: CodeBadAlgorithm},
		{name: "forged: right kid, another key", raw: signWith(t, jose.RS256, other, "rsa-1", claims(nil)), code: CodeBadSignature, fetchs: true},
		{name: "forged: no kid, another key", raw: signWith(t, jose.RS256, other, "", claims(nil)), code: CodeBadSignature, fetchs: true},
		{name: "RS256 header on the EC key", raw: signWith(t, jose.RS256, other, "ec-1", claims(nil)), code: CodeUnknownKey, fetchs: true},
		{name: "unknown kid", raw: signWith(t, jose.RS256, other, "rsa-9", claims(nil)), code: CodeUnknownKey, fetchs: true},
		{name: "key too weak to trust", raw: gh.sign("weak", claims(nil)), code: CodeUnknownKey, fetchs: true},
		{name: "tampered payload", raw: tamper(gh.sign("rsa-1", claims(nil))), code: CodeBadSignature, fetchs: true},
		{name: "too large", raw: gh.sign("rsa-1", claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", DefaultMaxAssertionSize) })), code: CodeTooLarge},
		{name: "not a JWT", raw: "not-a-jwt", code: CodeMalformed},
		{name: "JWE-shaped", raw: "a.b.c.d.e", code: CodeMalformed},
		{name: "line break inside", raw: strings.Replace(gh.sign("rsa-1", claims(nil)), ".", ".\n", 1), code: CodeMalformed},
		{name: "empty", raw: "", code: CodeMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := creds
			if tc.creds != nil {
				cs = tc.creds
			}
			before := gh.fetches()
			start := time.Now()
			m, err := f.v.Validate(t.Context(), cs, tc.raw)
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %v", elapsed)
			}
			if !tc.fetchs && gh.fetches() != before {
				t.Errorf("the issuer was contacted for an assertion refused without its keys")
			}
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if m.Issuer != gh.url || m.Credential.Issuer != gh.url || m.Subject != m.Credential.Subject || m.Audience != lanyard.DefaultFederatedAudience {
				t.Errorf("match = %+v", m)
			}
		})
	}
	// All those keys came from one fetch, plus at most one rate-limited refresh.
	if n := gh.fetches(); n < 1 || n > 2 {
		t.Errorf("the issuer was fetched %d times", n)
	}
}

func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	payload := []byte(parts[1])
	payload[len(payload)/2] ^= 1
	if payload[len(payload)/2] == '.' {
		payload[len(payload)/2] = 'A'
	}
	parts[1] = string(payload)
	return strings.Join(parts, ".")
}

// Kubernetes: an issuer URL with a path and a trailing slash, an audience array, no typ.
func TestValidateKubernetesServiceAccountToken(t *testing.T) {
	aks := newTestIssuer(t, "/7f1c3a2e-5b6d-4c8e-9a0f-1b2c3d4e5f60/")
	f := newFixture(t, aks)
	creds := []lanyard.FederatedCredential{credential("aks", aks.url, "system:serviceaccount:ns:sa")}
	claims := kubernetesClaims(aks.url, f.clock.Now())
	raw := kubernetesToken(t, aks, claims)
	m, err := f.v.Validate(t.Context(), creds, raw)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if m.Subject != "system:serviceaccount:ns:sa" || m.Credential.Name != "aks" {
		t.Errorf("match = %+v", m)
	}
	claims["sub"] = "system:serviceaccount:ns:other"
	_, err = f.v.Validate(t.Context(), creds, kubernetesToken(t, aks, claims))
	wantCode(t, "another service account", err, CodeSubjectMismatch)
}

// kubernetesToken signs as the API server does: RS256, a kid, no typ header.
func kubernetesToken(t *testing.T, _ *testIssuer, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: testRSAKey(0)}, (&jose.SignerOptions{}).WithHeader("kid", "rsa-1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
