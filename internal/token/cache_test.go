package token

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// TestSignatureCache: a cached token skips only the signature check. Its claims are
// checked on every use, and it stops verifying once its key is no longer published.
func TestSignatureCache(t *testing.T) {
	f := newFixture(t, keys.Options{MaxTokenLifetime: 2 * time.Hour})
	f.verifier.Cache = NewSignatureCache(16)
	req := f.request()
	req.Lifetime = 2 * time.Hour
	tok := f.issue(t, req)
	now := f.clock.Now()
	for i := range 2 { // the second use is served from the cache
		if _, err := f.verifier.Verify(tok.Raw, now); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	if len(f.verifier.Cache.m) != 1 {
		t.Fatalf("cache holds %d tokens, want 1", len(f.verifier.Cache.m))
	}
	// A verifier for another audience sharing the cache still refuses the token.
	other := *f.verifier
	other.Audiences = []string{"https://vault.azure.net"}
	if _, err := other.Verify(tok.Raw, now); lanyard.CodeOf(err) != CodeInvalidAudience {
		t.Fatalf("cached token for another audience: %v", err)
	}
	// Expiry is checked on every use.
	if _, err := f.verifier.Verify(tok.Raw, tok.ExpiresAt.Add(time.Hour)); lanyard.CodeOf(err) != CodeExpired {
		t.Fatalf("cached expired token: %v", err)
	}
	// A tampered token is another cache key, and its signature fails.
	if _, err := f.verifier.Verify(tok.Raw[:len(tok.Raw)-2]+"AA", now); err == nil {
		t.Fatal("tampered token accepted")
	}
	// Once the key is no longer published the cache does not vouch for the token.
	if _, err := f.keyring.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(tok.IssuedAt.Add(2*time.Hour + keys.RetireGrace))
	if _, err := f.verifier.Verify(tok.Raw, tok.IssuedAt); lanyard.CodeOf(err) != CodeUnknownKey {
		t.Fatalf("cached token of a removed key: %v", err)
	}
}

func TestSignatureCacheBound(t *testing.T) {
	c := NewSignatureCache(2)
	live := verified{exp: time.Now().Add(time.Hour)}
	for i := range 5 {
		c.put([32]byte{byte(i)}, live)
	}
	if len(c.m) > 2 {
		t.Fatalf("cache grew to %d entries past its bound of 2", len(c.m))
	}
}
