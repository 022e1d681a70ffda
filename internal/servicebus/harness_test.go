package servicebus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
	"github.com/lanyard-id/lanyard/internal/pki"
	"github.com/lanyard-id/lanyard/internal/token"
)

// fakeAuthorizer stands for the access package: tokens are "token-<principal>", roles a
// set of principal|action, and a revoked principal fails its re-checks. The real
// authorizer is exercised end to end (e2e/servicebus_queue_test.go).
type fakeAuthorizer struct {
	mu        sync.Mutex
	allowed   map[string]bool
	at        map[string][]string // principal|action: the scopes below the namespace granted
	revoked   map[string]bool
	lifetime  time.Duration
	decisions []string // principal action scope allowed|denied
}

func newFakeAuthorizer() *fakeAuthorizer {
	return &fakeAuthorizer{allowed: map[string]bool{}, revoked: map[string]bool{}, lifetime: time.Hour}
}

func (a *fakeAuthorizer) allow(principal, action string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allowed[principal+"|"+action] = true
}

func (a *fakeAuthorizer) revoke(principal string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[principal] = true
}

func (a *fakeAuthorizer) Authenticate(_ context.Context, req access.Request) (token.Claims, error) {
	principal, ok := strings.CutPrefix(req.Token, "token-")
	if !ok || len(req.Audiences) != 1 || req.Audiences[0] != lanyard.ServiceBusResource {
		return token.Claims{}, lanyard.Errorf(lanyard.KindUnauthenticated, "The token does not verify.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return token.Claims{ObjectID: principal, ExpiresAt: time.Now().Add(a.lifetime)}, nil
}

func (a *fakeAuthorizer) Decide(_ context.Context, claims token.Claims, req access.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ok := a.grants(claims.ObjectID, req.Action, req.Scope) && !a.revoked[claims.ObjectID]
	a.decisions = append(a.decisions, fmt.Sprintf("%s %s %s %v", claims.ObjectID, req.Action, req.Scope, ok))
	if !ok {
		return access.ErrDenied
	}
	return nil
}

func (a *fakeAuthorizer) Recheck(_ context.Context, claims token.Claims, action string, _ bool, scope string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked[claims.ObjectID] {
		return lanyard.Errorf(lanyard.KindUnauthenticated, "The token was revoked.")
	}
	if !a.grants(claims.ObjectID, action, scope) {
		return access.ErrDenied
	}
	return nil
}

// fakeEntities is a namespace's queues and topics, and the topics' subscriptions and
// rules (topic_test.go).
type fakeEntities struct {
	mu     sync.Mutex
	queues map[string]lanyard.ServiceBusQueue
	topics map[string]bool
	subs   map[string]lanyard.ServiceBusSubscription // by topic/sub, lower case
	rules  map[string][]lanyard.ServiceBusRule       // by topic/sub, lower case
	topic  map[string]lanyard.ServiceBusTopic        // settings of topics that have some
}

func (e *fakeEntities) GetServiceBusQueue(_ context.Context, namespace, name string) (lanyard.ServiceBusQueue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queues[strings.ToLower(name)]
	if !ok {
		return q, lanyard.Errorf(lanyard.KindNotFound, "no queue %s", name)
	}
	return q, nil
}

func (e *fakeEntities) GetServiceBusTopic(_ context.Context, namespace, name string) (lanyard.ServiceBusTopic, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.topic[strings.ToLower(name)]; ok {
		return t, nil
	}
	if !e.topics[strings.ToLower(name)] {
		return lanyard.ServiceBusTopic{}, lanyard.Errorf(lanyard.KindNotFound, "no topic %s", name)
	}
	return lanyard.ServiceBusTopic{Namespace: namespace, Name: name}, nil
}

func (e *fakeEntities) remove(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.queues, strings.ToLower(name))
}

// broker is a Broker serving namespace "orders-ns" on a free port, with its real queue
// store, and what a client needs to reach it.
type broker struct {
	*Broker
	auth     *fakeAuthorizer
	entities *fakeEntities
	store    *sqlitequeue.Store
	addr     string // host:port
	roots    *x509.CertPool
}

func newBroker(t testing.TB, tune func(*Config)) *broker {
	t.Helper()
	store, err := sqlitequeue.Open(t.Context(), t.TempDir(), sqlitequeue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ca, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	q := lanyard.NewServiceBusQueue("orders-ns", "orders")
	q.LockDuration, q.MaxDeliveryCount = 2*time.Second, 3
	entities := &fakeEntities{queues: map[string]lanyard.ServiceBusQueue{"orders": q}, topics: map[string]bool{"events": true}}
	auth := newFakeAuthorizer()
	cfg := Config{Store: store, Entities: entities, Rules: entities, Authorizer: auth, Certificates: ca, RecheckInterval: 50 * time.Millisecond, RedeliveryPoll: 50 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	b.Sync([]lanyard.ServiceBusNamespace{{Name: "orders-ns", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/orders-ns", Listen: addr}})
	deadline := time.Now().Add(5 * time.Second)
	for b.Addr("orders-ns") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the namespace's listener did not bind")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &broker{Broker: b, auth: auth, entities: entities, store: store, addr: addr, roots: roots}
}

// credential hands azservicebus "token-<principal>".
type credential string

func (c credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "token-" + string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// client is the unmodified azservicebus as principal, trusting the broker's CA, with the
// namespace's host:port as its fully qualified namespace.
func (b *broker) client(t testing.TB, principal string) *azservicebus.Client {
	t.Helper()
	_, port, _ := net.SplitHostPort(b.addr)
	c, err := azservicebus.NewClient("localhost:"+port, credential(principal), &azservicebus.ClientOptions{
		TLSConfig:    &tls.Config{RootCAs: b.roots, MinVersion: tls.VersionTLS12},
		RetryOptions: azservicebus.RetryOptions{MaxRetries: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
