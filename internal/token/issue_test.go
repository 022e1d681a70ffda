package token

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func decodeSegment(t *testing.T, raw string, i int) (map[string]any, []byte) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, b
}

func TestIssueClaims(t *testing.T) {
	f := newFixture(t, keys.Options{})
	now := f.clock.Now()
	tok := f.issue(t, f.request())

	claims, payload := decodeSegment(t, tok.Raw, 1)
	wantKeys := []string{"aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "idtyp", "oid", "rh", "sub", "tid", "uti", "ver", "xms_mirid"}
	var got []string
	for k := range claims {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Clone(wantKeys)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("claims %v, want %v", got, want)
	}
	// Entra's order, for anyone diffing tokens by eye.
	if !strings.HasPrefix(string(payload), `{"aud":"https://storage.azure.com","iss":`) {
		t.Errorf("payload starts %s", payload[:min(len(payload), 60)])
	}

	exact := map[string]any{
		"aud":       testAudience,
		"iss":       testIssuer,
		"idp":       testIssuer,
		"iat":       float64(now.Unix()),
		"nbf":       float64(now.Unix()),
		"exp":       float64(now.Add(time.Hour).Unix()),
		"appid":     testIdentity.ClientID,
		"appidacr":  "2",
		"idtyp":     "app",
		"oid":       testIdentity.PrincipalID,
		"sub":       testIdentity.PrincipalID,
		"tid":       testTenant,
		"ver":       "1.0",
		"xms_mirid": testIdentity.ResourceID,
	}
	for k, v := range exact {
		if claims[k] != v {
			t.Errorf("%s = %v, want %v", k, claims[k], v)
		}
	}
	for k, n := range map[string]int{"uti": 16, "aio": 32, "rh": 16} {
		s, _ := claims[k].(string)
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != n {
			t.Errorf("%s = %q: want %d random bytes, base64url", k, s, n)
		}
	}

	header, _ := decodeSegment(t, tok.Raw, 0)
	kid := f.keyring.Signer().KeyID()
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] != kid || header["x5t"] != kid {
		t.Errorf("header %v", header)
	}

	if tok.UTI != claims["uti"] || tok.KeyID != kid || !tok.IssuedAt.Equal(now) || !tok.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("Token = %+v", tok)
	}
}

// TestIssueStandardJWT checks the token with go-jose's generic JWT validation, as a
// third-party resource server would.
func TestIssueStandardJWT(t *testing.T) {
	f := newFixture(t, keys.Options{})
	tok := f.issue(t, f.request())
	parsed, err := jwt.ParseSigned(tok.Raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var set = f.keyring.JWKS(f.clock.Now())
	key := set.Key(parsed.Headers[0].KeyID)
	if len(key) != 1 {
		t.Fatal("kid not in JWKS")
	}
	var std jwt.Claims
	if err := parsed.Claims(key[0].Key, &std); err != nil {
		t.Fatal(err)
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{testAudience}, Subject: testIdentity.PrincipalID, Time: f.clock.Now()}, 0)
	if err != nil {
		t.Fatal(err)
	}
}

func TestIssueEchoesAudience(t *testing.T) {
	f := newFixture(t, keys.Options{})
	for _, aud := range []string{
		"https://storage.azure.com",
		"https://storage.azure.com/",
		"https://management.core.windows.net/",
		"https://database.windows.net//",
		"e406a681-f3d4-42a8-90b6-c2b029497af1",
		"api://Some-App/with spaces & \"quotes\" <and> ünicode",
	} {
		req := f.request()
		req.Audience = aud
		claims, _ := decodeSegment(t, f.issue(t, req).Raw, 1)
		if claims["aud"] != aud {
			t.Errorf("aud = %q, want %q", claims["aud"], aud)
		}
	}
}

