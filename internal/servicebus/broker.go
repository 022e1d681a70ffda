package servicebus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/listenset"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Entities reads the namespaces' queues, topics, subscriptions and rules; store.Store
// is one.
type Entities interface {
	GetServiceBusQueue(ctx context.Context, namespace, name string) (lanyard.ServiceBusQueue, error)
	GetServiceBusTopic(ctx context.Context, namespace, name string) (lanyard.ServiceBusTopic, error)
	GetServiceBusSubscription(ctx context.Context, namespace, topic, name string) (lanyard.ServiceBusSubscription, error)
	ListServiceBusSubscriptionsPage(ctx context.Context, namespace, topic, after string, limit int) ([]lanyard.ServiceBusSubscription, error)
	ListServiceBusRulesPage(ctx context.Context, namespace, topic, subscription, after string, limit int) ([]lanyard.ServiceBusRule, error)
}

// RuleEditor changes subscriptions' rules for the rule managers' add-rule and
// remove-rule, with the management API's checks; *directory.ServiceBus is one.
type RuleEditor interface {
	AddRule(ctx context.Context, group string, r lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error)
	DeleteRule(ctx context.Context, group, namespace, topic, subscription, name string) error
}

// Certificates issues the listeners' TLS certificates; *pki.CA is one.
type Certificates interface {
	ServerCertificate(names []string, now time.Time) (tls.Certificate, error)
}

// Authorizer authenticates put-tokens and decides what their principals may do;
// *access.Authorizer is one (its Resources resolve namespace names).
type Authorizer interface {
	// Authenticate verifies req.Token for req.Audiences and checks its principal.
	Authenticate(ctx context.Context, req access.Request) (token.Claims, error)
	// Decide decides, and records, whether claims' principal may do req.Action at
	// req.Resource/req.Scope: nil, access.ErrDenied, or why it could not decide.
	Decide(ctx context.Context, claims token.Claims, req access.Request) error
	// Recheck re-checks a link's standing grant, recording nothing.
	Recheck(ctx context.Context, claims token.Claims, action string, dataAction bool, scope string) error
}

// Config is what a Broker is built from.
type Config struct {
	Store    messaging.Store
	Entities Entities
	// Rules serves add-rule and remove-rule; nil: they answer not-implemented.
	Rules RuleEditor
	// Authorizer authenticates put-tokens (audience ServiceBusResource) and decides links
	// and $management operations; its Resources resolve namespace names.
	Authorizer   Authorizer
	Certificates Certificates
	Metrics      *Metrics // nil: nothing counted
	Logger       *slog.Logger
	// BindHost, when set, replaces the host of every namespace's address on this node.
	BindHost string
	// ClaimTimeout is how long a connection may go without a valid put-token; 20s (as
	// Service Bus) when zero.
	ClaimTimeout time.Duration
	// RecheckInterval is how often open links are re-checked; 250ms when zero.
	RecheckInterval time.Duration
	// RedeliveryPoll bounds how long a receiver waits before looking again for messages
	// whose lock expired (arrivals wake it at once); 250ms when zero.
	RedeliveryPoll time.Duration
	// MaxConnections caps open connections over all namespaces; 1000 when zero.
	MaxConnections int
	// MaxPublishBytes bounds the copies (their bytes, and a little per copy) one write of
	// a topic's sends holds; DefaultMaxPublishBytes when zero.
	MaxPublishBytes int64
	Now             func() time.Time
}

// Broker serves the namespaces it is given by Sync, each on its own listener.
type Broker struct {
	cfg Config
	log *slog.Logger
	set *listenset.Set[*tls.Config]

	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	namespaces map[string]lanyard.ServiceBusNamespace // by lower-case name
	conns      map[*connection]struct{}
	open       atomic.Int64
	wg         sync.WaitGroup

	programs programs // subscription rules' compiled expressions
}

// New returns a Broker serving no namespace yet.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil || cfg.Entities == nil || cfg.Authorizer == nil || cfg.Certificates == nil {
		return nil, errors.New("servicebus: Store, Entities, Authorizer and Certificates are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = 20 * time.Second
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 250 * time.Millisecond
	}
	if cfg.RedeliveryPoll <= 0 {
		cfg.RedeliveryPoll = 250 * time.Millisecond
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 1000
	}
	if cfg.MaxPublishBytes <= 0 {
		cfg.MaxPublishBytes = DefaultMaxPublishBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{cfg: cfg, log: cfg.Logger.With("component", "servicebus"), ctx: ctx, cancel: cancel,
		namespaces: map[string]lanyard.ServiceBusNamespace{}, conns: map[*connection]struct{}{}}
	b.set = listenset.New(listenset.Config[*tls.Config]{What: "Service Bus namespace", Prepare: b.prepare, Serve: b.accept, Logger: b.log})
	return b, nil
}

