package token

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
)

// memKeys is a minimal in-memory store.Keys for building a real Keyring.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]lanyard.SigningKey
}

func (m *memKeys) CreateKey(_ context.Context, k lanyard.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return lanyard.Errorf(lanyard.KindConflict, "exists")
	}
	m.keys[k.ID] = k
	return nil
}

func (m *memKeys) ListKeys(context.Context) ([]lanyard.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []lanyard.SigningKey
	for _, k := range m.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b lanyard.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (m *memKeys) UpdateKey(_ context.Context, id string, fn func(lanyard.SigningKey) (lanyard.SigningKey, error)) (lanyard.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return k, lanyard.Errorf(lanyard.KindNotFound, "not found")
	}
	k, err := fn(k)
	if err != nil {
		return k, err
	}
	m.keys[id] = k
	return k, nil
}

func (m *memKeys) DeleteKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[id]; !ok {
		return lanyard.Errorf(lanyard.KindNotFound, "not found")
	}
	delete(m.keys, id)
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const (
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testIssuer   = "https://127.0.0.1:10443/" + testTenant + "/"
	testAudience = "https://storage.azure.com"
)

var testIdentity = lanyard.Identity{
	PrincipalID: "9a1c3f2e-0000-4000-8000-000000000001",
	ClientID:    "5b2d4e6f-0000-4000-8000-000000000002",
	Kind:        lanyard.UserAssigned,
	ResourceID:  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
	Enabled:     true,
}

type fixture struct {
	clock    *clock
	keyring  *keys.Keyring
	issuer   *Issuer
	verifier *Verifier
}

func newFixture(t testing.TB, opts keys.Options) *fixture {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)}
	opts.Now = c.Now
	kr, err := keys.New(context.Background(), &memKeys{keys: map[string]lanyard.SigningKey{}}, sealer, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		clock:    c,
		keyring:  kr,
		issuer:   &Issuer{Keys: kr, Now: c.Now},
		verifier: &Verifier{Keys: kr, Issuers: []string{testIssuer}, Audiences: []string{testAudience}},
	}
}

func (f *fixture) request() Request {
	return Request{TenantID: testTenant, IssuerURL: testIssuer, Audience: testAudience, Identity: testIdentity}
}

func (f *fixture) issue(t testing.TB, req Request) Token {
	t.Helper()
	tok, err := f.issuer.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
