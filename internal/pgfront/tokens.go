package pgfront

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/token"
)

// Authenticator authenticates and re-checks tokens; *access.Service is one.
type Authenticator interface {
	Authenticate(ctx context.Context, v *token.Verifier, raw string, now time.Time) (token.Claims, error)
	Recheck(ctx context.Context, claims token.Claims) error
}

// AccessTokens is the Tokens of a Lanyard server: tokens verified by Verifier (audiences
// lanyard.OSSRDBMSResource with and without the trailing slash), then checked by Access
// (tenant, revocation, an enabled principal).
type AccessTokens struct {
	Access   Authenticator
	Verifier *token.Verifier
	Now      func() time.Time // time.Now when nil
}

var _ Tokens = (*AccessTokens)(nil)

// Authenticate verifies raw and checks its principal.
func (a *AccessTokens) Authenticate(ctx context.Context, raw string) (token.Claims, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	return a.Access.Authenticate(ctx, a.Verifier, raw, now())
}

// Check re-checks an open session's claims.
func (a *AccessTokens) Check(ctx context.Context, claims token.Claims) error {
	return a.Access.Recheck(ctx, claims)
}
