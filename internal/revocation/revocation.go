// Package revocation keeps the set of revoked tokens and principals' not-before times. It
// is small (entries go once every token they name has expired) and lives in memory, so
// every resource checks it on every request at the cost of a map lookup; the store keeps
// it across restarts and for other nodes.
package revocation

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// ErrRevoked is what a revoked token gets at a resource.
var ErrRevoked = lanyard.Errorf(lanyard.KindUnauthenticated, "The token has been revoked.").WithCode("InvalidAuthenticationInfo")

// skew is the clock skew verifiers tolerate on exp: a revocation outlives its tokens'
// expiry by that much.
const skew = 5 * time.Minute

// Set is the revocation state. It is safe for concurrent use; checks take no lock.
type Set struct {
	store       store.Revocations
	maxLifetime time.Duration
	now         func() time.Time
	// OnRevoke, when set, is told of every revocation made here, so token caches can
	// drop what it names.
	OnRevoke func(lanyard.Revocation)

	mu  sync.Mutex // serializes writers
	cur atomic.Pointer[state]
}

// state is immutable once published.
type state struct {
	tokens     map[string]struct{}
	principals map[string]time.Time // lower-cased principal id → not before
	ids        map[string]struct{}
	entries    int
}

// Open loads the revocations in s. maxLifetime is the longest a token lives.
func Open(ctx context.Context, s store.Revocations, maxLifetime time.Duration, now func() time.Time) (*Set, error) {
	if now == nil {
		now = time.Now
	}
	set := &Set{store: s, maxLifetime: maxLifetime, now: now}
	if err := set.Reload(ctx); err != nil {
		return nil, err
	}
	return set, nil
}

// Reload rebuilds the set from the store, for when another node revoked something.
func (s *Set) Reload(ctx context.Context) error {
	// Holding the writers' lock across the read keeps a revocation made meanwhile from
	// being overwritten by the older list.
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.store.ListRevocations(ctx)
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	old := s.cur.Load()
	st := &state{tokens: map[string]struct{}{}, principals: map[string]time.Time{}, ids: map[string]struct{}{}}
	for _, r := range rs {
		st.add(r)
	}
	s.cur.Store(st)
	// Revocations another node made reach this node's token caches here.
	if old != nil && s.OnRevoke != nil {
		for _, r := range rs {
			if _, ok := old.ids[r.ID]; !ok {
				s.OnRevoke(r)
			}
		}
	}
	return nil
}

func (st *state) add(r lanyard.Revocation) {
	st.entries++
	st.ids[r.ID] = struct{}{}
	switch r.Kind {
	case lanyard.RevokeToken:
		st.tokens[r.TokenID] = struct{}{}
	case lanyard.RevokePrincipal:
		k := strings.ToLower(r.PrincipalID)
		if r.NotBefore.After(st.principals[k]) {
			st.principals[k] = r.NotBefore
		}
	}
}

func (st *state) with(r lanyard.Revocation) *state {
	next := &state{tokens: make(map[string]struct{}, len(st.tokens)+1), principals: make(map[string]time.Time, len(st.principals)+1),
		ids: make(map[string]struct{}, len(st.ids)+1), entries: st.entries}
	for k := range st.ids {
		next.ids[k] = struct{}{}
	}
	for k, v := range st.tokens {
		next.tokens[k] = v
	}
	for k, v := range st.principals {
		next.principals[k] = v
	}
	next.add(r)
	return next
}

// Check reports ErrRevoked when the token uti of principalID, issued at issuedAt, is
// revoked. Token ids are compared exactly, principal ids case-insensitively.
func (s *Set) Check(principalID, uti string, issuedAt time.Time) error {
	st := s.cur.Load()
	if uti != "" {
		if _, ok := st.tokens[uti]; ok {
			return ErrRevoked
		}
	}
	if len(st.principals) > 0 {
		if nb, ok := st.principals[strings.ToLower(principalID)]; ok && issuedAt.Before(nb) {
			return ErrRevoked
		}
	}
	return nil
}

