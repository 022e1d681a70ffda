package keys

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// memKeys is a store.Keys in memory, following the store contract (NotFound/Conflict
// kinds, microsecond UTC times, copies in and out), with call counters.
type memKeys struct {
	mu                               sync.Mutex
	keys                             map[string]lanyard.SigningKey
	lists, creates, updates, deletes int
	failList, failCreate             error
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]lanyard.SigningKey{}} }

func copyKey(k lanyard.SigningKey) lanyard.SigningKey {
	k.SealedKey = bytes.Clone(k.SealedKey)
	k.Certificate = bytes.Clone(k.Certificate)
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	if k.RetiredAt != nil {
		t := k.RetiredAt.UTC().Truncate(time.Microsecond)
		k.RetiredAt = &t
	}
	if k.RemoveAfter != nil {
		t := k.RemoveAfter.UTC().Truncate(time.Microsecond)
		k.RemoveAfter = &t
	}
	return k
}

func (m *memKeys) CreateKey(ctx context.Context, k lanyard.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creates++
	if m.failCreate != nil {
		return m.failCreate
	}
	if _, ok := m.keys[k.ID]; ok {
		return lanyard.Errorf(lanyard.KindConflict, "key %s exists", k.ID)
	}
	m.keys[k.ID] = copyKey(k)
	return nil
}

func (m *memKeys) ListKeys(ctx context.Context) ([]lanyard.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	if m.failList != nil {
		return nil, m.failList
	}
	out := make([]lanyard.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, copyKey(k))
	}
	slices.SortFunc(out, func(a, b lanyard.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (m *memKeys) UpdateKey(ctx context.Context, id string, fn func(lanyard.SigningKey) (lanyard.SigningKey, error)) (lanyard.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates++
	k, ok := m.keys[id]
	if !ok {
		return lanyard.SigningKey{}, lanyard.Errorf(lanyard.KindNotFound, "key %s not found", id)
	}
	k, err := fn(copyKey(k))
	if err != nil {
		return lanyard.SigningKey{}, err
	}
	k.ID = id
	m.keys[id] = copyKey(k)
	return copyKey(k), nil
}

func (m *memKeys) DeleteKey(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deletes++
	if _, ok := m.keys[id]; !ok {
		return lanyard.Errorf(lanyard.KindNotFound, "key %s not found", id)
	}
	delete(m.keys, id)
	return nil
}

func (m *memKeys) get(id string) (lanyard.SigningKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	return copyKey(k), ok
}

func (m *memKeys) put(k lanyard.SigningKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = copyKey(k)
}

func (m *memKeys) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

func (m *memKeys) writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.creates + m.updates + m.deletes
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