func TestIssueLifetime(t *testing.T) {
	for _, tc := range []struct {
		name       string
		issuerLife time.Duration
		reqLife    time.Duration
		keyMax     time.Duration
		want       time.Duration
	}{
		{"default", 0, 0, 0, time.Hour},
		{"issuer's", 2 * time.Hour, 0, 0, 2 * time.Hour},
		{"request overrides issuer", 2 * time.Hour, 30 * time.Minute, 0, 30 * time.Minute},
		{"entra-like 24h", 0, 24 * time.Hour, 0, 24 * time.Hour},
		{"clamped to 24h", 0, 48 * time.Hour, 0, 24 * time.Hour},
		{"issuer clamped to 24h", 100 * time.Hour, 0, 0, 24 * time.Hour},
		{"clamped to keyring max", 0, 10 * time.Hour, 2 * time.Hour, 2 * time.Hour},
		{"keyring max above 24h", 0, 30 * time.Hour, 48 * time.Hour, 24 * time.Hour},
		{"whole seconds", 0, 90*time.Second + 700*time.Millisecond, 0, 90 * time.Second},
		{"at least a second", 0, time.Millisecond, 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, keys.Options{MaxTokenLifetime: tc.keyMax})
			f.issuer.Lifetime = tc.issuerLife
			req := f.request()
			req.Lifetime = tc.reqLife
			tok := f.issue(t, req)
			if got := tok.ExpiresAt.Sub(tok.IssuedAt); got != tc.want {
				t.Fatalf("lifetime %v, want %v", got, tc.want)
			}
			claims, _ := decodeSegment(t, tok.Raw, 1)
			if got := claims["exp"].(float64) - claims["iat"].(float64); got != tc.want.Seconds() {
				t.Fatalf("exp-iat = %v s, want %v", got, tc.want.Seconds())
			}
		})
	}
}

func TestIssueRejects(t *testing.T) {
	f := newFixture(t, keys.Options{})
	for _, tc := range []struct {
		name   string
		mutate func(*Request)
		kind   lanyard.Kind
	}{
		{"no tenant", func(r *Request) { r.TenantID = "" }, lanyard.KindInvalid},
		{"no issuer", func(r *Request) { r.IssuerURL = "" }, lanyard.KindInvalid},
		{"no audience", func(r *Request) { r.Audience = "" }, lanyard.KindInvalid},
		{"no principal id", func(r *Request) { r.Identity.PrincipalID = "" }, lanyard.KindInvalid},
		{"no client id", func(r *Request) { r.Identity.ClientID = "" }, lanyard.KindInvalid},
		{"negative lifetime", func(r *Request) { r.Lifetime = -time.Second }, lanyard.KindInvalid},
		{"disabled identity", func(r *Request) { r.Identity.Enabled = false }, lanyard.KindPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request()
			tc.mutate(&req)
			tok, err := f.issuer.Issue(req)
			if err == nil {
				t.Fatal("Issue succeeded")
			}
			if lanyard.KindOf(err) != tc.kind {
				t.Fatalf("kind %v, want %v (%v)", lanyard.KindOf(err), tc.kind, err)
			}
			if tok.Raw != "" {
				t.Fatal("a token came back with the error")
			}
		})
	}
	f.issuer.Lifetime = -time.Hour
	if _, err := f.issuer.Issue(f.request()); lanyard.KindOf(err) != lanyard.KindInvalid {
		t.Fatalf("negative issuer lifetime: %v", err)
	}
}

func TestIssueSystemAssignedWithoutResourceID(t *testing.T) {
	f := newFixture(t, keys.Options{})
	req := f.request()
	req.Identity.ResourceID = ""
	claims, _ := decodeSegment(t, f.issue(t, req).Raw, 1)
	if _, ok := claims["xms_mirid"]; ok {
		t.Fatal("empty xms_mirid written")
	}
}

func TestIssueUniqueValues(t *testing.T) {
	f := newFixture(t, keys.Options{})
	seen := map[string]bool{}
	for range 50 {
		claims, _ := decodeSegment(t, f.issue(t, f.request()).Raw, 1)
		for _, k := range []string{"uti", "aio", "rh"} {
			v := k + "=" + claims[k].(string)
			if seen[v] {
				t.Fatalf("%s repeated", k)
			}
			seen[v] = true
		}
	}
}

func TestIssueAfterRotation(t *testing.T) {
	f := newFixture(t, keys.Options{})
	before := f.issue(t, f.request())
	k, err := f.keyring.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	after := f.issue(t, f.request())
	if after.KeyID != k.ID || before.KeyID == after.KeyID {
		t.Fatalf("key ids %s then %s, want the new key %s", before.KeyID, after.KeyID, k.ID)
	}
	for _, tok := range []Token{before, after} {
		if _, err := f.verifier.Verify(tok.Raw, f.clock.Now()); err != nil {
			t.Fatalf("token by %s: %v", tok.KeyID, err)
		}
	}
}
