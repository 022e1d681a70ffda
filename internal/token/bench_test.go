package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/lanyard-id/lanyard/internal/keys"
)

// BenchmarkIssue mints a complete token: claims, JSON, RS256 signature, serialization.
// Compare with BenchmarkRawRSASign for the cost of everything around the signature.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b, keys.Options{})
	req := f.request()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Issue(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRSASign is the floor: one PKCS#1 v1.5 signature of a SHA-256 digest with
// a 2048-bit key.
func BenchmarkRawRSASign(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("a token's signing input"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, keys.Options{})
	raw := f.issue(b, f.request()).Raw
	now := f.clock.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.verifier.Verify(raw, now); err != nil {
			b.Fatal(err)
		}
	}
}
