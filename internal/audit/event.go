// Package audit is Lanyard's audit trail: which workload got which token, what it did with
// it, why that was allowed or refused, and who changed what. Events are recorded off the
// request path by a Recorder, which appends them in batches to the store and to an optional
// JSON-lines sink, chaining each to the one before with SHA-256 so that an edited, deleted
// or reordered event is found by Verify. The package knows nothing of HTTP.
package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Kind names what an event records.
type Kind = string

const (
	// KindTokenIssued: a token was handed to a caller (freshly minted or from the cache).
	KindTokenIssued Kind = "token.issued"
	// KindTokenRefused: the managed-identity endpoint refused a token request.
	KindTokenRefused Kind = "token.refused"
	// KindDecision: a resource decided whether a request may run.
	KindDecision Kind = "access.decision"
	// KindChange: a management request changed something (or revealed a secret).
	KindChange Kind = "management.change"
	// KindKeyRotated: the authority's signing key was rotated.
	KindKeyRotated Kind = "key.rotated"
	// KindPostgresLogin: a login at a PostgreSQL front end, allowed or refused.
	KindPostgresLogin Kind = "postgres.login"
	// KindPostgresSessionEnded: a PostgreSQL session ended.
	KindPostgresSessionEnded Kind = "postgres.session.ended"
)

// Kinds lists every kind, for validation.
var Kinds = []Kind{KindTokenIssued, KindTokenRefused, KindDecision, KindChange, KindKeyRotated, KindPostgresLogin, KindPostgresSessionEnded}

// Decisions.
const (
	Allowed = "allowed"
	Denied  = "denied"
)

// Event is one audit event: its stored record, and before it is written the typed record of
// its details. The fields above Details are the ones queries filter on; Details holds the
// kind's own record as JSON. Seq, PrevHash and Hash are set when the event is written.
type Event struct {
	lanyard.AuditEvent

	// detail is the typed record of an event not yet written; the writer encodes it, so
	// that requests do not pay for JSON.
	detail any
	// traceID is the W3C trace id of the request that caused the event, written into
	// Details as traceId.
	traceID string
}

