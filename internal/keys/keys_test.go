package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
)

func testSealer(t testing.TB, b byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fixture struct {
	store  *memKeys
	sealer *seal.Sealer
	clock  *clock
}

func newFixture(t testing.TB) *fixture {
	return &fixture{store: newMemKeys(), sealer: testSealer(t, 1), clock: newClock()}
}

func (f *fixture) keyring(t testing.TB) *Keyring {
	t.Helper()
	r, err := New(context.Background(), f.store, f.sealer, Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// verify checks a compact JWS with go-jose against the keyring's published key.
func verify(t *testing.T, r *Keyring, jws string) []byte {
	t.Helper()
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := r.PublicKey(obj.Signatures[0].Header.KeyID)
	if !ok {
		t.Fatalf("key %s is not published", obj.Signatures[0].Header.KeyID)
	}
	payload, err := obj.Verify(pub)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func sign(t *testing.T, r *Keyring, payload string) string {
	t.Helper()
	s, err := r.Signer().Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewCreatesKey(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	if f.store.len() != 1 {
		t.Fatalf("store holds %d keys, want 1", f.store.len())
	}
	kid := r.Signer().KeyID()
	k, ok := f.store.get(kid)
	if !ok {
		t.Fatalf("active key %s is not in the store", kid)
	}
	if !k.Active() || k.RemoveAfter != nil {
		t.Errorf("new key: RetiredAt=%v RemoveAfter=%v", k.RetiredAt, k.RemoveAfter)
	}
	if !k.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("CreatedAt = %v, want %v", k.CreatedAt, f.clock.Now())
	}

	cert, err := x509.ParseCertificate(k.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(cert.Raw)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); kid != want {
		t.Errorf("kid = %s, want the certificate's x5t %s", kid, want)
	}
	if cert.Subject.CommonName != "Lanyard token signing" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil || !bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if d := cert.NotAfter.Sub(f.clock.Now()); d < 700*24*time.Hour || d > 740*24*time.Hour {
		t.Errorf("certificate validity %v, want about 2 years", d)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("certificate key %T, want RSA-2048", cert.PublicKey)
	}

	// The private key is sealed, bound to the kid.
	der, err := f.sealer.Open(k.SealedKey, []byte(kid))
	if err != nil {
		t.Fatalf("sealed key does not open with aad=kid: %v", err)
	}
	if bytes.Contains(k.SealedKey, der[len(der)-64:]) {
		t.Fatal("stored key contains private key bytes in the clear")
	}
	if _, err := f.sealer.Open(k.SealedKey, []byte("other")); err == nil {
		t.Fatal("sealed key opens with another aad")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.(*rsa.PrivateKey).PublicKey.Equal(pub) {
		t.Fatal("sealed private key does not match the certificate")
	}

	verify(t, r, sign(t, r, `{"a":1}`))
}

func TestNewLoadsExistingKey(t *testing.T) {
	f := newFixture(t)
	r1 := f.keyring(t)
	jws := sign(t, r1, `{"x":"y"}`)
	r2 := f.keyring(t)
	if r2.Signer().KeyID() != r1.Signer().KeyID() {
		t.Fatal("a second keyring on the same store made its own key")
	}
	if f.store.len() != 1 {
		t.Fatalf("store holds %d keys", f.store.len())
	}
	if got := verify(t, r2, jws); string(got) != `{"x":"y"}` {
		t.Fatalf("payload %s", got)
	}
}

func TestNewWrongKEK(t *testing.T) {
	f := newFixture(t)
	f.keyring(t)
	_, err := New(context.Background(), f.store, testSealer(t, 2), Options{Now: f.clock.Now})
	if !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("err = %v, want seal.ErrOpen", err)
	}
	if f.store.len() != 1 {
		t.Fatal("a failed New changed the store")
	}
}

func TestNewValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := New(ctx, nil, f.sealer, Options{}); err == nil {
		t.Error("nil store: want error")
	}
	if _, err := New(ctx, f.store, nil, Options{}); err == nil {
		t.Error("nil sealer: want error")
	}
	if _, err := New(ctx, f.store, f.sealer, Options{MaxTokenLifetime: -time.Second}); err == nil {
		t.Error("negative lifetime: want error")
	}
	r, err := New(ctx, f.store, f.sealer, Options{}) // defaults
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxTokenLifetime() != lanyard.MaxTokenLifetime {
		t.Errorf("MaxTokenLifetime = %v", r.MaxTokenLifetime())
	}
}

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("database is down")

	f := newFixture(t)
	f.store.failList = boom
	if _, err := New(ctx, f.store, f.sealer, Options{}); !errors.Is(err, boom) {
		t.Errorf("list failure: err = %v", err)
	}

	f = newFixture(t)
	f.store.failCreate = boom
	if _, err := New(ctx, f.store, f.sealer, Options{}); !errors.Is(err, boom) {
		t.Errorf("create failure: err = %v", err)
	}

	// A failed reload keeps the keyring working on its last snapshot.
	f = newFixture(t)
	r := f.keyring(t)
	kid := r.Signer().KeyID()
	f.store.failList = boom
	if err := r.Reload(ctx); !errors.Is(err, boom) {
		t.Errorf("reload failure: err = %v", err)
	}
	if _, err := r.Rotate(ctx); !errors.Is(err, boom) {
		t.Errorf("rotate failure: err = %v", err)
	}
	if r.Signer().KeyID() != kid {
		t.Error("failed reload changed the active key")
	}
	verify(t, r, sign(t, r, "{}"))
}

func TestSignerHeader(t *testing.T) {
	r := newFixture(t).keyring(t)
	jws := sign(t, r, `{"sub":"x"}`)
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not compact JWS: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	kid := r.Signer().KeyID()
	want := map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid, "x5t": kid}
	if len(h) != len(want) {
		t.Errorf("header %s has extra fields", raw)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %v, want %v", k, h[k], v)
		}
	}
	if p, _ := base64.RawURLEncoding.DecodeString(parts[1]); string(p) != `{"sub":"x"}` {
		t.Errorf("payload %s", p)
	}
}

