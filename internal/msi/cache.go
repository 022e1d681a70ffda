package msi

import (
	"sync"
	"time"
)

// Cache keeps issued tokens per identity and resource, as IMDS does, so that a busy app
// does not make Lanyard sign a token per request. A cached token is served while more than
// minRemaining of its life is left.
type Cache struct {
	mu      sync.Mutex
	entries map[cacheKey]Minted
	max     int
}

type cacheKey struct{ principalID, resource string }

const minRemaining = 5 * time.Minute

// NewCache returns a cache holding at most max tokens.
func NewCache(max int) *Cache {
	return &Cache{entries: make(map[cacheKey]Minted), max: max}
}

func (c *Cache) get(principalID, resource string, now time.Time) (Minted, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.entries[cacheKey{principalID, resource}]
	if !ok || m.ExpiresAt.Sub(now) <= minRemaining {
		return Minted{}, false
	}
	return m, true
}

func (c *Cache) put(principalID, resource string, m Minted, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, v := range c.entries {
			if v.ExpiresAt.Sub(now) <= minRemaining {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries) // still full of live tokens: start over rather than grow without bound
		}
	}
	c.entries[cacheKey{principalID, resource}] = m
}

// Forget drops every cached token of the given identities.
func (c *Cache) Forget(principalIDs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		for _, p := range principalIDs {
			if k.principalID == p {
				delete(c.entries, k)
			}
		}
	}
}

// ForgetToken drops the cached token whose uti is given.
func (c *Cache) ForgetToken(uti string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.entries {
		if v.UTI == uti {
			delete(c.entries, k)
		}
	}
}

// Clear drops every cached token, for when identities changed in ways this node was not
// told about in detail (another node changed them).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
