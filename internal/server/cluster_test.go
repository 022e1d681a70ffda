package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/token"
)

// faultStore is the server's store with the reads its views reload from failing on
// demand, as a database does for a moment while the change feed stays connected.
type faultStore struct {
	store.Store

	mu    sync.Mutex
	fail  map[string]int // method → failures left; negative: until cleared
	calls map[string]int
}

var errInjected = errors.New("injected failure")

func (f *faultStore) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	n := f.fail[method]
	if n == 0 {
		return nil
	}
	if n > 0 {
		f.fail[method] = n - 1
	}
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: "StoreUnavailable", Message: "injected", Err: errInjected}
}

// failing makes method fail n times (negative: until cleared, with n = 0).
func (f *faultStore) failing(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = n
}

func (f *faultStore) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *faultStore) ListRoleAssignments(ctx context.Context) ([]lanyard.RoleAssignment, error) {
	if err := f.check("ListRoleAssignments"); err != nil {
		return nil, err
	}
	return f.Store.ListRoleAssignments(ctx)
}

func (f *faultStore) ListRoleDefinitions(ctx context.Context) ([]lanyard.RoleDefinition, error) {
	if err := f.check("ListRoleDefinitions"); err != nil {
		return nil, err
	}
	return f.Store.ListRoleDefinitions(ctx)
}

func (f *faultStore) ListRevocations(ctx context.Context) ([]lanyard.Revocation, error) {
	if err := f.check("ListRevocations"); err != nil {
		return nil, err
	}
	return f.Store.ListRevocations(ctx)
}

func (f *faultStore) ListKeys(ctx context.Context) ([]lanyard.SigningKey, error) {
	if err := f.check("ListKeys"); err != nil {
		return nil, err
	}
	return f.Store.ListKeys(ctx)
}

// chanFeed is a change feed the test drives: it plays another node's notifications.
type chanFeed chan string

func (c chanFeed) Watch(ctx context.Context, fn func(string)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-c:
			fn(t)
		}
	}
}

// clusterNode is a server on SQLite whose store fails on demand and whose change feed the
// test drives, as if other nodes wrote to the store.
type clusterNode struct {
	s     *Server
	store *faultStore
	feed  chanFeed
	hc    *http.Client
}

