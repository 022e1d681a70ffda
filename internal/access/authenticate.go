package access

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Authenticate verifies a bearer token with v and checks that its principal still exists
// and is enabled, so deleting or disabling an identity shuts out its tokens at once.
func (s *Service) Authenticate(ctx context.Context, v *token.Verifier, raw string, now time.Time) (token.Claims, error) {
	return s.authenticate(ctx, func() (token.Claims, error) { return v.Verify(raw, now) })
}

// authenticate checks the gate, then the claims verify returns.
func (s *Service) authenticate(ctx context.Context, verify func() (token.Claims, error)) (token.Claims, error) {
	if s.gate != nil {
		// The keys, revocations and assignments this would go on to decide from may be out
		// of date: fail closed (a 503 in the caller's protocol).
		if err := s.gate(); err != nil {
			return token.Claims{}, err
		}
	}
	claims, err := verify()
	if err != nil {
		return claims, err
	}
	if claims.TenantID != s.tenant.ID {
		return claims, lanyard.Errorf(lanyard.KindUnauthenticated, "The token was issued for another tenant.").WithCode("InvalidAuthenticationInfo")
	}
	if s.revoked != nil {
		if err := s.revoked.Check(claims.ObjectID, claims.UTI, claims.IssuedAt); err != nil {
			return claims, err
		}
	}
	id, err := s.store.GetIdentity(ctx, claims.ObjectID)
	if lanyard.IsNotFound(err) {
		return claims, lanyard.Errorf(lanyard.KindUnauthenticated, "The token's principal no longer exists.").WithCode("InvalidAuthenticationInfo")
	}
	if err != nil {
		return claims, err
	}
	if !id.Enabled {
		return claims, lanyard.Errorf(lanyard.KindUnauthenticated, "The token's principal is disabled.").WithCode("InvalidAuthenticationInfo")
	}
	return claims, nil
}

// Recheck re-checks the claims of a token verified earlier, for sessions that outlive their
// login (PostgreSQL): the token must not be revoked, and its principal must still exist and
// be enabled. Signature and lifetime are not checked again: as on Azure, an open session
// survives its token's expiry.
func (s *Service) Recheck(ctx context.Context, claims token.Claims) error {
	_, err := s.authenticate(ctx, func() (token.Claims, error) { return claims, nil })
	return err
}
