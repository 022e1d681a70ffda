package federation

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults of IssuerKeys.
const (
	DefaultFetchTimeout    = 5 * time.Second
	DefaultMaxMetadataSize = 1 << 20
	DefaultKeyMaxAge       = time.Hour
	DefaultMinRefresh      = 30 * time.Second
	DefaultMaxIssuers      = 1000
)

// IssuerKeys fetches and caches the signing keys of assertion issuers. Only the
// Validator calls it, and only for issuers a federated credential names.
//
// An issuer's keys are fetched when first needed, again once they are MaxAge old, and
// again when an assertion names a key they lack (the issuer may have rotated). Fetches of
// one issuer are at least MinRefresh apart, failed ones included, so that no stream of
// assertions, valid or forged, can make Lanyard hammer an issuer; concurrent requests for
// one issuer share one fetch. It is safe for concurrent use.
type IssuerKeys struct {
	// Client fetches the metadata; http.DefaultClient when nil. It must trust the issuers'
	// certificate authorities, and should dial only what an AddressPolicy allows (the
	// server's does; http.DefaultClient does not).
	Client *http.Client
	// FetchTimeout bounds one fetch, discovery document and key set together.
	FetchTimeout time.Duration
	// MaxMetadataSize bounds each of the two documents, in bytes.
	MaxMetadataSize int64
	MaxAge          time.Duration
	MinRefresh      time.Duration
	// MaxIssuers bounds how many issuers are cached; past it the least recently fetched
	// one is forgotten.
	MaxIssuers int
	Now        func() time.Time

	mu      sync.Mutex
	issuers map[string]*issuerEntry
	fetches int // total fetches started, for tests
}

type issuerEntry struct {
	keys      []jose.JSONWebKey
	fetched   time.Time // last successful fetch; zero if none
	attempted time.Time // last fetch started
	err       error     // the last fetch's error, nil if it succeeded
	inflight  chan struct{}
}

func (k *IssuerKeys) fetchTimeout() time.Duration {
	return orDefault(k.FetchTimeout, DefaultFetchTimeout)
}
func (k *IssuerKeys) maxAge() time.Duration { return orDefault(k.MaxAge, DefaultKeyMaxAge) }

// minRefresh may be set negative to turn rate limiting off (tests).
func (k *IssuerKeys) minRefresh() time.Duration { return orDefault(k.MinRefresh, DefaultMinRefresh) }

func (k *IssuerKeys) maxSize() int64 {
	if k.MaxMetadataSize > 0 {
		return k.MaxMetadataSize
	}
	return DefaultMaxMetadataSize
}

func (k *IssuerKeys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Keys returns issuer's signing keys. refresh says the caller found no key for its
// assertion in the keys it was given last; a new fetch is then made if the rate limit
// allows, and the cached keys are returned if it does not.
func (k *IssuerKeys) Keys(ctx context.Context, issuer string, refresh bool) ([]jose.JSONWebKey, error) {
	for {
		k.mu.Lock()
		e := k.entry(issuer)
		if wait := e.inflight; wait != nil {
			k.mu.Unlock()
			select {
			case <-wait:
				// Whatever that fetch found is as fresh as it gets.
				refresh = false
				continue
			case <-ctx.Done():
				return nil, unavailable("The request ended while the issuer's keys were being fetched.", ctx.Err())
			}
		}
		now := k.now()
		stale := e.fetched.IsZero() || now.Sub(e.fetched) >= k.maxAge()
		if !stale && !refresh {
			keys := e.keys
			k.mu.Unlock()
			return keys, nil
		}
		if !e.attempted.IsZero() && now.Sub(e.attempted) < k.minRefresh() {
			// Too soon to ask the issuer again: answer from what the last attempt left.
			keys, err := e.keys, e.err
			k.mu.Unlock()
			if !stale {
				return keys, nil
			}
			if err == nil {
				err = unavailable("The issuer's keys are out of date and may not be fetched again yet.", nil)
			}
			return nil, err
		}
		done := make(chan struct{})
		e.inflight, e.attempted = done, now
		k.fetches++
		k.mu.Unlock()

		// The fetch outlives a caller that gives up, so that those waiting on it still
		// get its result; its own timeout bounds it.
		keys, err := k.fetch(context.WithoutCancel(ctx), issuer)

		k.mu.Lock()
		e.inflight = nil
		e.err = err
		if err == nil {
			e.keys, e.fetched = keys, k.now()
		}
		close(done)
		cached, fresh := e.keys, !e.fetched.IsZero() && k.now().Sub(e.fetched) < k.maxAge()
		k.mu.Unlock()
		if err != nil {
			if fresh {
				// A refresh for an unknown key failed, but the keys in hand are still
				// good: the caller will report the key as unknown.
				return cached, nil
			}
			return nil, err
		}
		return keys, nil
	}
}

// entry returns issuer's cache entry, creating it (and evicting another if the cache is
// full). k.mu is held.
func (k *IssuerKeys) entry(issuer string) *issuerEntry {
	if k.issuers == nil {
		k.issuers = map[string]*issuerEntry{}
	}
	if e, ok := k.issuers[issuer]; ok {
		return e
	}
	limit := k.MaxIssuers
	if limit <= 0 {
		limit = DefaultMaxIssuers
	}
	if len(k.issuers) >= limit {
		var oldest string
		var at time.Time
		for name, e := range k.issuers {
			if e.inflight == nil && (oldest == "" || e.attempted.Before(at)) {
				oldest, at = name, e.attempted
			}
		}
		delete(k.issuers, oldest)
	}
	e := &issuerEntry{}
	k.issuers[issuer] = e
	return e
}

// Fetches reports how many fetches have been started, for tests and diagnostics.
func (k *IssuerKeys) Fetches() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}
