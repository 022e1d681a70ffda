package token

import (
	"sync"
	"time"
)

// SignatureCache remembers the claims of tokens whose signature verified. A resource sees
// the same token on every request an SDK makes until it refreshes it, and the RSA
// verification is most of what checking it costs; the claims (expiry, issuer, audience)
// are still checked on every use, and an entry is used only while its key is published.
// Revocation is not the cache's business: callers check it after Verify.
type SignatureCache struct {
	mu  sync.RWMutex
	m   map[[32]byte]verified
	max int
}

type verified struct {
	claims wireClaims
	kid    string
	exp    time.Time
}

// NewSignatureCache returns a cache of at most max tokens.
func NewSignatureCache(max int) *SignatureCache {
	return &SignatureCache{m: make(map[[32]byte]verified), max: max}
}

func (c *SignatureCache) get(k [32]byte) (verified, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *SignatureCache) put(k [32]byte, e verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for key, old := range c.m {
			if now.After(old.exp.Add(DefaultSkew)) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // still full of live tokens: start over rather than grow
		}
	}
	c.m[k] = e
}
