package server

import (
	"context"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/authority"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// trail is the management API's view of the audit trail.
type trail struct{ o *observability }

var _ mgmt.AuditTrail = trail{}

func (t trail) Record(ctx context.Context, e audit.Event) error {
	if e.Kind == audit.KindDecision {
		t.o.metrics.Decisions.WithLabelValues("mgmt", e.Decision).Inc()
	}
	return t.o.audit.Record(ctx, e)
}

func (t trail) Ready() error { return t.o.audit.Ready() }

// List reads the trail once what was recorded before the call is written, so a change
// and its events are seen together (a revocation by uti looks up the token's issue).
func (t trail) List(ctx context.Context, f lanyard.AuditFilter) ([]audit.Event, error) {
	if err := t.o.audit.Flush(ctx); err != nil {
		return nil, err
	}
	recs, err := t.o.store.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Event, len(recs))
	for i, r := range recs {
		out[i] = audit.FromRecord(r)
	}
	return out, nil
}

func (t trail) Get(ctx context.Context, id string) (audit.Event, error) {
	if err := t.o.audit.Flush(ctx); err != nil {
		return audit.Event{}, err
	}
	r, err := t.o.store.GetAuditEvent(ctx, id)
	if err != nil {
		return audit.Event{}, err
	}
	return audit.FromRecord(r), nil
}

func (t trail) Verify(ctx context.Context) (audit.Report, error) {
	return audit.VerifyStore(ctx, t.o.store)
}

// auditedKeys records every signing key rotation made through the management API.
type auditedKeys struct {
	*keys.Keyring
	o *observability
}

func (k auditedKeys) Rotate(ctx context.Context) (lanyard.SigningKey, error) {
	prev := ""
	for _, info := range k.List() {
		if info.Active {
			prev = info.ID
		}
	}
	key, err := k.Keyring.Rotate(ctx)
	if err != nil {
		return key, err
	}
	// The rotation route is admin only.
	if err := k.o.audit.Record(ctx, audit.KeyRotated(audit.KeyRotation{Caller: audit.Actor{Admin: true}, KeyID: key.ID, PreviousKeyID: prev})); err != nil {
		k.o.logger.ErrorContext(ctx, "a key rotation could not be recorded", "key", key.ID, "err", err)
	}
	return key, nil
}

// federationRefused records a token-exchange request the authority refused; issued
// tokens are recorded by the minter like every other token.
func (o *observability) federationRefused(ctx context.Context, r authority.TokenRecord) {
	if r.Error == "" {
		return
	}
	o.metrics.TokensRefused.WithLabelValues("federation", r.Error).Inc()
	caller := ""
	if info := reqctx.From(ctx); info != nil {
		caller = info.RemoteAddr
	}
	_ = o.audit.Record(ctx, audit.Refused(audit.TokenRefused{
		Protocol: "federation", Resource: r.Resource, Identity: "client_id=" + r.ClientID,
		Code: r.Error, Reason: fmt.Sprintf("AADSTS%d", r.AADSTS), CallerAddress: caller,
	}, r.PrincipalID, r.ClientID))
}
