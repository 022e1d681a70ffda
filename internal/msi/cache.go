package msi

import (
	"sync"
	"time"
)

// Cache keeps issued tokens per identity and resource, as IMDS does, so that a busy app
// does not make Lanyard sign a token per request. A cached token is served while more than
// minRemaining of its life is left.
//
// The resource is whatever string the app sends, so the cache is bounded by what an app
// cannot inflate: each identity caches at most PerPrincipal resources (a token for any
// further resource is minted afresh on every request and counted as overflow), and all
// entries together hold at most Bytes bytes of keys and tokens.
type Cache struct {
	limits CacheLimits

	mu          sync.Mutex
	byPrincipal map[string]map[string]Minted // principal id → resource → token
	entries     int
	bytes       int
	overflow    uint64
	evicted     uint64
	lastSweep   time.Time
}

// CacheLimits bound a Cache.
type CacheLimits struct {
	// Bytes bounds the principal ids, resources and tokens held, all entries together.
	Bytes int
	// PerPrincipal bounds the distinct resources cached for one identity.
	PerPrincipal int
}

// DefaultCacheLimits hold a few hundred busy identities' tokens: a token is about 1.5 KiB
// and a resource at most 1 KiB, so 64 resources of one identity take at most ~170 KiB.
var DefaultCacheLimits = CacheLimits{Bytes: 64 << 20, PerPrincipal: 64}

// CacheStats describe a Cache for the metrics.
type CacheStats struct {
	Entries int
	Bytes   int
	// Overflow counts tokens not cached because their identity had PerPrincipal
	// resources cached already (or the token alone exceeded Bytes).
	Overflow uint64
	// Evicted counts live tokens dropped to stay within Bytes.
	Evicted uint64
}

const (
	minRemaining = 5 * time.Minute
	// entryOverhead approximates the maps' and Minted's own memory per entry, so a flood of
	// tiny entries is bounded too.
	entryOverhead = 128
	// sweepEvery limits full scans for expired tokens when the cache is full of live
	// ones: in between, room is made by evicting.
	sweepEvery = time.Minute
)

// NewCache returns a cache within l.
func NewCache(l CacheLimits) *Cache {
	return &Cache{limits: l, byPrincipal: make(map[string]map[string]Minted)}
}

func entrySize(principalID, resource string, m Minted) int {
	return len(principalID) + len(resource) + len(m.AccessToken) + len(m.UTI) + entryOverhead
}

func (c *Cache) get(principalID, resource string, now time.Time) (Minted, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.byPrincipal[principalID][resource]
	if !ok || m.ExpiresAt.Sub(now) <= minRemaining {
		return Minted{}, false
	}
	return m, true
}

// put caches m, unless the limits say not to; it reports whether m was cached.
func (c *Cache) put(principalID, resource string, m Minted, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := entrySize(principalID, resource, m)
	if size > c.limits.Bytes {
		c.overflow++
		return false
	}
	res := c.byPrincipal[principalID]
	if old, ok := res[resource]; ok {
		c.remove(principalID, resource, old) // a refresh replaces the stale token
		res = c.byPrincipal[principalID]
	}
	if len(res) >= c.limits.PerPrincipal {
		for r, t := range res {
			if t.ExpiresAt.Sub(now) <= minRemaining {
				c.remove(principalID, r, t)
			}
		}
		res = c.byPrincipal[principalID]
		if len(res) >= c.limits.PerPrincipal {
			c.overflow++
			return false
		}
	}
	c.makeRoom(size, now)
	if res == nil {
		res = make(map[string]Minted)
		c.byPrincipal[principalID] = res
	}
	res[resource] = m
	c.entries++
	c.bytes += size
	return true
}

// makeRoom drops tokens until size more bytes fit: expired ones first (at most once per
// sweepEvery, as that scans everything), then any, in map order.
func (c *Cache) makeRoom(size int, now time.Time) {
	if c.bytes+size <= c.limits.Bytes {
		return
	}
	if now.Sub(c.lastSweep) >= sweepEvery {
		c.lastSweep = now
		for p, res := range c.byPrincipal {
			for r, t := range res {
				if t.ExpiresAt.Sub(now) <= minRemaining {
					c.remove(p, r, t)
				}
			}
		}
	}
	for p, res := range c.byPrincipal {
		for r, t := range res {
			if c.bytes+size <= c.limits.Bytes {
				return
			}
			c.remove(p, r, t)
			c.evicted++
		}
	}
}

func (c *Cache) remove(principalID, resource string, m Minted) {
	res := c.byPrincipal[principalID]
	if _, ok := res[resource]; !ok {
		return
	}
	delete(res, resource)
	if len(res) == 0 {
		delete(c.byPrincipal, principalID)
	}
	c.entries--
	c.bytes -= entrySize(principalID, resource, m)
}

// Stats returns the cache's size and counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: c.entries, Bytes: c.bytes, Overflow: c.overflow, Evicted: c.evicted}
}

// Forget drops every cached token of the given identities.
func (c *Cache) Forget(principalIDs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range principalIDs {
		for r, t := range c.byPrincipal[p] {
			c.remove(p, r, t)
		}
	}
}

// ForgetToken drops the cached token whose uti is given.
func (c *Cache) ForgetToken(uti string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, res := range c.byPrincipal {
		for r, t := range res {
			if t.UTI == uti {
				c.remove(p, r, t)
			}
		}
	}
}

// Clear drops every cached token, for when identities changed in ways this node was not
// told about in detail (another node changed them).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byPrincipal)
	c.entries, c.bytes = 0, 0
}
