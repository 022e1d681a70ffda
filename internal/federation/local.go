package federation

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/token"
)

// Authenticator authenticates a bearer token as every resource does (signature,
// revocation, the principal existing and enabled); *access.Service is one.
type Authenticator interface {
	Authenticate(ctx context.Context, v *token.Verifier, raw string, now time.Time) (token.Claims, error)
}

// SelfIssuer is Lanyard's own issuer as a LocalIssuer: its tokens are checked by the
// path Blob and the management API take, never by fetching its own metadata.
type SelfIssuer struct {
	issuer   string
	auth     Authenticator
	verifier *token.Verifier
	now      func() time.Time
}

// NewSelfIssuer checks tokens of issuer with v (its keys and issuer; its audiences are
// ignored) through auth. now is time.Now when nil.
func NewSelfIssuer(issuer string, auth Authenticator, v *token.Verifier, now func() time.Time) *SelfIssuer {
	lv := *v
	lv.Issuers = []string{issuer}
	// Any audience passes here: the exchange then compares it with the credential's
	// audiences, exactly, as it does for every issuer.
	lv.Audiences = []string{"*"}
	lv.MatchAudience = func(string, string) bool { return true }
	if now == nil {
		now = time.Now
	}
	return &SelfIssuer{issuer: issuer, auth: auth, verifier: &lv, now: now}
}

// Issuer returns the issuer's URL.
func (s *SelfIssuer) Issuer() string { return s.issuer }

// Authenticate checks raw as a resource checks a bearer token.
func (s *SelfIssuer) Authenticate(ctx context.Context, raw string) error {
	_, err := s.auth.Authenticate(ctx, s.verifier, raw, s.now())
	return err
}