func TestRotate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.keyring(t)
	oldKid := r.Signer().KeyID()
	oldJWS := sign(t, r, `{"n":1}`)

	f.clock.Advance(time.Hour)
	rotatedAt := f.clock.Now()
	k, err := r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == oldKid || !k.Active() {
		t.Fatalf("Rotate returned %s active=%v", k.ID, k.Active())
	}
	if r.Signer().KeyID() != k.ID {
		t.Fatal("signer does not use the new key")
	}
	old, _ := f.store.get(oldKid)
	if old.RetiredAt == nil || !old.RetiredAt.Equal(rotatedAt) {
		t.Fatalf("old key RetiredAt = %v, want %v", old.RetiredAt, rotatedAt)
	}
	wantRemove := rotatedAt.Add(lanyard.MaxTokenLifetime + RetireGrace)
	if old.RemoveAfter == nil || !old.RemoveAfter.Equal(wantRemove) {
		t.Fatalf("old key RemoveAfter = %v, want %v", old.RemoveAfter, wantRemove)
	}

	// Both keys verify; the JWKS lists the new key first.
	verify(t, r, oldJWS)
	verify(t, r, sign(t, r, `{"n":2}`))
	if got := kids(r.JWKS(f.clock.Now())); !slices.Equal(got, []string{k.ID, oldKid}) {
		t.Fatalf("JWKS kids = %v", got)
	}
	list := r.List()
	if len(list) != 2 || !list[0].Active || list[1].Active || !list[1].Published || !list[1].RetiredAt.Equal(rotatedAt) || !list[1].RemoveAfter.Equal(wantRemove) {
		t.Fatalf("List = %+v", list)
	}

	// Just before RemoveAfter the old key still verifies; at it, it no longer does, even
	// before the store is cleaned.
	f.clock.Advance(wantRemove.Sub(f.clock.Now()) - time.Second)
	if _, ok := r.PublicKey(oldKid); !ok {
		t.Fatal("old key unpublished before RemoveAfter")
	}
	f.clock.Advance(time.Second)
	if _, ok := r.PublicKey(oldKid); ok {
		t.Fatal("old key still published at RemoveAfter")
	}
	if got := kids(r.JWKS(f.clock.Now())); !slices.Equal(got, []string{k.ID}) {
		t.Fatalf("JWKS kids after RemoveAfter = %v", got)
	}
	if r.List()[1].Published {
		t.Fatal("List says the old key is published")
	}

	// Reload collects it.
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.store.get(oldKid); ok {
		t.Fatal("expired key not deleted from the store")
	}
	if len(r.List()) != 1 {
		t.Fatalf("List = %+v", r.List())
	}
}

func TestRotateCollectsExpiredKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.keyring(t)
	first := r.Signer().KeyID()
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(lanyard.MaxTokenLifetime + RetireGrace)
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.store.get(first); ok {
		t.Fatal("rotate left an expired key in the store")
	}
	if f.store.len() != 2 {
		t.Fatalf("store holds %d keys, want 2", f.store.len())
	}
}

func TestMaxTokenLifetimeOption(t *testing.T) {
	f := newFixture(t)
	r, err := New(context.Background(), f.store, f.sealer, Options{Now: f.clock.Now, MaxTokenLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	old := r.Signer().KeyID()
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	k, _ := f.store.get(old)
	if want := f.clock.Now().Add(time.Hour + RetireGrace); !k.RemoveAfter.Equal(want) {
		t.Fatalf("RemoveAfter = %v, want %v", k.RemoveAfter, want)
	}
}

func TestRotateWithFrozenClock(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	seen := map[string]bool{r.Signer().KeyID(): true}
	for range 3 {
		k, err := r.Rotate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.ID] || r.Signer().KeyID() != k.ID {
			t.Fatal("rotation with a frozen clock did not activate the new key")
		}
		seen[k.ID] = true
	}
	active := 0
	for _, ki := range r.List() {
		if ki.Active {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("%d active keys", active)
	}
	// A second node agrees on the active key.
	if other := f.keyring(t); other.Signer().KeyID() != r.Signer().KeyID() {
		t.Fatal("nodes disagree on the active key")
	}
}

func TestReloadSeesOtherNode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.keyring(t), f.keyring(t)
	k, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jws := sign(t, a, "{}")
	if _, ok := b.PublicKey(k.ID); ok {
		t.Fatal("b knows the new key before reloading")
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Signer().KeyID() != k.ID {
		t.Fatal("b does not sign with the new key after reload")
	}
	verify(t, b, jws)
}

func TestReloadUnchangedIsCheap(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	before := r.snap.Load()
	writes, lists := f.store.writes(), f.store.lists
	for range 10 {
		if err := r.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if r.snap.Load() != before {
		t.Fatal("unchanged reload rebuilt the snapshot")
	}
	if f.store.writes() != writes || f.store.lists != lists+10 {
		t.Fatalf("unchanged reloads: %d writes, %d lists", f.store.writes()-writes, f.store.lists-lists)
	}
}

func TestReloadAfterRetireReusesParsedKeys(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	old := r.snap.Load()
	oldEntry := old.active
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := r.snap.Load()
	if now.byID[oldEntry.key.ID].cert != oldEntry.cert {
		t.Fatal("rebuild re-parsed an unchanged certificate")
	}
}

func TestConcurrentActivesConverge(t *testing.T) {
	ctx := context.Background()
	// Two nodes start against an empty store at nearly the same time and each create a key.
	f := newFixture(t)
	a := f.keyring(t)
	other := &fixture{store: newMemKeys(), sealer: f.sealer, clock: f.clock}
	f.clock.Advance(time.Millisecond)
	b := other.keyring(t)
	bKey, _ := other.store.get(b.Signer().KeyID())
	f.store.put(bKey) // b's key lands in the shared store too

	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Signer().KeyID() != bKey.ID {
		t.Fatal("the newest active key did not win")
	}
	aKey, _ := f.store.get(a.List()[1].ID)
	if aKey.RetiredAt == nil || aKey.RemoveAfter == nil {
		t.Fatal("the losing key was not retired")
	}
	// Tokens a signed with its own key before converging still verify.
	if _, ok := a.PublicKey(aKey.ID); !ok {
		t.Fatal("the losing key is no longer published")
	}
}

func TestNoActiveKeyCreatesOne(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	old := r.Signer().KeyID()
	now := f.clock.Now()
	later := now.Add(time.Hour)
	f.store.UpdateKey(context.Background(), old, func(k lanyard.SigningKey) (lanyard.SigningKey, error) {
		k.RetiredAt, k.RemoveAfter = &now, &later
		return k, nil
	})
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Signer().KeyID() == old {
		t.Fatal("no new key after the active one was retired elsewhere")
	}
	if _, ok := r.PublicKey(old); !ok {
		t.Fatal("retired key not published")
	}
}

func TestCertificateExpiryRotates(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	old := r.Signer().KeyID()
	f.clock.Advance(certValidity - 31*24*time.Hour)
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Signer().KeyID() != old {
		t.Fatal("rotated early")
	}
	f.clock.Advance(2 * 24 * time.Hour)
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Signer().KeyID() == old {
		t.Fatal("key with an expiring certificate was not replaced")
	}
}

// otherKey returns a well-formed key from a throwaway keyring.
func otherKey(t *testing.T, sealer *seal.Sealer) lanyard.SigningKey {
	t.Helper()
	f := newFixture(t)
	f.sealer = sealer
	r := f.keyring(t)
	k, _ := f.store.get(r.Signer().KeyID())
	return k
}

func ecdsaCertKey(t *testing.T) lanyard.SigningKey {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * 365 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return lanyard.SigningKey{ID: thumbprint(der), Certificate: der}
}

func TestBrokenStoredKeys(t *testing.T) {
	sealer := testSealer(t, 1)
	good := otherKey(t, sealer)
	another := otherKey(t, sealer)
	ec := ecdsaCertKey(t)

	for _, tc := range []struct {
		name   string
		mangle func(k lanyard.SigningKey) lanyard.SigningKey
	}{
		{"garbage certificate", func(k lanyard.SigningKey) lanyard.SigningKey { k.Certificate = []byte("junk"); return k }},
		{"id is not the thumbprint", func(k lanyard.SigningKey) lanyard.SigningKey { k.ID = "not-the-thumbprint"; return k }},
		{"certificate of another key", func(k lanyard.SigningKey) lanyard.SigningKey {
			k.Certificate = another.Certificate
			k.ID = another.ID
			return k
		}},
		{"sealed key bound to another id", func(k lanyard.SigningKey) lanyard.SigningKey { k.SealedKey = another.SealedKey; return k }},
		{"sealed key garbage", func(k lanyard.SigningKey) lanyard.SigningKey { k.SealedKey = []byte{1, 2, 3}; return k }},
		{"sealed non-key", func(k lanyard.SigningKey) lanyard.SigningKey {
			k.SealedKey = sealer.Seal([]byte("not pkcs8"), []byte(k.ID))
			return k
		}},
		{"ecdsa certificate", func(k lanyard.SigningKey) lanyard.SigningKey {
			k.ID, k.Certificate = ec.ID, ec.Certificate
			return k
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// As the active key, it is fatal: there would be nothing to sign with.
			f := newFixture(t)
			f.store.put(tc.mangle(good))
			if _, err := New(context.Background(), f.store, sealer, Options{Now: f.clock.Now}); err == nil {
				t.Fatal("New accepted a broken active key")
			}

			// As a retired key, it is skipped and never published.
			f = newFixture(t)
			r := f.keyring(t)
			bad := tc.mangle(good)
			bad.CreatedAt = f.clock.Now().Add(-time.Hour)
			removeAfter := f.clock.Now().Add(time.Hour)
			bad.RetiredAt, bad.RemoveAfter = &bad.CreatedAt, &removeAfter
			f.store.put(bad)
			if err := r.Reload(context.Background()); err != nil {
				t.Fatalf("a broken retired key broke Reload: %v", err)
			}
			if bad.ID != good.ID && bad.ID != another.ID {
				if _, ok := r.PublicKey(bad.ID); ok {
					t.Fatal("broken key published")
				}
			}
			if got := kids(r.JWKS(f.clock.Now())); len(got) > 2 {
				t.Fatalf("JWKS = %v", got)
			}
		})
	}
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestJWKS(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	if _, err := r.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	jws := sign(t, r, `{"hello":"world"}`)
	data, err := json.Marshal(r.JWKS(f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}

	// The wire shape, field by field.
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 2 {
		t.Fatalf("%d keys", len(doc.Keys))
	}
	for _, k := range doc.Keys {
		for _, field := range []string{"kty", "use", "kid", "x5t", "n", "e", "x5c"} {
			if _, ok := k[field]; !ok {
				t.Errorf("key lacks %q: %v", field, k)
			}
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS leaks private field %q", private)
			}
		}
		if k["kty"] != "RSA" || k["use"] != "sig" || k["e"] != "AQAB" || k["kid"] != k["x5t"] {
			t.Errorf("key %v", k)
		}
		x5c, _ := k["x5c"].([]any)
		if len(x5c) != 1 {
			t.Fatalf("x5c = %v", k["x5c"])
		}
		der, err := base64.StdEncoding.DecodeString(x5c[0].(string))
		if err != nil {
			t.Fatalf("x5c is not standard base64: %v", err)
		}
		if thumbprint(der) != k["kid"] {
			t.Error("x5c certificate does not hash to kid")
		}
		n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
		if len(n) != 256 {
			t.Errorf("n is %d bytes", len(n))
		}
	}

	// What go-jose (and go-oidc, which uses it) does with it: parse the set, pick the key
	// by kid, verify.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("go-jose rejects the JWKS: %v", err)
	}
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	matches := set.Key(obj.Signatures[0].Header.KeyID)
	if len(matches) != 1 {
		t.Fatalf("%d keys match kid", len(matches))
	}
	if !matches[0].Valid() || !matches[0].IsPublic() {
		t.Fatal("JWK not a valid public key")
	}
	payload, err := obj.Verify(&matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"hello":"world"}` {
		t.Fatalf("payload %s", payload)
	}

	// An empty ring of published keys still marshals as {"keys":[]}.
	empty, _ := json.Marshal(r.JWKS(f.clock.Now().Add(1000 * 24 * time.Hour)))
	if !strings.Contains(string(empty), `"keys":[`) {
		t.Errorf("JWKS %s", empty)
	}
}

func TestPublicKeyUnknown(t *testing.T) {
	r := newFixture(t).keyring(t)
	for _, kid := range []string{"", "nope", strings.ToLower(r.Signer().KeyID()) + "x"} {
		if _, ok := r.PublicKey(kid); ok {
			t.Errorf("PublicKey(%q) found a key", kid)
		}
	}
}

func TestConcurrentSignVerifyRotate(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				jws, err := r.Signer().Sign([]byte("{}"))
				if err != nil {
					t.Error(err)
					return
				}
				obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.RS256})
				if err != nil {
					t.Error(err)
					return
				}
				pub, ok := r.PublicKey(obj.Signatures[0].Header.KeyID)
				if !ok {
					t.Error("signing key not published")
					return
				}
				if _, err := obj.Verify(pub); err != nil {
					t.Error(err)
					return
				}
				_ = r.JWKS(f.clock.Now())
				_ = r.List()
			}
		}()
	}
	for range 3 {
		if _, err := r.Rotate(ctx); err != nil {
			t.Error(err)
		}
		if err := r.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	r := f.keyring(b)
	payload := []byte(`{"aud":"https://storage.azure.com","iss":"https://127.0.0.1/t/"}`)
	for b.Loop() {
		if _, err := r.Signer().Sign(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReloadUnchanged(b *testing.B) {
	f := newFixture(b)
	r := f.keyring(b)
	ctx := context.Background()
	for b.Loop() {
		if err := r.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSortNewestFirstIsDeterministic(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []lanyard.SigningKey{
		{ID: "c", CreatedAt: at.Add(time.Second)},
		{ID: "z", CreatedAt: at},
		{ID: "m", CreatedAt: at},
		{ID: "a", CreatedAt: at},
		{ID: "b", CreatedAt: at.Add(-time.Second)},
	}
	// Whatever order the store lists them in, every node picks the same order: newest
	// first, ties broken by id.
	for _, perm := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {3, 1, 0, 2, 4}} {
		in := make([]lanyard.SigningKey, len(perm))
		for i, p := range perm {
			in[i] = want[p]
		}
		sortNewestFirst(in)
		for i := range in {
			if in[i].ID != want[i].ID {
				t.Fatalf("order %v: got %s at %d, want %s", perm, in[i].ID, i, want[i].ID)
			}
		}
	}
}

func TestCreatedAtIsMonotonic(t *testing.T) {
	f := newFixture(t)
	r := f.keyring(t)
	// The clock stands still, then goes back: each new key is still the newest.
	for _, d := range []time.Duration{0, 0, -time.Hour} {
		f.clock.Advance(d)
		if _, err := r.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := f.store.ListKeys(context.Background())
	sortNewestFirst(list)
	if list[0].ID != r.Signer().KeyID() || !list[0].Active() {
		t.Fatal("the newest key by CreatedAt is not the active one")
	}
	for i := 1; i < len(list); i++ {
		if !list[i-1].CreatedAt.After(list[i].CreatedAt) {
			t.Fatalf("CreatedAt not strictly increasing: %v then %v", list[i].CreatedAt, list[i-1].CreatedAt)
		}
	}
}
