package lanyard

import (
	"encoding/json"
	"time"
)

// AuditEvent is one record of the audit trail as it is stored and chained; its JSON form is
// the trail's line format (internal/auditline) and the management API's. The columns a
// query filters on are kept apart; everything else about the event is in Details, JSON,
// byte for byte as it was hashed. Events form a chain: each carries the hash of the one
// before it, and its own hash covers every field here but Hash.
type AuditEvent struct {
	Seq         int64           `json:"seq"` // position in the chain, from 1, without gaps
	ID          string          `json:"id"`
	Time        time.Time       `json:"time"`
	Kind        string          `json:"kind"`
	RequestID   string          `json:"requestId"`
	PrincipalID string          `json:"principalId"` // the principal the event is about; "" for the admin
	ClientID    string          `json:"clientId"`
	Action      string          `json:"action"`   // action, data action or management operation
	Decision    string          `json:"decision"` // "allowed", "denied" or ""
	TokenID     string          `json:"uti"`      // uti of the token issued, used or revoked
	Details     json.RawMessage `json:"details"`  // JSON object
	PrevHash    string          `json:"prevHash"` // hex SHA-256 of the previous event; the anchor's for the first
	Hash        string          `json:"hash"`     // hex SHA-256 of this event's canonical encoding
}

// AuditHead is where the chain stands: its newest event, and the anchor it starts from.
// Retention deletes the oldest events; the anchor then names the last one deleted, so the
// first event kept can still be checked against it and a deletion beyond retention shows.
type AuditHead struct {
	Seq        int64  // of the newest event; AnchorSeq when there is none
	Hash       string // of the newest event
	AnchorSeq  int64  // of the last event deleted by retention; 0 before any
	AnchorHash string // of that event; "" before any
}

// AuditFilter selects events; zero fields match everything. Results come ordered by Seq.
type AuditFilter struct {
	// Principal matches the principal id or the client id, case-insensitively.
	Principal string
	// Action matches case-insensitively; '*' in it matches any run of characters.
	Action   string
	Decision string
	Kind     string
	TokenID  string
	// RequestID matches the request id (x-ms-request-id) exactly.
	RequestID string
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	AfterSeq  int64
	Limit     int // 0: no limit
}

// RevocationKind says what a revocation names.
type RevocationKind string

const (
	// RevokeToken names one token by its uti.
	RevokeToken RevocationKind = "Token"
	// RevokePrincipal names every token of a principal issued before NotBefore.
	RevokePrincipal RevocationKind = "Principal"
)

// Revocation makes tokens fail at every resource before they expire.
type Revocation struct {
	ID          string
	Kind        RevocationKind
	TokenID     string    // uti, for RevokeToken
	PrincipalID string    // for RevokePrincipal (and, when known, RevokeToken)
	NotBefore   time.Time // RevokePrincipal: tokens issued before it fail
	// ExpiresAt is when every token the revocation names has expired, so it can go.
	ExpiresAt time.Time
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}
