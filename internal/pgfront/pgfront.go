package pgfront

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Directory is what the front end needs of servers and bindings; internal/directory
// implements it.
type Directory interface {
	// GetPrincipal returns the binding of role on the server; NotFound (lanyard.IsNotFound)
	// when the role is unbound.
	GetPrincipal(ctx context.Context, serverID, role string) (lanyard.PostgresPrincipal, error)
	// CreatePrincipal binds role to a principal (objectID "" = resolve role as a
	// principal's name) and creates the role in the upstream through PostgresRoles (Roles).
	// It must hand its ctx (or one derived from it) to PostgresRoles.CreateRole: for
	// SECURITY LABEL the front end marks ctx so that Roles binds the existing role instead
	// of creating it. typ is "" for pgaadauth_create_principal, which names no type.
	CreatePrincipal(ctx context.Context, serverID, role, objectID string, typ lanyard.PostgresPrincipalType, admin bool) (lanyard.PostgresPrincipal, error)
	DropPrincipal(ctx context.Context, serverID, role string) error
	ListPrincipals(ctx context.Context, serverID string) ([]lanyard.PostgresPrincipal, error)
	// Unseal opens SealedUpstreamPassword and SealedPassword.
	Unseal(ctx context.Context, sealed []byte) ([]byte, error)
}

// Tokens checks the tokens apps send as passwords.
type Tokens interface {
	// Authenticate verifies a token for OSSRDBMSResource (with or without the trailing
	// slash): signature, tenant, audience, lifetime, revocation, an enabled principal.
	Authenticate(ctx context.Context, raw string) (token.Claims, error)
	// Check re-checks the claims of an open session's token: not revoked (by uti or
	// principal), principal still there and enabled. An error of kind Unauthenticated,
	// NotFound or PermissionDenied ends the session; any other error (the store is
	// unreachable, say) is logged and the session kept, to be checked again.
	Check(ctx context.Context, claims token.Claims) error
}

// Certificates issues the listener's TLS certificate and the client certificates of
// upstream logins; *pki.CA is one.
type Certificates interface {
	ServerCertificate(names []string, now time.Time) (tls.Certificate, error)
	ClientCertificate(name string, now time.Time) (tls.Certificate, error)
}

// Auditor records logins and session ends.
type Auditor interface {
	// Login records a login allowed or refused. An error for an allowed login means it
	// could not be recorded and the policy says to refuse: the login is then refused.
	Login(ctx context.Context, l Login) error
	// SessionEnded records the end of a session that was allowed.
	SessionEnded(ctx context.Context, e SessionEnd)
}

// Login is a login attempt at a server, allowed or refused.
type Login struct {
	ServerID      string
	Role          string // the user name the client gave
	Database      string
	ClientAddress string
	PrincipalID   string // the token's oid, when the token verified
	TokenID       string // its uti
	Allowed       bool
	// Code is the SQLSTATE the client was sent when refused.
	Code string
	// Reason is the real reason of a refusal, which the client is not told.
	Reason string
}

// SessionEnd is the end of an allowed session.
type SessionEnd struct {
	ServerID      string
	Role          string
	Database      string
	ClientAddress string
	PrincipalID   string
	TokenID       string
	Started       time.Time
	// Reason says why it ended: the client or the upstream closed it, or Lanyard ended
	// it (Forced) because the token was revoked, the principal disabled or deleted, the
	// binding dropped or changed, the server removed, or Lanyard stopped.
	Reason string
	Forced bool
}
