package token

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/keys"
)

// FuzzVerify feeds Verify arbitrary strings. It must never panic, and it may accept only
// a token whose content the keyring signed: the claims of an accepted token must be
// exactly those of a token Issue returned.
//
//	go test -run='^$' -fuzz=FuzzVerify -fuzztime=30s ./internal/token
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, keys.Options{})
	now := fx.clock.Now()
	v := *fx.verifier
	v.MatchAudience = SameResource

	issued := map[string]Claims{} // by uti
	var tokens []string
	for _, aud := range []string{testAudience, testAudience + "/"} {
		req := fx.request()
		req.Audience = aud
		tok := fx.issue(f, req)
		c, err := v.Verify(tok.Raw, now)
		if err != nil {
			f.Fatal(err)
		}
		issued[c.UTI] = c
		tokens = append(tokens, tok.Raw)
	}

	rsaKey, ecKey := foreignKeys(f)
	valid := tokens[0]
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	kid := fx.keyring.Signer().KeyID()
	pub, _ := fx.keyring.PublicKey(kid)
	pkix, _ := x509.MarshalPKIXPublicKey(pub)

	seeds := append(tokens,
		"",
		".",
		"..",
		"a.b.c",
		valid[:len(valid)/2],
		valid[:len(valid)-1],
		valid+"A",
		parts[0]+"."+parts[1]+".",
		parts[0]+"."+strings.Split(tokens[1], ".")[1]+"."+parts[2],
		noneToken(f, kid, payload, ""),
		noneToken(f, kid, payload, parts[2]),
		hs256(f, kid, pkix, payload),
		hs256(f, kid, pub.N.Bytes(), payload),
		joseSign(f, jose.ES256, ecKey, kid, "JWT", payload),
		joseSign(f, jose.RS256, rsaKey, kid, "JWT", payload),
		joseSign(f, jose.PS256, rsaKey, kid, "JWT", payload),
		b64json(f, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT", "crit": []string{"b64"}, "b64": false})+"."+parts[1]+"."+parts[2],
		b64json(f, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT", "jwk": map[string]string{"kty": "oct", "k": "AAAA"}})+"."+parts[1]+"."+parts[2],
		b64json(f, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT", "x5c": []string{"AAAA"}})+"."+parts[1]+"."+parts[2],
		b64json(f, map[string]any{"alg": []string{"RS256"}, "kid": kid})+"."+parts[1]+"."+parts[2],
		b64json(f, map[string]any{"alg": "RS256", "kid": map[string]string{"a": "b"}})+"."+parts[1]+"."+parts[2],
	)
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(raw, now)
		if err != nil {
			assertNoLeak(t, raw, err)
			return
		}
		want, ok := issued[c.UTI]
		if !ok {
			t.Fatalf("accepted a token Lanyard never issued: %+v", c)
		}
		if c != want {
			t.Fatalf("accepted altered claims:\n got %+v\nwant %+v", c, want)
		}
	})
}
