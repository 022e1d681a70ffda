// Package server wires Lanyard together: it opens the store and the keys, builds every
// service and protocol surface, and serves them on their listeners. It is the one place
// that knows about all the others; `lanyard up`, `lanyard server` and the end-to-end tests
// all start Lanyard through it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/sqlmeta"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/httplimit"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/pgfront"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/runstate"
	"github.com/lanyard-id/lanyard/internal/servicebus"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Server is a running Lanyard.
type Server struct {
	cfg     config.Config
	logger  *slog.Logger
	store   store.Store
	tenant  lanyard.Tenant
	keyring *keys.Keyring
	blob    *blob.Service
	state   runstate.State

	// signatures remembers verified tokens for every resource's verifier.
	signatures *token.SignatureCache

	// shared is the store when other nodes share it; its change feed is followed.
	shared store.ChangeFeed
	feed   *feedState
	views  []*view // what the node holds in memory of the store (cluster.go)
	// staleViews counts the views whose reload failed (view.staleViews).
	staleViews atomic.Int32
	retry      retryTiming // how a view whose reload failed is retried
	// readiness is what /readyz reports on.
	readiness readiness
	// obs is the audit trail, the revocations and the metrics (observe.go).
	obs *observability

	listeners []*listener
	// postgres fronts the PostgreSQL servers in the store, each on its own listener.
	postgres *pgfront.Frontend
	// serviceBus serves the Service Bus namespaces in the store over AMQP, each on its own
	// listener; queues holds their messages.
	serviceBus *servicebus.Broker
	queues     messaging.Store
}

type listener struct {
	name   string
	ln     net.Listener
	srv    *http.Server
	tls    bool
	limits httplimit.Limits
}

// New builds a server from cfg and opens its listeners; Run serves them.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Server, err error) {
	logger = slog.New(reqctx.LogHandler(logger.Handler())) // every line logged for a request names it
	s := &Server{cfg: cfg, logger: logger, feed: &feedState{grace: cfg.StoreGracePeriod}, retry: defaultRetry, signatures: token.NewSignatureCache(10_000)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	f, err := s.openFoundation(ctx)
	if err != nil {
		return nil, err
	}
	ep, err := s.openListeners(f)
	if err != nil {
		return nil, err
	}
	svc, err := s.buildServices(ctx, f, ep)
	if err != nil {
		return nil, err
	}
	if err := s.openServiceBus(ctx, f, svc, ep); err != nil {
		return nil, err
	}
	s.mountMSI(svc, ep)
	s.mountAPI(f, svc, ep)
	s.mountBlob(ctx, f, svc, ep)
	if err := s.openPostgres(f, svc, ep); err != nil {
		return nil, err
	}

	for _, l := range s.listeners {
		l.srv.Handler = l.limits.Handler(l.srv.Handler) // outermost: it sets the connection's deadlines
	}
	s.readiness.add("change feed", s.feed.ready)
	s.readiness.add("store", s.storeAnswers)
	s.readiness.add("blob storage", s.blobReady)
	s.buildViews(f.cached, svc.access.Reload, s.keyring.Reload, s.obs.revs.Reload, svc.tokens.Clear)
	if err := s.syncPostgres(ctx); err != nil {
		return nil, err
	}
	if err := s.syncServiceBus(ctx); err != nil {
		return nil, err
	}
	s.state = runstate.State{
		PID: os.Getpid(), TenantID: s.tenant.ID, SubscriptionID: s.tenant.SubscriptionID,
		APIURL: ep.localAPI, AuthorityURL: ep.apiURL + "/" + s.tenant.ID, MSIURL: ep.msiURL, BlobURL: ep.blobURL,
		CAFile: f.caFile, BundleFile: f.bundleFile,
	}
	return s, nil
}

// endpoints are the listeners and the URLs they are reached by.
type endpoints struct {
	api, msi, blob *listener
	// localAPI is where this node listens; apiURL is what it advertises as the authority,
	// which nodes serving as one share.
	localAPI, apiURL, msiURL, blobURL string
}

func (e endpoints) authorizationURI(tenant string) string {
	return e.apiURL + "/" + tenant + "/oauth2/authorize"
}
func (e endpoints) issuerURL(tenant string) string { return authority.IssuerV1(e.apiURL, tenant) }

func (s *Server) openListeners(f *foundation) (endpoints, error) {
	cfg := s.cfg
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{f.cert}, MinVersion: tls.VersionTLS12}
	var (
		ep  endpoints
		err error
	)
	if ep.api, err = s.listen("api", cfg.APIAddr, tlsConfig, smallBodyLimits(cfg.MaxConns.API)); err != nil {
		return ep, err
	}
	if ep.msi, err = s.listen("msi", cfg.MSIAddr, nil, smallBodyLimits(cfg.MaxConns.MSI)); err != nil {
		return ep, err
	}
	if ep.blob, err = s.listen("blob", cfg.BlobAddr, tlsConfig, blobLimits(cfg.MaxConns.Blob)); err != nil {
		return ep, err
	}
	// Blob speaks HTTP/1.1 only, as Azure Storage does: the SDKs' parallel ranged downloads
	// then get a connection each, rather than sharing one HTTP/2 connection whose frames
	// one goroutine encrypts.
	ep.blob.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	ep.localAPI = "https://" + hostPort(cfg.PublicHost, ep.api.ln.Addr())
	ep.apiURL = ep.localAPI
	if cfg.PublicAPIURL != "" {
		ep.apiURL = cfg.PublicAPIURL
	}
	ep.msiURL = "http://" + hostPort(cfg.PublicHost, ep.msi.ln.Addr())
	ep.blobURL = "https://" + hostPort(cfg.PublicHost, ep.blob.ln.Addr())
	return ep, nil
}

