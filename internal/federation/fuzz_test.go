package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// staticKeys is a KeySource with fixed keys: fuzzing must not touch the network.
type staticKeys []jose.JSONWebKey

func (s staticKeys) Keys(context.Context, string, bool) ([]jose.JSONWebKey, error) { return s, nil }

// FuzzValidateAssertion feeds arbitrary assertions to the validator. It must never panic,
// must answer every refusal with a code, and may accept only what the issuer's key signed.
func FuzzValidateAssertion(f *testing.F) {
	const issuer = "https://issuer.example"
	now := time.Unix(1_900_000_000, 0)
	rsaKey := testRSAKey(0)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	keys := staticKeys{
		{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &ecKey.PublicKey, KeyID: "ec-1"},
	}
	v := &Validator{Keys: keys, Now: func() time.Time { return now }}
	creds := []lanyard.FederatedCredential{credential("c", issuer, "repo:org/repo:ref:refs/heads/main")}

	claims := githubClaims(issuer, now)
	f.Add(signWith(f, jose.RS256, rsaKey, "rsa-1", claims))
	f.Add(signWith(f, jose.ES256, ecKey, "ec-1", claims) + "\n")
	f.Add(signWith(f, jose.ES256, ecKey, "", claims))
	f.Add(signWith(f, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "rsa-1", claims))
	f.Add(unsigned(f, map[string]any{"alg": "none"}, claims, ""))
	f.Add(unsigned(f, map[string]any{"alg": "RS256", "kid": "rsa-1", "crit": []string{"exp"}}, claims, "AAAA"))
	f.Add(unsigned(f, map[string]any{"alg": "RS256", "jku": "https://127.0.0.1:1/keys"}, map[string]any{"iss": issuer, "exp": 1e300}, "AAAA"))
	f.Add("eyJ.eyJ.sig")
	f.Add("a.b.c")
	f.Add("")

	f.Fuzz(func(t *testing.T, raw string) {
		m, err := v.Validate(t.Context(), creds, raw)
		if err != nil {
			if lanyard.CodeOf(err) == "" || lanyard.KindOf(err) == lanyard.KindInternal {
				t.Fatalf("refusal without a code, or internal: %v", err)
			}
			return
		}
		// Accepted: the trimmed input must really be signed by one of the keys.
		jws, perr := jose.ParseSignedCompact(strings.TrimSpace(raw), Algorithms)
		if perr != nil {
			t.Fatalf("accepted an assertion go-jose cannot parse: %v", perr)
		}
		ok := false
		for _, k := range keys {
			if _, verr := jws.Verify(k.Key); verr == nil {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("accepted an assertion no key signed")
		}
		if m.Issuer != issuer || m.Subject != creds[0].Subject || m.Audience != lanyard.DefaultFederatedAudience {
			t.Fatalf("accepted with the wrong claims: %+v", m)
		}
	})
}
