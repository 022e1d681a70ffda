package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

var (
	foreignOnce sync.Once
	foreignRSA  *rsa.PrivateKey
	foreignEC   *ecdsa.PrivateKey
)

func foreignKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	foreignOnce.Do(func() {
		foreignRSA, _ = rsa.GenerateKey(rand.Reader, 2048)
		foreignEC, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	return foreignRSA, foreignEC
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// joseSign signs payload with key under alg, with header kid and typ JWT.
func joseSign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, typ string, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hs256 forges the classic alg-confusion token: HMAC keyed with the public key.
func hs256(t testing.TB, kid string, secret, payload []byte) string {
	t.Helper()
	signing := b64json(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + b64(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return signing + "." + b64(m.Sum(nil))
}

func noneToken(t testing.TB, kid string, payload []byte, sig string) string {
	t.Helper()
	return b64json(t, map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + b64(payload) + "." + sig
}

// ownPayload signs arbitrary claims with the keyring's active key.
func ownPayload(t testing.TB, f *fixture, claims any) string {
	t.Helper()
	var b []byte
	if s, ok := claims.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(claims); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := f.keyring.Signer().Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func payloadOf(t testing.TB, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestVerifyRoundTrip(t *testing.T) {
	f := newFixture(t, keys.Options{})
	tok := f.issue(t, f.request())
	c, err := f.verifier.Verify(tok.Raw, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := payloadOf(t, tok.Raw)
	now := f.clock.Now()
	want := Claims{
		Audience: testAudience, Issuer: testIssuer, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour),
		AppID: testIdentity.ClientID, AppIDACR: "2", IdP: testIssuer, IDType: "app",
		ObjectID: testIdentity.PrincipalID, Subject: testIdentity.PrincipalID, TenantID: testTenant,
		UTI: tok.UTI, Version: "1.0", MIResourceID: testIdentity.ResourceID,
		AIO: p["aio"].(string), RH: p["rh"].(string), KeyID: tok.KeyID,
	}
	if !c.IssuedAt.Equal(want.IssuedAt) || !c.NotBefore.Equal(want.NotBefore) || !c.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("times %v %v %v", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	}
	c.IssuedAt, c.NotBefore, c.ExpiresAt = want.IssuedAt, want.NotBefore, want.ExpiresAt
	if c != want {
		t.Fatalf("claims\n got %+v\nwant %+v", c, want)
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t, keys.Options{})
	rsaKey, ecKey := foreignKeys(t)
	now := f.clock.Now()
	valid := f.issue(t, f.request())
	other := f.issue(t, f.request())
	kid := valid.KeyID
	parts := strings.Split(valid.Raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	good := payloadOf(t, valid.Raw)

	pub, _ := f.keyring.PublicKey(kid)
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)

	flipSig := func() string {
		sig := []byte(parts[2])
		i := len(sig) / 2
		if sig[i] == 'A' {
			sig[i] = 'B'
		} else {
			sig[i] = 'A'
		}
		return parts[0] + "." + parts[1] + "." + string(sig)
	}

	for _, tc := range []struct {
		name string
		raw  string
		at   time.Time
		code string
	}{
		// Shape.
		{"empty", "", now, CodeMalformed},
		{"one part", "abc", now, CodeMalformed},
		{"two parts", parts[0] + "." + parts[1], now, CodeMalformed},
		{"four parts", valid.Raw + ".x", now, CodeMalformed},
		{"empty payload", parts[0] + ".." + parts[2], now, CodeMalformed},
		{"empty signature", parts[0] + "." + parts[1] + ".", now, CodeMalformed},
		{"trailing dot", valid.Raw + ".", now, CodeMalformed},
		{"leading space", " " + valid.Raw, now, CodeMalformed},
		{"trailing newline", valid.Raw + "\n", now, CodeMalformed},
		{"newline inside", parts[0] + "." + parts[1][:10] + "\n" + parts[1][10:] + "." + parts[2], now, CodeMalformed},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], now, CodeMalformed},
		{"std alphabet", strings.ReplaceAll(valid.Raw, "-", "+") + "+", now, CodeMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, now, CodeMalformed},
		{"header not JSON", b64([]byte("nope")) + "." + parts[1] + "." + parts[2], now, CodeMalformed},
		{"header not base64", "!!!!." + parts[1] + "." + parts[2], now, CodeMalformed},
		{"bad base64 length", "A." + parts[1] + "." + parts[2], now, CodeMalformed},
		{"too large", parts[0] + "." + strings.Repeat("A", DefaultMaxSize) + "." + parts[2], now, CodeTooLarge},

		// Algorithms other than RS256, however signed.
		{"alg none, empty sig", noneToken(t, kid, payload, ""), now, CodeMalformed},
		{"alg none, some sig", noneToken(t, kid, payload, "AAAA"), now, CodeBadAlgorithm},
		{"alg none with original sig", noneToken(t, kid, payload, parts[2]), now, CodeBadAlgorithm},
		{"HS256 keyed with PKIX public key", hs256(t, kid, pkix, payload), now, CodeBadAlgorithm},
		{"HS256 keyed with PKCS1 public key", hs256(t, kid, pkcs1, payload), now, CodeBadAlgorithm},
		{"HS256 keyed with modulus", hs256(t, kid, pub.N.Bytes(), payload), now, CodeBadAlgorithm},
		{"ES256", joseSign(t, jose.ES256, ecKey, kid, "JWT", payload), now, CodeBadAlgorithm},
		{"PS256 foreign", joseSign(t, jose.PS256, rsaKey, kid, "JWT", payload), now, CodeBadAlgorithm},
		{"RS512 foreign", joseSign(t, jose.RS512, rsaKey, kid, "JWT", payload), now, CodeBadAlgorithm},
		{"alg missing", b64json(t, map[string]string{"typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2], now, CodeBadAlgorithm},
		{"alg lower case", b64json(t, map[string]string{"alg": "rs256", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2], now, CodeBadAlgorithm},

		// Keys and signatures.
		{"foreign key, our kid", joseSign(t, jose.RS256, rsaKey, kid, "JWT", payload), now, CodeBadSignature},
		{"foreign key, unknown kid", joseSign(t, jose.RS256, rsaKey, "someone-else", "JWT", payload), now, CodeUnknownKey},
		{"no kid", joseSign(t, jose.RS256, rsaKey, "", "JWT", payload), now, CodeUnknownKey},
		{"no typ", joseSign(t, jose.RS256, rsaKey, kid, "", payload), now, CodeMalformed},
		{"typ at+jwt", joseSign(t, jose.RS256, rsaKey, kid, "at+jwt", payload), now, CodeMalformed},
		{"signature flipped", flipSig(), now, CodeBadSignature},
		{"signature truncated", valid.Raw[:len(valid.Raw)-4], now, CodeBadSignature},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(other.Raw, ".")[2], now, CodeBadSignature},
		{"payload of another token", parts[0] + "." + strings.Split(other.Raw, ".")[1] + "." + parts[2], now, CodeBadSignature},
		{"payload re-encoded", parts[0] + "." + b64json(t, with(good, "aud", "https://vault.azure.net")) + "." + parts[2], now, CodeBadSignature},

		// Lifetime (default skew 5 min, token valid [now, now+1h)).
		{"expired", valid.Raw, now.Add(time.Hour + DefaultSkew), CodeExpired},
		{"long expired", valid.Raw, now.Add(100 * 24 * time.Hour), CodeExpired},
		{"not yet valid", valid.Raw, now.Add(-DefaultSkew - time.Second), CodeNotYetValid},
		{"iat in the future", ownPayload(t, f, with(good, "iat", now.Add(time.Hour).Unix())), now, CodeNotYetValid},
		{"nbf in the future", ownPayload(t, f, with(good, "nbf", now.Add(time.Hour).Unix())), now, CodeNotYetValid},
		{"exp huge", ownPayload(t, f, with(good, "exp", 1e300)), now, CodeMalformed},
		{"nbf huge negative", ownPayload(t, f, with(good, "nbf", -1e300)), now, CodeMalformed},

		// Claims, signed by us but wrong.
		{"wrong issuer", ownPayload(t, f, with(good, "iss", "https://sts.windows.net/"+testTenant+"/")), now, CodeInvalidIssuer},
		{"issuer without slash", ownPayload(t, f, with(good, "iss", strings.TrimSuffix(testIssuer, "/"))), now, CodeInvalidIssuer},
		{"issuer case", ownPayload(t, f, with(good, "iss", strings.ToUpper(testIssuer))), now, CodeInvalidIssuer},
		{"no issuer", ownPayload(t, f, with(good, "iss", nil)), now, CodeInvalidIssuer},
		{"wrong audience", ownPayload(t, f, with(good, "aud", "https://vault.azure.net")), now, CodeInvalidAudience},
		{"audience with slash, exact match", ownPayload(t, f, with(good, "aud", testAudience+"/")), now, CodeInvalidAudience},
		{"audience array without match", ownPayload(t, f, with(good, "aud", []string{"a", "b"})), now, CodeInvalidAudience},
		{"no audience", ownPayload(t, f, with(good, "aud", nil)), now, CodeInvalidAudience},
		{"audience a number", ownPayload(t, f, with(good, "aud", 5)), now, CodeMalformed},
		{"exp a string", ownPayload(t, f, with(good, "exp", "tomorrow")), now, CodeMalformed},
		{"oid a number", ownPayload(t, f, with(good, "oid", 5)), now, CodeMalformed},
		{"no exp", ownPayload(t, f, with(good, "exp", nil)), now, CodeMissingClaim},
		{"no oid", ownPayload(t, f, with(good, "oid", nil)), now, CodeMissingClaim},
		{"no tid", ownPayload(t, f, with(good, "tid", nil)), now, CodeMissingClaim},
		{"claims not JSON", ownPayload(t, f, "not json"), now, CodeMalformed},
		{"claims an array", ownPayload(t, f, "[1,2]"), now, CodeMalformed},
		{"claims null", ownPayload(t, f, "null"), now, CodeMissingClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := f.verifier.Verify(tc.raw, tc.at)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if lanyard.KindOf(err) != lanyard.KindUnauthenticated {
				t.Errorf("kind %v, want unauthenticated", lanyard.KindOf(err))
			}
			if got := lanyard.CodeOf(err); got != tc.code {
				t.Errorf("code %s, want %s (%v)", got, tc.code, err)
			}
			if c != (Claims{}) {
				t.Error("claims returned with an error")
			}
			assertNoLeak(t, tc.raw, err)
		})
	}
}

// assertNoLeak fails if the error text carries the token or its signature.
func assertNoLeak(t testing.TB, raw string, err error) {
	t.Helper()
	msg := err.Error() + " " + lanyard.MessageOf(err)
	if len(raw) >= 16 && strings.Contains(msg, raw) {
		t.Fatalf("error contains the token: %s", msg)
	}
	if i := strings.LastIndexByte(raw, '.'); i >= 0 && len(raw)-i > 16 && strings.Contains(msg, raw[i+1:]) {
		t.Fatalf("error contains the signature: %s", msg)
	}
}

func TestVerifyLifetimeEdges(t *testing.T) {
	f := newFixture(t, keys.Options{})
	tok := f.issue(t, f.request())
	for _, tc := range []struct {
		name string
		skew time.Duration
		at   time.Time
		ok   bool
	}{
		{"at issue", 0, tok.IssuedAt, true},
		{"early within skew", 0, tok.IssuedAt.Add(-DefaultSkew), true},
		{"early beyond skew", 0, tok.IssuedAt.Add(-DefaultSkew - time.Second), false},
		{"just before exp", 0, tok.ExpiresAt.Add(-time.Second), true},
		{"after exp within skew", 0, tok.ExpiresAt.Add(DefaultSkew - time.Second), true},
		{"after exp at skew", 0, tok.ExpiresAt.Add(DefaultSkew), false},
		{"no skew, at exp", -1, tok.ExpiresAt, false},
		{"no skew, before exp", -1, tok.ExpiresAt.Add(-time.Second), true},
		{"no skew, early", -1, tok.IssuedAt.Add(-time.Second), false},
		{"custom skew", time.Minute, tok.ExpiresAt.Add(59 * time.Second), true},
		{"custom skew exceeded", time.Minute, tok.ExpiresAt.Add(time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *f.verifier
			v.Skew = tc.skew
			_, err := v.Verify(tok.Raw, tc.at)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestVerifyAudienceMatcher(t *testing.T) {
	f := newFixture(t, keys.Options{})
	v := *f.verifier
	v.Audiences = []string{"https://storage.azure.com/", "https://management.azure.com"}
	v.MatchAudience = SameResource
	for _, tc := range []struct {
		aud string
		ok  bool
	}{
		{"https://storage.azure.com", true},
		{"https://storage.azure.com/", true},
		{"HTTPS://Storage.Azure.com", true},
		{"https://management.azure.com/", true},
		{"https://storage.azure.com//", false},
		{"https://storage.azure.com.evil", false},
		{"https://vault.azure.net", false},
		{"", false},
	} {
		req := f.request()
		if tc.aud == "" {
			continue // Issue refuses an empty audience
		}
		req.Audience = tc.aud
		tok := f.issue(t, req)
		c, err := v.Verify(tok.Raw, f.clock.Now())
		if (err == nil) != tc.ok {
			t.Errorf("aud %q: err = %v, want ok=%v", tc.aud, err, tc.ok)
		}
		if err == nil && c.Audience != tc.aud {
			t.Errorf("aud %q: Claims.Audience = %q, want the token's value", tc.aud, c.Audience)
		}
	}

	// A token with several audiences passes on any of them and reports that one.
	raw := ownPayload(t, f, with(payloadOf(t, f.issue(t, f.request()).Raw), "aud", []string{"x", "https://management.azure.com"}))
	c, err := v.Verify(raw, f.clock.Now())
	if err != nil || c.Audience != "https://management.azure.com" {
		t.Fatalf("multi-audience: %v %q", err, c.Audience)
	}
}

func TestSameResource(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://storage.azure.com", "https://storage.azure.com/", true},
		{"https://storage.azure.com/", "https://storage.azure.com", true},
		{"https://STORAGE.azure.com", "https://storage.azure.com", true},
		{"https://database.windows.net//", "https://database.windows.net/", false}, // only one slash is forgiven
		{"https://database.windows.net//", "https://database.windows.net", false},
		{"https://storage.azure.com", "https://storage.azure.co", false},
		{"", "/", true},
	} {
		if got := SameResource(tc.a, tc.b); got != tc.want {
			t.Errorf("SameResource(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestVerifyKeyLifecycle(t *testing.T) {
	f := newFixture(t, keys.Options{MaxTokenLifetime: 2 * time.Hour})
	req := f.request()
	req.Lifetime = 2 * time.Hour
	old := f.issue(t, req)
	if _, err := f.keyring.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The retired key verifies its tokens until they expire...
	f.clock.Set(old.ExpiresAt.Add(-time.Minute))
	if _, err := f.verifier.Verify(old.Raw, f.clock.Now()); err != nil {
		t.Fatalf("token of a retired key: %v", err)
	}
	// ...and after RemoveAfter (lifetime + grace) the key is gone.
	f.clock.Set(old.IssuedAt.Add(2*time.Hour + keys.RetireGrace))
	_, err := f.verifier.Verify(old.Raw, old.IssuedAt) // a verifier whose clock lags still refuses
	if lanyard.CodeOf(err) != CodeUnknownKey {
		t.Fatalf("err = %v, want unknown key", err)
	}
}

func TestVerifierNotConfigured(t *testing.T) {
	f := newFixture(t, keys.Options{})
	raw := f.issue(t, f.request()).Raw
	for name, v := range map[string]*Verifier{
		"zero":         {},
		"no keys":      {Issuers: []string{testIssuer}, Audiences: []string{testAudience}},
		"no issuers":   {Keys: f.keyring, Audiences: []string{testAudience}},
		"no audiences": {Keys: f.keyring, Issuers: []string{testIssuer}},
	} {
		_, err := v.Verify(raw, f.clock.Now())
		if err == nil || lanyard.KindOf(err) != lanyard.KindInternal {
			t.Errorf("%s: err = %v, want internal", name, err)
		}
	}
}

func TestVerifyMaxSize(t *testing.T) {
	f := newFixture(t, keys.Options{})
	raw := f.issue(t, f.request()).Raw
	v := *f.verifier
	v.MaxSize = len(raw) - 1
	if _, err := v.Verify(raw, f.clock.Now()); lanyard.CodeOf(err) != CodeTooLarge {
		t.Fatalf("err = %v", err)
	}
	v.MaxSize = len(raw)
	if _, err := v.Verify(raw, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	f := newFixture(t, keys.Options{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				tok, err := f.issuer.Issue(f.request())
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := f.verifier.Verify(tok.Raw, f.clock.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
