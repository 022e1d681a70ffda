package store

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// AuditEvents stores the audit trail: an append-only, hash-chained sequence of events.
// The store keeps the chain's head (newest event and retention anchor) beside the events,
// so that a writer on any node continues the chain where it stands.
type AuditEvents interface {
	// AppendAuditEvents locks the head, calls fn with it once, and appends the events fn
	// returns, which must continue the chain: Seq head.Seq+1, +2, ... and each PrevHash
	// the hash before it (else Invalid, and nothing is written). The head then names the
	// last. An error from fn aborts the append and is returned as is. fn runs inside the
	// backend's transaction, and the commit may still fail after it: write a copy
	// elsewhere only once this returns nil. An error may also come after the commit took
	// effect (the connection broke while it was answered); look the events up before
	// appending them again. Unlike Update* updaters, fn is never retried.
	AppendAuditEvents(ctx context.Context, fn func(head lanyard.AuditHead) ([]lanyard.AuditEvent, error)) error
	// GetAuditHead returns the head; an empty trail has Seq 0 and no hashes.
	GetAuditHead(ctx context.Context) (lanyard.AuditHead, error)
	// GetAuditEvent finds an event by its id.
	GetAuditEvent(ctx context.Context, id string) (lanyard.AuditEvent, error)
	// ListAuditEvents lists the events matching f, ordered by Seq.
	ListAuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error)
	// PruneAuditEvents deletes the oldest events, up to the last one before the first
	// event at or after before (a prefix of the chain, never a hole), makes the last one
	// deleted the head's anchor, and reports how many went.
	PruneAuditEvents(ctx context.Context, before time.Time) (int, error)
}

// Revocations stores revoked tokens and principals' not-before times.
type Revocations interface {
	// CreateRevocation fails with Conflict if the id is taken.
	CreateRevocation(ctx context.Context, r lanyard.Revocation) error
	// ListRevocations lists every revocation, oldest first.
	ListRevocations(ctx context.Context) ([]lanyard.Revocation, error)
	// DeleteExpiredRevocations deletes the revocations whose ExpiresAt is at or before
	// now: every token they name has expired. It reports how many went.
	DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error)
}
