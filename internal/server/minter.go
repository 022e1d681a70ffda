package server

import (
	"context"

	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mint"
	"github.com/lanyard-id/lanyard/internal/msi"
)

// msiMinter gives the managed-identity endpoint the minter's tokens in its own type.
type msiMinter struct{ m *mint.Minter }

func (m msiMinter) Mint(ctx context.Context, id lanyard.Identity, resource string) (msi.Minted, error) {
	t, err := m.m.Mint(ctx, id, resource)
	if err != nil {
		return msi.Minted{}, err
	}
	return msi.Minted{AccessToken: t.Raw, UTI: t.UTI, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}, nil
}

// federationMinter gives the token endpoint the minter's tokens in its own type: the same
// issuer, keys and lifetime as managed-identity tokens, under the same checks, recorded
// by the minter (the token endpoint records only its refusals).
type federationMinter struct{ m *mint.Minter }

func (m federationMinter) MintToken(ctx context.Context, id lanyard.Identity, resource string) (authority.AccessToken, error) {
	t, err := m.m.Mint(ctx, id, resource)
	if err != nil {
		return authority.AccessToken{}, err
	}
	return authority.AccessToken{Raw: t.Raw, UTI: t.UTI, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}, nil
}
