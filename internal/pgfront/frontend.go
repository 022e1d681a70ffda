package pgfront

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/listenset"
)

// Config configures a Frontend.
type Config struct {
	Directory    Directory
	Tokens       Tokens
	Certificates Certificates
	Audit        Auditor // nil: logins and session ends are only logged
	Logger       *slog.Logger
	// BindHost, when set, replaces the host of every server's Listen address on this node,
	// so that two nodes on one machine can front the same server (127.0.0.1:N and
	// 127.0.0.2:N).
	BindHost string
	// HandshakeTimeout bounds the whole login, upstream login included; 15s when zero.
	HandshakeTimeout time.Duration
	// RecheckInterval is how often open sessions are re-checked; 250ms when zero.
	RecheckInterval time.Duration
	// RebindInterval is how often a listen address that could not be bound is tried
	// again; 2s when zero.
	RebindInterval time.Duration
	// MaxConnections caps the connections open at once, handshakes and sessions, over all
	// servers; beyond it clients get FATAL 53300, as from PostgreSQL. 1000 when zero.
	MaxConnections int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Frontend serves the PostgreSQL servers it is given by Sync, each on its own listener.
type Frontend struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners *listenset.Set[*tls.Config] // keyed by server resource id
	servers   map[string]lanyard.PostgresServer
	pending   map[net.Conn]struct{}
	sessions  *registry
	open      atomic.Int64 // connections open, handshakes and sessions

	wg sync.WaitGroup // every goroutine the Frontend starts
}

// New returns a Frontend serving no server yet, with its recheck loop running.
func New(cfg Config) (*Frontend, error) {
	if cfg.Directory == nil || cfg.Tokens == nil || cfg.Certificates == nil {
		return nil, errors.New("pgfront: Directory, Tokens and Certificates are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 15 * time.Second
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 250 * time.Millisecond
	}
	if cfg.RebindInterval <= 0 {
		cfg.RebindInterval = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 1000
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Frontend{
		cfg: cfg, log: cfg.Logger.With("component", "pgfront"), ctx: ctx, cancel: cancel,
		servers: map[string]lanyard.PostgresServer{}, pending: map[net.Conn]struct{}{}, sessions: newRegistry(),
	}
	f.listeners = listenset.New(listenset.Config[*tls.Config]{What: "PostgreSQL server", Prepare: f.prepare, Serve: f.accept,
		RebindInterval: cfg.RebindInterval, Logger: f.log})
	f.wg.Go(f.recheckLoop)
	return f, nil
}

// Sync makes the listeners match servers: it starts listeners for new servers, stops
// those of servers gone (ending their sessions), and rebinds servers whose address
// changed. A server whose address cannot be bound is logged and retried every
// RebindInterval; the others keep serving.
func (f *Frontend) Sync(servers []lanyard.PostgresServer) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	want := make(map[string]string, len(servers))
	f.servers = make(map[string]lanyard.PostgresServer, len(servers))
	for _, s := range servers {
		want[s.ResourceID] = f.bindAddress(s)
		f.servers[s.ResourceID] = s
	}
	f.mu.Unlock()
	for _, id := range f.listeners.Sync(want) {
		if _, kept := want[id]; !kept {
			f.sessions.endServer(id, "the server was deleted")
		}
	}
}

// Addr returns the address a server's listener is bound to, or nil while it is not bound.
func (f *Frontend) Addr(serverID string) net.Addr { return f.listeners.Addr(serverID) }

// Close stops every listener, ends every session and handshake, and waits for all the
// goroutines the Frontend started.
func (f *Frontend) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	for c := range f.pending {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.listeners.Close()
	f.cancel()
	f.sessions.endAll("Lanyard is shutting down")
	f.wg.Wait()
	return nil
}

// bindAddress is the address to listen on for s on this node.
func (f *Frontend) bindAddress(s lanyard.PostgresServer) string {
	if f.cfg.BindHost == "" {
		return s.Listen
	}
	_, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return s.Listen // refused by net.Listen, and logged there
	}
	return net.JoinHostPort(f.cfg.BindHost, port)
}

// track registers a connection still in its handshake, so Close can end it; false when
// the Frontend is closed.
func (f *Frontend) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.pending[c] = struct{}{}
	return true
}

func (f *Frontend) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.pending, c)
	f.mu.Unlock()
}

func (f *Frontend) recheckLoop() {
	t := time.NewTicker(f.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
			f.Recheck(f.ctx)
		}
	}
}