// sharedBlobMeta returns the store's blob metadata when other nodes share the store.
func (s *Server) sharedBlobMeta() blob.MetaStore {
	if ss, ok := s.shared.(*sqlstore.Store); ok {
		return sqlmeta.New(ss.Handle())
	}
	return nil
}

// Audiences of tokens accepted by the management API: ARM's, as the SDKs request them.
var managementAudiences = []string{"https://management.azure.com", "https://management.core.windows.net"}

// verifier checks tokens of this authority for the given audiences.
func (s *Server) verifier(issuerURL string, audiences ...string) *token.Verifier {
	return &token.Verifier{Keys: s.keyring, Issuers: []string{issuerURL}, Audiences: audiences, MatchAudience: token.SameResource, Cache: s.signatures}
}

// apiRouter sends ARM paths to the management API and everything else to the authority.
func apiRouter(management http.Handler, authority http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if strings.EqualFold(first, "subscriptions") || strings.EqualFold(first, "providers") {
			management.ServeHTTP(w, r)
			return
		}
		authority.ServeHTTP(w, r)
	})
}

func hostPort(host string, addr net.Addr) string {
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	return net.JoinHostPort(host, port)
}

// smallBodyLimits are those of the API and managed-identity listeners, whose request
// bodies are at most 1 MiB (token requests, ARM documents) and responses small: 1 MiB
// within 30s is 35 KiB/s.
func smallBodyLimits(maxConns int) httplimit.Limits {
	return httplimit.Limits{MaxConns: maxConns, BodyStall: 10 * time.Second, BodyTimeout: 30 * time.Second, WriteStall: 30 * time.Second}
}

// blobLimits are those of the Blob listener. The SDKs send single bodies of up to
// 256 MiB (Go's UploadBuffer), larger blobs in blocks of a few MiB; 10 minutes fits
// 256 MiB down to about 440 KiB/s, twice the time it takes at 1 MiB/s. A minute without
// a byte, in either direction, is a client gone or withholding (nginx's default for
// both). Downloads have no overall cap: a response that keeps moving is never cut.
func blobLimits(maxConns int) httplimit.Limits {
	return httplimit.Limits{MaxConns: maxConns, BodyStall: time.Minute, BodyTimeout: 10 * time.Minute, WriteStall: time.Minute}
}

// ListenError is a listener that could not listen, so that the command line can say which
// setting moves it.
type ListenError struct {
	Listener string // api, msi or blob
	Addr     string
	Err      error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("listen %s on %s: %v", e.Listener, e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

func (s *Server) listen(name, addr string, tlsConfig *tls.Config, limits httplimit.Limits) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &ListenError{Listener: name, Addr: addr, Err: err}
	}
	ln = limits.Listener(ln)
	if tlsConfig != nil {
		// A copy each: ServeTLS adds its protocols (h2 for the API, not for Blob) to the
		// server's config, which must not be another listener's, read concurrently.
		tlsConfig = tlsConfig.Clone()
	}
	l := &listener{name: name, ln: ln, tls: tlsConfig != nil, limits: limits, srv: &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}}
	s.listeners = append(s.listeners, l)
	return l, nil
}

// State describes the running server: its tenant and URLs.
func (s *Server) State() runstate.State { return s.state }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() {
			var err error
			if l.tls {
				err = l.srv.ServeTLS(l.ln, "", "")
			} else {
				err = l.srv.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", l.name, err)
			}
		}()
	}
	if s.shared != nil {
		followCtx, stopFollowing := context.WithCancel(ctx)
		defer stopFollowing()
		go s.follow(followCtx, s.shared)
	}
	if err := runstate.Write(s.cfg.Home, s.state); err != nil {
		// Serve anyway (a full disk must not keep the node from serving reads and the
		// deletions that free space); the log says where it listens instead.
		s.logger.Warn("could not record the running server's endpoints; serving anyway", "err", err,
			"api", s.state.APIURL, "msi", s.state.MSIURL, "blob", s.state.BlobURL)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, l := range s.listeners {
		_ = l.srv.Shutdown(shutdown)
	}
	if rmErr := runstate.Remove(s.cfg.Home); rmErr != nil {
		s.logger.Warn("could not remove the state file", "err", rmErr)
	}
	s.close()
	return err
}

func (s *Server) close() {
	for _, l := range s.listeners {
		_ = l.ln.Close()
	}
	if s.postgres != nil {
		_ = s.postgres.Close() // its sessions' end goes to the audit trail: before it closes
	}
	if s.serviceBus != nil {
		_ = s.serviceBus.Close()
	}
	if s.queues != nil {
		_ = s.queues.Close()
	}
	if s.blob != nil {
		_ = s.blob.Close()
	}
	s.obs.close() // writes the queued audit events: before the store closes
	if s.store != nil {
		_ = s.store.Close()
	}
}
