package msi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// Recorder records an audit event; *audit.Recorder is one. An error means the event could
// not be recorded and the policy (fail-closed) says to refuse what it records.
type Recorder interface {
	Record(ctx context.Context, e audit.Event) error
}

// Counter counts what the endpoint hands out and refuses; *metrics.Metrics is one.
type Counter interface {
	TokenIssued(protocol string, cached bool)
	TokenRefused(protocol, reason string)
}

// Identities resolves the identity a caller named; *directory.Service is one.
type Identities interface {
	FindIdentity(ctx context.Context, group, ref string) (lanyard.Identity, error)
}

// Trail is the Auditor that records to the audit trail and counts.
type Trail struct {
	Recorder Recorder
	Counter  Counter
	// Identities resolves the identity a refused caller named, so the refusal is filed
	// under its principal; nil files it under what the caller gave.
	Identities Identities
	Logger     *slog.Logger
}

var _ Auditor = (*Trail)(nil)

// Issued records g; a token that cannot be recorded is not handed out.
func (t *Trail) Issued(ctx context.Context, g Grant) error {
	reqctx.SetOperation(ctx, g.Protocol)
	e := audit.Issued(audit.TokenIssued{
		Protocol: g.Protocol, App: g.App.ResourceID, PrincipalID: g.Identity.PrincipalID, ClientID: g.Identity.ClientID,
		IdentityResourceID: g.Identity.ResourceID, Resource: g.Resource, TokenID: g.Token.UTI,
		IssuedAt: g.Token.IssuedAt, ExpiresAt: g.Token.ExpiresAt, Cached: g.Cached, CallerAddress: g.RemoteAddr,
	})
	if err := t.Recorder.Record(ctx, e); err != nil {
		t.logger().ErrorContext(ctx, "a token could not be recorded and was not issued", "protocol", g.Protocol, "err", err)
		return err
	}
	if t.Counter != nil {
		t.Counter.TokenIssued(g.Protocol, g.Cached)
	}
	return nil
}

// Refused records r. The request is refused anyway, so a failure to record it changes
// nothing.
func (t *Trail) Refused(ctx context.Context, r Refusal) {
	reqctx.SetOperation(ctx, r.Protocol)
	if t.Counter != nil {
		t.Counter.TokenRefused(r.Protocol, refusalReason(r.Status))
	}
	principal, client := "", ""
	switch r.SelectedBy {
	case "client_id":
		client = r.Selected
	case "object_id", "principal_id":
		principal = r.Selected
	}
	// Not while unavailable: the lookup would go to the store that is failing.
	if r.Selected != "" && t.Identities != nil && r.Status != http.StatusServiceUnavailable {
		if id, err := t.Identities.FindIdentity(ctx, "", r.Selected); err == nil {
			principal, client = id.PrincipalID, id.ClientID
		}
	}
	_ = t.Recorder.Record(ctx, audit.Refused(audit.TokenRefused{
		Protocol: r.Protocol, Resource: r.Resource, Identity: r.Selector, Status: r.Status, Code: r.Code, Reason: r.Message,
		CallerAddress: r.RemoteAddr,
	}, principal, client))
}

func (t *Trail) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// refusalReason is the metrics label of a refusal: a few fixed values, never the message.
func refusalReason(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "identity_disabled"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "server_error"
	}
	return "other"
}
