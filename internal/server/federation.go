package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/store"
)

// newFederation builds workload identity federation: the credentials the management API
// manages, and the token endpoint that exchanges assertions for tokens minted by m.
// Assertions of local, this Lanyard's own issuer, are checked in-process; other issuers'
// keys are fetched, from the addresses cfg allows.
func newFederation(st store.Store, dir *directory.Service, m authority.TokenMinter, local federation.LocalIssuer, lanyardCA []byte, cfg config.Config, logger *slog.Logger) (*federation.Credentials, *authority.TokenEndpoint, error) {
	addrs := &federation.AddressPolicy{Allow: cfg.AllowedIssuerNetworks}
	client, err := federationClient(lanyardCA, cfg.TrustedCAFile, addrs)
	if err != nil {
		return nil, nil, err
	}
	validator := &federation.Validator{Keys: &federation.IssuerKeys{Client: client}, Local: local}
	endpoint := &authority.TokenEndpoint{
		Exchanger: &federation.Exchanger{Directory: st, Validator: validator},
		Minter:    m,
		Logger:    logger,
	}
	creds := &federation.Credentials{Store: st, Identities: dir, Addresses: addrs, LocalIssuer: local.Issuer()}
	return creds, endpoint, nil
}

// federationClient is the client that fetches assertion issuers' discovery documents and
// keys. It trusts the system roots (which honour SSL_CERT_FILE and SSL_CERT_DIR, as every
// Go program does), Lanyard's own CA (this Lanyard's tokens are checked in-process, but an
// issuer may share its certificates), and the CAs of trustedCAFile (federation.trustedCAFile, or `lanyard up
// --trust-ca`), for private issuers such as a cluster's own OIDC endpoint.
//
// It connects only to addresses addrs allows, checked on the address dialled (after name
// resolution, on every redirect), and never through a proxy, whose address would be the
// only one checked.
func federationClient(lanyardCA []byte, trustedCAFile string, addrs *federation.AddressPolicy) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool() // no system roots here: trust only what is named below
	}
	if !pool.AppendCertsFromPEM(lanyardCA) {
		return nil, fmt.Errorf("federation: Lanyard's CA certificate is not PEM")
	}
	if trustedCAFile != "" {
		pem, err := os.ReadFile(trustedCAFile)
		if err != nil {
			return nil, fmt.Errorf("federation.trustedCAFile: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("federation.trustedCAFile %s holds no PEM certificate", trustedCAFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = (&net.Dialer{Timeout: federation.DefaultFetchTimeout, KeepAlive: 30 * time.Second, Control: addrs.Control}).DialContext
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxResponseHeaderBytes = 64 << 10
	// Each fetch has its own, shorter, timeout; this one only backs it up.
	return &http.Client{Transport: tr, Timeout: 2 * federation.DefaultFetchTimeout}, nil
}