// NotBefore returns the time before which principalID's tokens are revoked (zero if none).
func (s *Set) NotBefore(principalID string) time.Time {
	return s.cur.Load().principals[strings.ToLower(principalID)]
}

// WaitIssuable waits, when principalID was revoked less than a second ago, until a token
// issued now (iat has whole seconds) falls after the revocation; otherwise the token would
// be refused as revoked the moment it is issued.
func (s *Set) WaitIssuable(ctx context.Context, principalID string) error {
	nb := s.NotBefore(principalID)
	if nb.IsZero() {
		return nil
	}
	target := nb.Truncate(time.Second)
	if target.Before(nb) {
		target = target.Add(time.Second)
	}
	wait := target.Sub(s.now())
	if wait <= 0 {
		return nil
	}
	if wait > 2*time.Second {
		return lanyard.Errorf(lanyard.KindUnavailable, "The identity's tokens are revoked until %s.", nb.UTC().Format(time.RFC3339))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the revocation to pass: %w", ctx.Err())
	}
}

// Len returns how many revocations are in force.
func (s *Set) Len() int { return s.cur.Load().entries }

// RevokeToken revokes the token uti. expiresAt is its expiry when known (zero otherwise:
// the entry then lasts the longest lifetime a token can have).
func (s *Set) RevokeToken(ctx context.Context, uti, principalID string, expiresAt time.Time, reason, by string) (lanyard.Revocation, error) {
	if uti == "" || len(uti) > 256 {
		return lanyard.Revocation{}, lanyard.Errorf(lanyard.KindInvalid, "A token id (uti) is required.").WithCode("InvalidRevocation")
	}
	now := s.clock()
	if expiresAt.IsZero() {
		expiresAt = now.Add(s.maxLifetime)
	}
	return s.add(ctx, lanyard.Revocation{
		ID: uuid.NewString(), Kind: lanyard.RevokeToken, TokenID: uti, PrincipalID: principalID, NotBefore: now,
		ExpiresAt: expiresAt.Add(skew).UTC().Truncate(time.Microsecond), Reason: reason, CreatedBy: by, CreatedAt: now,
	})
}

// RevokePrincipal revokes every token of principalID issued before before (now when zero;
// never in the future).
func (s *Set) RevokePrincipal(ctx context.Context, principalID string, before time.Time, reason, by string) (lanyard.Revocation, error) {
	if principalID == "" {
		return lanyard.Revocation{}, lanyard.Errorf(lanyard.KindInvalid, "A principal is required.").WithCode("InvalidRevocation")
	}
	now := s.clock()
	if before.IsZero() {
		before = now
	}
	before = before.UTC().Truncate(time.Microsecond)
	if before.After(now.Add(time.Second)) {
		return lanyard.Revocation{}, lanyard.Errorf(lanyard.KindInvalid, "The revocation time %s is in the future; disable the identity to refuse tokens not yet issued.", before.Format(time.RFC3339)).WithCode("InvalidRevocation")
	}
	return s.add(ctx, lanyard.Revocation{
		ID: uuid.NewString(), Kind: lanyard.RevokePrincipal, PrincipalID: strings.ToLower(principalID), NotBefore: before,
		ExpiresAt: before.Add(s.maxLifetime + skew), Reason: reason, CreatedBy: by, CreatedAt: now,
	})
}

func (s *Set) add(ctx context.Context, r lanyard.Revocation) (lanyard.Revocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.CreateRevocation(ctx, r); err != nil {
		return r, err
	}
	s.cur.Store(s.cur.Load().with(r))
	if s.OnRevoke != nil {
		s.OnRevoke(r)
	}
	return r, nil
}

// List returns the revocations in force.
func (s *Set) List(ctx context.Context) ([]lanyard.Revocation, error) {
	return s.store.ListRevocations(ctx)
}

// Prune deletes the revocations whose tokens have all expired, and reloads.
func (s *Set) Prune(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredRevocations(ctx, s.clock())
	if err != nil {
		return 0, fmt.Errorf("prune revocations: %w", err)
	}
	if n > 0 {
		return n, s.Reload(ctx)
	}
	return 0, nil
}

func (s *Set) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
