package server

import (
	"context"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/msi"
	"github.com/lanyard-id/lanyard/internal/token"
)

// minter lets the managed-identity endpoint issue tokens from this server's authority.
type minter struct {
	issuer    *token.Issuer
	tenantID  string
	issuerURL string
	gate      *mintGate // revocation and audit around each mint; nil: none (see trail.go)
	// fresh says whether the revocations and keys a token is minted under are up to date;
	// nil: always.
	fresh func() error
}

func (m *minter) Mint(ctx context.Context, id lanyard.Identity, resource string) (msi.Minted, error) {
	if m.fresh != nil {
		if err := m.fresh(); err != nil {
			return msi.Minted{}, err
		}
	}
	if err := m.gate.before(ctx, id); err != nil {
		return msi.Minted{}, err
	}
	t, err := m.issuer.Issue(token.Request{TenantID: m.tenantID, IssuerURL: m.issuerURL, Audience: resource, Identity: id})
	if err != nil {
		return msi.Minted{}, err
	}
	minted := msi.Minted{AccessToken: t.Raw, UTI: t.UTI, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}
	if err := m.gate.after(ctx, id, resource, minted); err != nil {
		return msi.Minted{}, err
	}
	return minted, nil
}
