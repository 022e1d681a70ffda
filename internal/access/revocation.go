package access

import "time"

// Revocations tells whether a token was revoked; *revocation.Set is one. It is checked
// in memory on every authentication, so it must be cheap.
type Revocations interface {
	// Check returns an Unauthenticated error when the token uti of principalID, issued
	// at issuedAt, is revoked.
	Check(principalID, uti string, issuedAt time.Time) error
}

// SetRevocations makes Authenticate refuse the tokens r says are revoked, at every
// resource that authenticates through this Service. Call it before serving.
func (s *Service) SetRevocations(r Revocations) { s.revoked = r }