func (b *Broker) now() time.Time { return b.cfg.Now() }

// Sync makes the broker serve exactly namespaces: new ones get a listener, moved ones
// are rebound, and the connections of those gone are closed.
func (b *Broker) Sync(namespaces []lanyard.ServiceBusNamespace) {
	want := make(map[string]string, len(namespaces))
	b.mu.Lock()
	b.namespaces = make(map[string]lanyard.ServiceBusNamespace, len(namespaces))
	for _, n := range namespaces {
		key := strings.ToLower(n.Name)
		b.namespaces[key] = n
		want[key] = b.bindAddress(n.Listen)
	}
	b.mu.Unlock()
	for _, key := range b.set.Sync(want) {
		b.closeConnections(key, "The namespace was deleted or moved.")
	}
}

func (b *Broker) bindAddress(listen string) string {
	if b.cfg.BindHost == "" {
		return listen
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	return net.JoinHostPort(b.cfg.BindHost, port)
}

// Addr returns the address namespace's listener is bound to, or nil while it is not.
func (b *Broker) Addr(namespace string) net.Addr { return b.set.Addr(strings.ToLower(namespace)) }

// Close stops the listeners and closes every connection.
func (b *Broker) Close() error {
	b.set.Close()
	b.cancel()
	b.closeConnections("", "Lanyard is shutting down.")
	b.wg.Wait()
	return nil
}

func (b *Broker) closeConnections(key, why string) {
	b.mu.Lock()
	var conns []*connection
	for c := range b.conns {
		if key == "" || strings.EqualFold(c.ns.Name, key) {
			conns = append(conns, c)
		}
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		if conn != nil {
			conn.Close(amqpError(amqp.ErrConnectionForced, "%s", why))
		}
		c.cancel()
	}
}

// prepare issues the certificate of a namespace's listener: localhost and the listen
// host, with and without the port (the SDKs take host:port as the TLS server name).
func (b *Broker) prepare(_ string, addr string) (*tls.Config, error) {
	names := []string{"localhost"}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		names = append(names, "localhost:"+port)
		if host != "" {
			names = append(names, host, net.JoinHostPort(host, port))
		}
	}
	cert, err := b.cfg.Certificates.ServerCertificate(names, b.now())
	if err != nil {
		return nil, fmt.Errorf("servicebus: listener certificate: %w", err)
	}
	// ALPN: AMQP clients offer none; WebSocket clients may offer http/1.1.
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"amqp", "http/1.1"}}, nil
}

// accept serves one connection of the namespace keyed key.
func (b *Broker) accept(key string, cfg *tls.Config, nc net.Conn) {
	b.mu.Lock()
	ns, ok := b.namespaces[key]
	b.mu.Unlock()
	if !ok || b.open.Add(1) > int64(b.cfg.MaxConnections) {
		if ok {
			b.open.Add(-1)
			b.log.Warn("too many Service Bus connections; refusing one", "max", b.cfg.MaxConnections)
		}
		_ = nc.Close()
		return
	}
	c := b.newConnection(ns, nc.RemoteAddr().String())
	b.mu.Lock()
	b.conns[c] = struct{}{}
	b.mu.Unlock()
	b.wg.Go(func() {
		defer b.open.Add(-1)
		defer func() {
			b.mu.Lock()
			delete(b.conns, c)
			b.mu.Unlock()
		}()
		c.work.Go(c.watch)
		err := c.serveTLS(nc, cfg)
		c.ended()
		if err != nil {
			c.log.Debug("connection ended", "err", err)
		}
	})
}

// maxMessageSize bounds a message (or a batch) sent to a queue: Service Bus Premium's
// default of 1 MiB.
const maxMessageSize = 1 << 20

// QueueOf is what a queue store needs of q, names in their canonical (lower) case.
func QueueOf(q lanyard.ServiceBusQueue) messaging.Queue {
	out := messaging.Queue{Namespace: strings.ToLower(q.Namespace), Name: strings.ToLower(q.Name), LockDuration: q.LockDuration,
		MaxDeliveryCount: q.MaxDeliveryCount, DeadLetterOnExpiration: q.DeadLetteringOnMessageExpiration}
	if q.RequiresDuplicateDetection {
		out.DuplicateDetectionWindow = q.DuplicateDetectionHistoryTimeWindow
	}
	return out
}

// atomicQueue holds a link's view of its queue's settings.
type atomicQueue struct {
	p atomic.Pointer[lanyard.ServiceBusQueue]
}

func (a *atomicQueue) Store(q lanyard.ServiceBusQueue) { a.p.Store(&q) }
func (a *atomicQueue) Load() lanyard.ServiceBusQueue   { return *a.p.Load() }