// Actor is who made a management request: the local admin, or a principal with a token.
type Actor struct {
	Admin       bool   `json:"admin"`
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

func (a Actor) String() string {
	if a.Admin {
		return "the admin"
	}
	return "principal " + a.PrincipalID
}

// TokenIssued records a token handed out.
type TokenIssued struct {
	Protocol           string    `json:"protocol"` // appservice, imds or federation
	App                string    `json:"app,omitempty"`
	PrincipalID        string    `json:"principalId"`
	ClientID           string    `json:"clientId"`
	IdentityResourceID string    `json:"identityResourceId,omitempty"`
	Resource           string    `json:"resource"`
	TokenID            string    `json:"uti"`
	IssuedAt           time.Time `json:"issuedAt"`
	ExpiresAt          time.Time `json:"expiresAt"`
	// Cached says the token was minted earlier and served again from the endpoint's cache.
	Cached        bool   `json:"cached"`
	CallerAddress string `json:"callerAddress,omitempty"`
}

// TokenRefused records a token request the managed-identity endpoint refused.
type TokenRefused struct {
	Protocol string `json:"protocol"`
	Resource string `json:"resource,omitempty"`
	// Identity is the identity the caller asked for, as it named it (client_id=...), or
	// "" for the default.
	Identity      string `json:"identity,omitempty"`
	Status        int    `json:"status"`
	Code          string `json:"code"`
	Reason        string `json:"reason"`
	CallerAddress string `json:"callerAddress,omitempty"`
}

// Decision records an authorization decision at a resource: what allowed it, or why it
// was denied with the principal's closest assignments, as `lanyard role check` tells.
type Decision struct {
	Service     string `json:"service"` // blob or mgmt
	Operation   string `json:"operation"`
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
	TokenID     string `json:"uti,omitempty"`
	// Credential says how the request authenticated when it was not with the principal's
	// own token: "userDelegationSas" for a SAS the principal delegated.
	Credential string `json:"credential,omitempty"`
	Action     string `json:"action"`
	DataAction bool   `json:"dataAction"`
	Scope      string `json:"scope"`
	Allowed    bool   `json:"allowed"`

	AssignmentID     string `json:"assignmentId,omitempty"`
	AssignmentScope  string `json:"assignmentScope,omitempty"`
	RoleDefinitionID string `json:"roleDefinitionId,omitempty"`
	RoleName         string `json:"roleName,omitempty"`
	ViaGroup         string `json:"viaGroup,omitempty"`

	Reason      string   `json:"reason,omitempty"`
	Closest     []Nearby `json:"closestAssignments,omitempty"`
	Explanation string   `json:"explanation"`

	CallerAddress string `json:"callerAddress,omitempty"`
}

// Nearby is one of the principal's assignments considered in a denial.
type Nearby struct {
	AssignmentID     string `json:"assignmentId"`
	Scope            string `json:"scope"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName"`
	CoversScope      bool   `json:"coversScope"`
	Lacks            string `json:"lacks"`
}

// Change records a management request that changed something.
type Change struct {
	Caller Actor `json:"caller"`
	// Operation is create, update, delete or action.
	Operation     string                `json:"operation"`
	Method        string                `json:"method"`
	ResourceID    string                `json:"resourceId"`
	Status        int                   `json:"status"`
	RoleAssign    *RoleAssignmentChange `json:"roleAssignment,omitempty"`
	Enabled       *bool                 `json:"enabled,omitempty"`
	Revocation    *RevocationChange     `json:"revocation,omitempty"`
	CallerAddress string                `json:"callerAddress,omitempty"`
}

// RoleAssignmentChange names the role assignment created or deleted.
type RoleAssignmentChange struct {
	ID               string `json:"id"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName,omitempty"`
	PrincipalID      string `json:"principalId"`
	Scope            string `json:"scope"`
}

// RevocationChange names what a revocation revoked.
type RevocationChange struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	TokenID     string    `json:"uti,omitempty"`
	PrincipalID string    `json:"principalId,omitempty"`
	NotBefore   time.Time `json:"notBefore,omitzero"`
}

// KeyRotation records a signing key rotation.
type KeyRotation struct {
	Caller        Actor  `json:"caller"`
	KeyID         string `json:"keyId"`
	PreviousKeyID string `json:"previousKeyId,omitempty"`
}

// PostgresLogin records a login at a PostgreSQL server's front end.
type PostgresLogin struct {
	ServerID      string `json:"serverId"`
	Role          string `json:"role"`
	Database      string `json:"database"`
	PrincipalID   string `json:"principalId,omitempty"`
	TokenID       string `json:"uti,omitempty"`
	Allowed       bool   `json:"allowed"`
	Code          string `json:"code,omitempty"`   // the SQLSTATE the client was sent
	Reason        string `json:"reason,omitempty"` // the real reason, which the client is not told
	CallerAddress string `json:"callerAddress,omitempty"`
}

// PostgresSessionEnd records the end of a PostgreSQL session.
type PostgresSessionEnd struct {
	ServerID      string    `json:"serverId"`
	Role          string    `json:"role"`
	Database      string    `json:"database"`
	PrincipalID   string    `json:"principalId"`
	TokenID       string    `json:"uti"`
	Started       time.Time `json:"started"`
	Reason        string    `json:"reason"`
	Forced        bool      `json:"forced"` // Lanyard ended it
	CallerAddress string    `json:"callerAddress,omitempty"`
}

// Actions of the PostgreSQL events.
const (
	ActionPostgresLogin      = "Lanyard.PostgreSQL/flexibleServers/login/action"
	ActionPostgresSessionEnd = "Lanyard.PostgreSQL/flexibleServers/sessions/end/action"
)

// Constructors fill the queried fields from the record, so they always agree.

// Issued returns the event of a token handed out.
func Issued(d TokenIssued) Event {
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindTokenIssued, PrincipalID: d.PrincipalID, ClientID: d.ClientID, Action: d.Resource,
		TokenID: d.TokenID}, detail: d}
}

