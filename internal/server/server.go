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
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/msi"
	"github.com/lanyard-id/lanyard/internal/pki"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/runstate"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/readcache"
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

	// shared is the store when other nodes share it; its change feed is followed.
	// signatures remembers verified tokens for every resource's verifier.
	signatures *token.SignatureCache

	shared    store.ChangeFeed
	feed      *feedState
	reloaders []reloader
	// obs is the audit trail, the revocations and the metrics (observe.go).
	obs *observability

	listeners []*listener
}

type listener struct {
	name string
	ln   net.Listener
	srv  *http.Server
	tls  bool
}

// New builds a server from cfg and opens its listeners; Run serves them.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Server, err error) {
	logger = slog.New(reqctx.LogHandler(logger.Handler())) // every line logged for a request names it
	s := &Server{cfg: cfg, logger: logger, feed: &feedState{grace: cfg.StoreGracePeriod}, signatures: token.NewSignatureCache(10_000)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	kek, err := loadKEK(cfg.Home)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	sealer, err := seal.New(kek)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	if s.store, err = openStore(ctx, cfg.Store, cfg.Home); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if ss, ok := s.store.(*sqlstore.Store); ok && !isSQLite(cfg.Store) {
		ss.OnFeedUp, ss.OnFeedDown = s.feed.setUp, s.feed.setDown
		s.shared, s.feed.watching = ss, true
	}
	cached := readcache.New(s.store)
	cached.Fresh = s.feed.fresh
	if s.obs, err = openObservability(ctx, cfg.Audit, s.store, logger); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if s.tenant, err = loadTenant(ctx, s.store, cfg.TenantID); err != nil {
		return nil, err
	}
	headerKey, err := loadHeaderKey(ctx, s.store, sealer)
	if err != nil {
		return nil, err
	}
	adminHash, err := loadAdminToken(cfg.Home)
	if err != nil {
		return nil, err
	}
	tlsDir := filepath.Join(cfg.Home, "tls")
	ca, err := pki.LoadOrCreateCA(tlsDir)
	if err != nil {
		return nil, fmt.Errorf("certificate authority: %w", err)
	}
	cert, err := ca.ServerCertificate(append([]string{cfg.PublicHost}, cfg.TLSNames...), time.Now())
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	caFile, bundleFile := filepath.Join(tlsDir, "ca.pem"), filepath.Join(tlsDir, "bundle.pem")
	if err := pki.WriteTrustBundle(bundleFile, ca.CertPEM()); err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	if s.keyring, err = keys.New(ctx, s.store, sealer, keys.Options{MaxTokenLifetime: config.MaxTokenLifetime, Logger: logger}); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}

	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	apiLn, err := s.listen("api", cfg.APIAddr, tlsConfig)
	if err != nil {
		return nil, err
	}
	msiLn, err := s.listen("msi", cfg.MSIAddr, nil)
	if err != nil {
		return nil, err
	}
	blobLn, err := s.listen("blob", cfg.BlobAddr, tlsConfig)
	if err != nil {
		return nil, err
	}
	// localAPI is where this node listens; apiURL is what it advertises as the authority,
	// which nodes serving as one share.
	localAPI := "https://" + hostPort(cfg.PublicHost, apiLn.ln.Addr())
	apiURL := localAPI
	if cfg.PublicAPIURL != "" {
		apiURL = cfg.PublicAPIURL
	}
	msiURL := "http://" + hostPort(cfg.PublicHost, msiLn.ln.Addr())
	blobURL := "https://" + hostPort(cfg.PublicHost, blobLn.ln.Addr())
	blobOff := checkContentDir(ctx, s.store, cfg.BlobContentDir)
	if blobOff != nil {
		logger.Error("the Blob service is off", "reason", blobOff)
	} else if s.blob, err = openBlob(ctx, cfg.Home, cfg.BlobContentDir, s.sharedBlobMeta(), logger); err != nil {
		return nil, err
	}

	dir := directory.New(cached, s.tenant, headerKey, nil)
	acc, err := access.New(ctx, cached, s.tenant)
	if err != nil {
		return nil, fmt.Errorf("role assignments: %w", err)
	}
	issuerURL := authority.IssuerV1(apiURL, s.tenant.ID)
	cache := msi.NewCache(100_000)
	acc.SetRevocations(s.obs.revs)
	s.obs.forgetRevoked(cache)
	s.obs.watchKeys(s.keyring)
	dir.OnChange = func(c directory.Change) { cache.Forget(c.PrincipalIDs...) }
	issuer := &token.Issuer{Keys: s.keyring, Lifetime: cfg.TokenLifetime}
	minter := &minter{issuer: issuer, tenantID: s.tenant.ID, issuerURL: issuerURL, gate: &mintGate{o: s.obs}}
	federated, tokenEndpoint, err := newFederation(cached, dir, s.obs.gated(minter, "federation"), ca.CertPEM(), cfg.TrustedCAFile, logger)
	if err != nil {
		return nil, err
	}
	tokenEndpoint.Record = s.obs.federationRefused

	msiMux := http.NewServeMux()
	(&msi.Handler{Apps: dir, Minter: minter, Cache: cache, Logger: logger, Audit: msiAuditor{o: s.obs, lookup: func(ctx context.Context, ref string) (lanyard.Identity, error) {
		return dir.FindIdentity(ctx, "", ref)
	}}}).Mount(msiMux)
	msiLn.srv.Handler = s.obs.instrument("msi", msiMux)

	authMux := http.NewServeMux()
	(&authority.Handler{BaseURL: apiURL, TenantID: s.tenant.ID, Keys: s.keyring, Token: tokenEndpoint}).Mount(authMux)
	management := &mgmt.Handler{
		Directory: dir, Access: acc, Keys: auditedKeys{s.keyring, s.obs}, AdminTokenHash: adminHash, Logger: logger,
		Env:              mgmt.Environment{MSIBaseURL: msiURL, BlobBaseURL: blobURL, CAFile: caFile, BundleFile: bundleFile},
		Federation:       federated,
		Audit:            trail{s.obs},
		Revocations:      s.obs.revs,
		Tokens:           s.verifier(issuerURL, managementAudiences...),
		AuthorizationURI: apiURL + "/" + s.tenant.ID + "/oauth2/authorize",
	}
	authMux.HandleFunc("GET /healthz", s.health)
	authMux.HandleFunc("GET /readyz", s.health)
	apiLn.srv.Handler = s.obs.api(apiRouter(management, authMux))

	accts := newAccounts(dir)
	dir.OnAccountDeleted = func(ctx context.Context, name string) {
		accts.forget(name)
		if s.blob != nil {
			deleteAccountData(ctx, s.blob, name, logger)
		}
	}
	blobLn.srv.Handler = unavailableBlob(fmt.Sprint(blobOff))
	if blobOff == nil {
		blobLn.srv.Handler = &blobapi.Handler{
			Service: s.blob, Accounts: accts, Logger: logger,
			Auth: &blobAuthorizer{
				access: acc, accounts: accts, blobURL: blobURL, obs: s.obs,
				verifier: *s.verifier(issuerURL),
			},
			AuthorizationURI: apiURL + "/" + s.tenant.ID + "/oauth2/authorize",
		}
	}

	s.buildReloaders(cached, acc.Reload, s.keyring.Reload, cache.Clear, accts.forgetAll)
	s.reloaders = append(s.reloaders, s.obs.reloader())
	blobLn.srv.Handler = s.obs.instrument("blob", blobLn.srv.Handler)

	s.state = runstate.State{
		PID: os.Getpid(), TenantID: s.tenant.ID, SubscriptionID: s.tenant.SubscriptionID,
		APIURL: localAPI, AuthorityURL: apiURL + "/" + s.tenant.ID, MSIURL: msiURL, BlobURL: blobURL,
		CAFile: caFile, BundleFile: bundleFile,
	}
	return s, nil
}

// sharedBlobMeta returns the store's blob metadata when other nodes share the store.
func (s *Server) sharedBlobMeta() blob.MetaStore {
	if ss, ok := s.shared.(*sqlstore.Store); ok {
		return ss.BlobMeta()
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

func (s *Server) listen(name, addr string, tlsConfig *tls.Config) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s on %s: %w", name, addr, err)
	}
	l := &listener{name: name, ln: ln, tls: tlsConfig != nil, srv: &http.Server{
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
		s.logger.Warn("could not record the running server's endpoints", "err", err)
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
	if s.blob != nil {
		_ = s.blob.Close()
	}
	s.obs.close() // writes the queued audit events: before the store closes
	if s.store != nil {
		_ = s.store.Close()
	}
}
