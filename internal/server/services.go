package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/mint"
	"github.com/lanyard-id/lanyard/internal/msi"
	"github.com/lanyard-id/lanyard/internal/token"
)

// services are the domain services the protocol surfaces share.
type services struct {
	directory *directory.Service
	access    *access.Service
	tokens    *msi.Cache // managed-identity tokens, per identity and resource
	minter    *mint.Minter
	federated *federation.Credentials
	tokenEP   *authority.TokenEndpoint
	accounts  directory.StorageAccounts
	// postgres manages PostgreSQL servers and role bindings; its Roles come from the
	// PostgreSQL front end, and without one role changes answer 503.
	postgres *directory.Postgres
	// serviceBus manages Service Bus namespaces and entities; their messages are the
	// broker's (servicebus.go).
	serviceBus *directory.ServiceBus
	counts     mgmt.EntityCounts // set when the broker opens; zeros before
	blobOffErr error             // why the Blob service is off, nil when it serves
}

func (s *Server) buildServices(ctx context.Context, f *foundation, ep endpoints) (*services, error) {
	svc := &services{directory: directory.New(f.cached, s.tenant, f.headerKey, nil), tokens: msi.NewCache(msi.DefaultCacheLimits)}
	var err error
	if svc.access, err = access.New(ctx, f.cached, s.tenant); err != nil {
		return nil, fmt.Errorf("role assignments: %w", err)
	}
	svc.access.SetRevocations(s.obs.revs)
	svc.access.SetGate(s.fresh)
	s.obs.forgetRevoked(svc.tokens)
	s.obs.metrics.WatchTokenCache(svc.tokens.Stats)
	s.obs.watchKeys(s.keyring)
	svc.directory.OnChange = func(c directory.Change) { svc.tokens.Forget(c.PrincipalIDs...) }
	svc.directory.OnAssignmentsRemoved = svc.access.ForgetAssignments
	issuer := &token.Issuer{Keys: s.keyring, Lifetime: s.cfg.TokenLifetime}
	svc.minter = &mint.Minter{Issuer: issuer, TenantID: s.tenant.ID, IssuerURL: ep.issuerURL(s.tenant.ID), Fresh: s.fresh, Revocations: s.obs.revs}
	local := federation.NewSelfIssuer(ep.issuerURL(s.tenant.ID), svc.access, s.verifier(ep.issuerURL(s.tenant.ID)), nil)
	svc.federated, svc.tokenEP, err = newFederation(f.cached, svc.directory, federationMinter{svc.minter.For("federation", s.obs.audit, s.obs.metrics)}, local, f.ca.CertPEM(), s.cfg, s.logger)
	if err != nil {
		return nil, err
	}
	svc.tokenEP.Record = s.obs.federationRefused

	svc.blobOffErr = checkContentDir(ctx, s.store, s.cfg.BlobContentDir)
	if svc.blobOffErr != nil {
		s.logger.Error("the Blob service is off", "reason", svc.blobOffErr)
	} else if s.blob, err = openBlob(ctx, s.cfg.Home, s.cfg.BlobContentDir, s.sharedBlobMeta(), s.cfg.BlobRehydrateDelay,
		blobPolicy(directory.StorageAccounts{Directory: svc.directory}), s.logger); err != nil {
		return nil, err
	}
	svc.accounts = directory.StorageAccounts{Directory: svc.directory}
	svc.postgres = &directory.Postgres{Directory: svc.directory, Sealer: f.sealer, FreeAddress: freeLoopbackAddress}
	svc.serviceBus = &directory.ServiceBus{Directory: svc.directory}
	svc.directory.OnAccountDeleted = func(ctx context.Context, name string) {
		if s.blob != nil {
			deleteAccountData(ctx, s.blob, name, s.logger)
		}
	}
	return svc, nil
}

// mountMSI serves the managed-identity endpoint.
func (s *Server) mountMSI(svc *services, ep endpoints) {
	mux := http.NewServeMux()
	trail := &msi.Trail{Recorder: s.obs.audit, Counter: s.obs.metrics, Identities: svc.directory, Logger: s.logger}
	(&msi.Handler{Apps: svc.directory, Minter: msiMinter{svc.minter}, Cache: svc.tokens, Logger: s.logger, Audit: trail, Fresh: s.fresh}).Mount(mux)
	ep.msi.srv.Handler = s.obs.instrument("msi", mux)
}

// mountAPI serves the authority, the management API and the health endpoints.
func (s *Server) mountAPI(f *foundation, svc *services, ep endpoints) {
	authMux := http.NewServeMux()
	(&authority.Handler{BaseURL: ep.apiURL, TenantID: s.tenant.ID, Keys: s.keyring, Token: svc.tokenEP}).Mount(authMux)
	authMux.HandleFunc("GET /healthz", s.health)
	authMux.HandleFunc("GET /readyz", s.health)
	management := &mgmt.Handler{
		Directory: svc.directory, Access: svc.access, Keys: auditedKeys{s.keyring, s.obs}, AdminTokenHash: f.adminHash, Logger: s.logger,
		Env:              mgmt.Environment{MSIBaseURL: ep.msiURL, BlobBaseURL: ep.blobURL, CAFile: f.caFile, BundleFile: f.bundleFile},
		Federation:       svc.federated,
		Postgres:         svc.postgres,
		ServiceBus:       svc.serviceBus,
		ServiceBusCounts: svc.counts,
		Audit:            trail{s.obs},
		Revocations:      s.obs.revs,
		Tokens:           s.verifier(ep.issuerURL(s.tenant.ID), managementAudiences...),
		AuthorizationURI: ep.authorizationURI(s.tenant.ID),
	}
	if s.blob != nil {
		management.Containers = s.blob
	}
	ep.api.srv.Handler = s.obs.api(apiRouter(management, authMux))
}

// mountBlob serves Blob Storage, or says why it is off.
func (s *Server) mountBlob(ctx context.Context, f *foundation, svc *services, ep endpoints) {
	h := http.Handler(unavailableBlob(fmt.Sprint(svc.blobOffErr)))
	if svc.blobOffErr == nil {
		h = &blobapi.Handler{
			Service: s.blob, Accounts: svc.accounts, Logger: s.logger,
			Auth: &blobapi.Bearer{BaseURL: ep.blobURL, Access: &access.Authorizer{
				Access: svc.access, Verifier: s.verifier(ep.issuerURL(s.tenant.ID)), Resources: svc.accounts, Recorder: s.obs, Service: "blob",
			}},
			AuthorizationURI: ep.authorizationURI(s.tenant.ID),
			Settings:         svc.accounts,
			UserDelegation:   &blobapi.UserDelegation{Secret: f.delegationKey, TenantID: s.tenant.ID, Accounts: svc.accounts, Revocations: s.obs.revs},
		}
	}
	ep.blob.srv.Handler = s.obs.instrument("blob", h)
}
