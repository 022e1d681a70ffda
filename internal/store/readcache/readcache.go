// Package readcache is a store decorator that keeps the lookups made on every request (the
// identity behind a token, the app behind an identity header, the storage account a Blob
// request names) in memory. That takes the
// database off the hot path, and lets a node keep validating tokens and serving managed
// identity tokens while a shared database is briefly unreachable.
//
// Lists, whole or paged (ListAppsPage and the like), are not per-request lookups: they
// pass through to the wrapped store uncached, and so always see its latest state.
//
// Entries are dropped when identities or apps change through this cache, and wholesale
// when Flush is called, which the server does whenever the change feed reports that
// another node changed them.
package readcache

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// maxEntries bounds each map; past it the map starts over.
const maxEntries = 100_000

// Store caches identity and app lookups of the store it wraps.
type Store struct {
	store.Store

	// Fresh, when set, says whether cached entries may be served; when it returns an
	// error every read goes to the store, as if nothing were cached. The server uses it
	// to stop trusting memory once a shared store's change feed has been down too long.
	Fresh func() error

	mu          sync.RWMutex
	gen         uint64 // bumped by every flush, so a read that raced one is not cached
	byPrincipal map[string]lanyard.Identity
	byClient    map[string]lanyard.Identity
	byResource  map[string]lanyard.Identity
	byHeader    map[string]lanyard.App
	byAccount   map[string]lanyard.StorageAccount
}

// New wraps s.
func New(s store.Store) *Store {
	c := &Store{Store: s}
	c.Flush()
	return c
}

// Flush drops every cached entry.
func (c *Store) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.byPrincipal = map[string]lanyard.Identity{}
	c.byClient = map[string]lanyard.Identity{}
	c.byResource = map[string]lanyard.Identity{}
	c.byHeader = map[string]lanyard.App{}
	c.byAccount = map[string]lanyard.StorageAccount{}
}

// Topics lists the change-feed topics after which Flush must be called.
var Topics = []string{"identities", "apps", "app_user_identities", "resource_groups", "storage_accounts", store.TopicResync}

// Invalidates reports whether a change-feed topic invalidates the cache.
func Invalidates(topic string) bool {
	for _, t := range Topics {
		if t == topic {
			return true
		}
	}
	return false
}

func lookup[V any](c *Store, m *map[string]V, key string) (V, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := (*m)[key]
	return v, ok, c.gen
}

func remember[V any](c *Store, m *map[string]V, key string, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(*m) >= maxEntries {
		*m = map[string]V{}
	}
	(*m)[key] = v
}

func cached[V any](ctx context.Context, c *Store, m *map[string]V, key string, load func(context.Context) (V, error)) (V, error) {
	if c.Fresh != nil && c.Fresh() != nil {
		return load(ctx)
	}
	v, ok, gen := lookup(c, m, key)
	if ok {
		return v, nil
	}
	v, err := load(ctx)
	if err == nil {
		remember(c, m, key, v, gen)
	}
	return v, err
}

func (c *Store) GetIdentity(ctx context.Context, principalID string) (lanyard.Identity, error) {
	return cached(ctx, c, &c.byPrincipal, principalID, func(ctx context.Context) (lanyard.Identity, error) {
		return c.Store.GetIdentity(ctx, principalID)
	})
}

func (c *Store) GetIdentityByClientID(ctx context.Context, clientID string) (lanyard.Identity, error) {
	return cached(ctx, c, &c.byClient, clientID, func(ctx context.Context) (lanyard.Identity, error) {
		return c.Store.GetIdentityByClientID(ctx, clientID)
	})
}

func (c *Store) GetIdentityByResourceID(ctx context.Context, resourceID string) (lanyard.Identity, error) {
	return cached(ctx, c, &c.byResource, strings.ToLower(resourceID), func(ctx context.Context) (lanyard.Identity, error) {
		return c.Store.GetIdentityByResourceID(ctx, resourceID)
	})
}

func (c *Store) GetAppByHeaderHash(ctx context.Context, h []byte) (lanyard.App, error) {
	return cached(ctx, c, &c.byHeader, hex.EncodeToString(h), func(ctx context.Context) (lanyard.App, error) {
		return c.Store.GetAppByHeaderHash(ctx, h)
	})
}

func (c *Store) GetStorageAccount(ctx context.Context, name string) (lanyard.StorageAccount, error) {
	return cached(ctx, c, &c.byAccount, strings.ToLower(name), func(ctx context.Context) (lanyard.StorageAccount, error) {
		return c.Store.GetStorageAccount(ctx, name)
	})
}

// Writes that can change what the cache holds flush it once they are done. Flushing
// after the write (not before) means no read can cache the old value after the flush.

func flushAfter(c *Store, err error) error {
	c.Flush()
	return err
}

func (c *Store) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	return flushAfter(c, c.Store.InTx(ctx, fn))
}

func (c *Store) CreateIdentity(ctx context.Context, id lanyard.Identity) error {
	return flushAfter(c, c.Store.CreateIdentity(ctx, id))
}

func (c *Store) UpdateIdentity(ctx context.Context, principalID string, fn func(lanyard.Identity) (lanyard.Identity, error)) (lanyard.Identity, error) {
	id, err := c.Store.UpdateIdentity(ctx, principalID, fn)
	return id, flushAfter(c, err)
}

func (c *Store) DeleteIdentity(ctx context.Context, principalID string) error {
	return flushAfter(c, c.Store.DeleteIdentity(ctx, principalID))
}

func (c *Store) CreateApp(ctx context.Context, a lanyard.App) error {
	return flushAfter(c, c.Store.CreateApp(ctx, a))
}

func (c *Store) UpdateApp(ctx context.Context, resourceID string, fn func(lanyard.App) (lanyard.App, error)) (lanyard.App, error) {
	a, err := c.Store.UpdateApp(ctx, resourceID, fn)
	return a, flushAfter(c, err)
}

func (c *Store) DeleteApp(ctx context.Context, resourceID string) error {
	return flushAfter(c, c.Store.DeleteApp(ctx, resourceID))
}

func (c *Store) DeleteGroup(ctx context.Context, name string) error {
	return flushAfter(c, c.Store.DeleteGroup(ctx, name))
}

func (c *Store) CreateStorageAccount(ctx context.Context, a lanyard.StorageAccount) error {
	return flushAfter(c, c.Store.CreateStorageAccount(ctx, a))
}

func (c *Store) UpdateStorageAccount(ctx context.Context, name string, fn func(lanyard.StorageAccount) (lanyard.StorageAccount, error)) (lanyard.StorageAccount, error) {
	a, err := c.Store.UpdateStorageAccount(ctx, name, fn)
	return a, flushAfter(c, err)
}

func (c *Store) DeleteStorageAccount(ctx context.Context, name string) error {
	return flushAfter(c, c.Store.DeleteStorageAccount(ctx, name))
}