// Refused returns the event of a refused token request; principal and client are those
// the caller named, when it named one that way.
func Refused(d TokenRefused, principalID, clientID string) Event {
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindTokenRefused, PrincipalID: principalID, ClientID: clientID, Action: d.Resource,
		Decision: Denied}, detail: d}
}

// Decided returns the event of an authorization decision.
func Decided(d Decision) Event {
	dec := Denied
	if d.Allowed {
		dec = Allowed
	}
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindDecision, PrincipalID: d.PrincipalID, ClientID: d.ClientID, Action: d.Action,
		Decision: dec, TokenID: d.TokenID}, detail: d}
}

// Changed returns the event of a management change. action is the ARM action it
// performed (e.g. Microsoft.Authorization/roleAssignments/write); the event is filed
// under the principal it affects when there is one, else under its caller.
func Changed(d Change, action string) Event {
	e := Event{AuditEvent: lanyard.AuditEvent{Kind: KindChange, PrincipalID: d.Caller.PrincipalID, ClientID: d.Caller.ClientID, Action: action}, detail: d}
	switch {
	case d.RoleAssign != nil:
		e.PrincipalID, e.ClientID = d.RoleAssign.PrincipalID, ""
	case d.Revocation != nil:
		e.PrincipalID, e.ClientID, e.TokenID = d.Revocation.PrincipalID, "", d.Revocation.TokenID
	}
	return e
}

// ChangedPrincipal is Changed for a change to one identity (enabling or disabling it).
func ChangedPrincipal(d Change, action, principalID, clientID string) Event {
	e := Changed(d, action)
	e.PrincipalID, e.ClientID = principalID, clientID
	return e
}

// KeyRotated returns the event of a key rotation.
func KeyRotated(d KeyRotation) Event {
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindKeyRotated, PrincipalID: d.Caller.PrincipalID, ClientID: d.Caller.ClientID,
		Action: "Lanyard.Authority/signingKeys/rotate/action"}, detail: d}
}

// PostgresLoggedIn returns the event of a PostgreSQL login, allowed or refused.
func PostgresLoggedIn(d PostgresLogin) Event {
	dec := Denied
	if d.Allowed {
		dec = Allowed
	}
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindPostgresLogin, PrincipalID: d.PrincipalID, Action: ActionPostgresLogin,
		Decision: dec, TokenID: d.TokenID}, detail: d}
}

// PostgresSessionEnded returns the event of a PostgreSQL session's end.
func PostgresSessionEnded(d PostgresSessionEnd) Event {
	return Event{AuditEvent: lanyard.AuditEvent{Kind: KindPostgresSessionEnded, PrincipalID: d.PrincipalID, Action: ActionPostgresSessionEnd,
		TokenID: d.TokenID}, detail: d}
}

// Detail decodes the event's record: a TokenIssued, TokenRefused, Decision, Change,
// KeyRotation, PostgresLogin or PostgresSessionEnd, by kind.
func (e Event) Detail() (any, error) {
	if e.detail != nil {
		return e.detail, nil
	}
	var v any
	switch e.Kind {
	case KindTokenIssued:
		v = &TokenIssued{}
	case KindTokenRefused:
		v = &TokenRefused{}
	case KindDecision:
		v = &Decision{}
	case KindChange:
		v = &Change{}
	case KindKeyRotated:
		v = &KeyRotation{}
	case KindPostgresLogin:
		v = &PostgresLogin{}
	case KindPostgresSessionEnded:
		v = &PostgresSessionEnd{}
	default:
		return nil, fmt.Errorf("audit: unknown event kind %q", e.Kind)
	}
	if err := json.Unmarshal(e.Details, v); err != nil {
		return nil, fmt.Errorf("audit: decode details of event %s: %w", e.ID, err)
	}
	return v, nil
}

// record converts e to its stored form.
func (e Event) record() lanyard.AuditEvent { return e.AuditEvent }

// FromRecord converts a stored event.
func FromRecord(r lanyard.AuditEvent) Event { return Event{AuditEvent: r} }