func startClusterNode(t *testing.T, retry retryTiming) *clusterNode {
	f, err := config.Parse([]byte(`{"listen": {"api": "127.0.0.1:0", "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"}}`))
	if err != nil {
		t.Fatal(err)
	}
	f.Home = t.TempDir()
	cfg, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{feed: make(chanFeed, 16)}
	wrapStore = func(s store.Store) store.Store {
		n.store = &faultStore{Store: s, fail: map[string]int{}, calls: map[string]int{}}
		return n.store
	}
	defer func() { wrapStore = nil }()
	ctx, cancel := context.WithCancel(t.Context())
	if n.s, err = New(ctx, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	n.s.retry = retry
	done := make(chan error, 2)
	go func() { done <- n.s.Run(ctx) }()
	go func() { n.s.follow(ctx, n.feed); done <- nil }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
	pem, err := os.ReadFile(n.s.State().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	n.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return n
}

// get returns the status and body of GET path on the API listener with bearer tok.
func (n *clusterNode) get(t *testing.T, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", n.s.State().APIURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually polls cond with a generous deadline: the machine may be loaded.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last: %s", what, detail)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ready returns /readyz's status and the state it reports for component.
func (n *clusterNode) ready(t *testing.T, component string) (int, string) {
	t.Helper()
	status, body := n.get(t, "/readyz", "")
	var r struct {
		Components map[string]string `json:"components"`
		Reason     string            `json:"reason"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("readyz: %v: %s", err, body)
	}
	return status, r.Components[component]
}

// seedReader stores, as another node would, an identity with Reader on the subscription
// and announces it; it returns the identity, the assignment, and a management token for it.
func (n *clusterNode) seedReader(t *testing.T) (lanyard.Identity, lanyard.RoleAssignment, string) {
	ctx := t.Context()
	sub := "/subscriptions/" + n.s.tenant.SubscriptionID
	if err := n.store.CreateGroup(ctx, lanyard.ResourceGroup{Name: "demo", Location: "local", CreatedAt: time.Now()}); err != nil && lanyard.KindOf(err) != lanyard.KindConflict {
		t.Fatal(err)
	}
	name := uuid.NewString()
	id := lanyard.Identity{PrincipalID: uuid.NewString(), ClientID: uuid.NewString(), Kind: lanyard.UserAssigned,
		ResourceID:    sub + "/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name,
		ResourceGroup: "demo", Name: name, Location: "local", Enabled: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := n.store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	a := lanyard.RoleAssignment{ID: uuid.NewString(), Scope: sub, RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", // Reader
		PrincipalID: id.PrincipalID, PrincipalType: lanyard.PrincipalServicePrincipal, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := n.store.CreateRoleAssignment(ctx, a); err != nil {
		t.Fatal(err)
	}
	n.feed <- "identities"
	n.feed <- "role_assignments"
	apiURL := strings.TrimSuffix(n.s.State().AuthorityURL, "/"+n.s.tenant.ID)
	tok, err := (&token.Issuer{Keys: n.s.keyring, Lifetime: time.Hour}).Issue(token.Request{TenantID: n.s.tenant.ID,
		IssuerURL: authority.IssuerV1(apiURL, n.s.tenant.ID), Audience: "https://management.azure.com", Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the assignment decides requests", func() (bool, string) {
		st, body := n.get(t, n.listGroups(), tok.Raw)
		return st == 200, body
	})
	return id, a, tok.Raw
}

func (n *clusterNode) listGroups() string {
	return "/subscriptions/" + n.s.tenant.SubscriptionID + "/resourceGroups?api-version=2021-04-01"
}

// staleThenRecovered checks that after a failed reload the node is not ready, naming the
// view, and refuses (503, not an answer from memory) to decide with tok; and that once
// the store answers again it becomes ready by itself and decides wantAfter.
func (n *clusterNode) staleThenRecovered(t *testing.T, view, method, tok string, wantAfter int) {
	t.Helper()
	eventually(t, "readyz names the stale "+view, func() (bool, string) {
		st, state := n.ready(t, view)
		return st == 503 && strings.Contains(state, "out of date"), state
	})
	if st, body := n.get(t, n.listGroups(), tok); st != 503 || !strings.Contains(body, "StoreUnavailable") {
		t.Fatalf("a request decided while the %s are out of date: %d %s; want 503 StoreUnavailable", view, st, body)
	}
	// The retries keep failing and keep the node out; then the store answers again.
	before := n.store.called(method)
	eventually(t, "the reload is retried", func() (bool, string) { return n.store.called(method) > before+1, "" })
	if st, _ := n.get(t, n.listGroups(), tok); st != 503 {
		t.Fatalf("a request decided while the retries fail: %d; want 503", st)
	}
	n.store.failing(method, 0)
	eventually(t, "the node is ready again by itself", func() (bool, string) {
		st, state := n.ready(t, view)
		return st == 200 && state == "ok", state
	})
	if st, body := n.get(t, n.listGroups(), tok); st != wantAfter {
		t.Fatalf("after the recovery: %d %s; want %d", st, body, wantAfter)
	}
}

// An assignment deleted by another node, whose reload here fails, is not allowed from the
// stale index: the node reports not ready and refuses until a retry succeeds.
func TestFailedRoleAssignmentReloadFailsClosed(t *testing.T) {
	n := startClusterNode(t, defaultRetry)
	_, a, tok := n.seedReader(t)

	n.store.failing("ListRoleAssignments", -1)
	if err := n.store.DeleteRoleAssignment(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	n.feed <- "role_assignments"
	n.staleThenRecovered(t, "role assignments", "ListRoleAssignments", tok, http.StatusForbidden)
}

// Likewise a revocation made by another node.
func TestFailedRevocationReloadFailsClosed(t *testing.T) {
	n := startClusterNode(t, defaultRetry)
	id, _, tok := n.seedReader(t)

	n.store.failing("ListRevocations", -1)
	now := time.Now()
	if err := n.store.CreateRevocation(t.Context(), lanyard.Revocation{ID: uuid.NewString(), Kind: lanyard.RevokePrincipal,
		PrincipalID: id.PrincipalID, NotBefore: now.Add(time.Second), ExpiresAt: now.Add(2 * time.Hour), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	n.feed <- "revocations"
	n.staleThenRecovered(t, "revocations", "ListRevocations", tok, http.StatusUnauthorized)
}

// A reload that keeps failing turns into a full resync: every view is reloaded, not only
// the one that failed.
func TestRepeatedReloadFailuresResyncEverything(t *testing.T) {
	n := startClusterNode(t, retryTiming{min: time.Millisecond, max: 10 * time.Millisecond, resyncAfter: 3})
	n.store.failing("ListRoleAssignments", 5)
	keys := n.store.called("ListKeys")
	n.feed <- "role_assignments"
	eventually(t, "a full resync reloads the signing keys too", func() (bool, string) {
		return n.store.called("ListKeys") > keys, ""
	})
	eventually(t, "the node is ready again", func() (bool, string) {
		st, state := n.ready(t, "role assignments")
		return st == 200, state
	})
}
