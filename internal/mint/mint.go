// Package mint issues this authority's access tokens under the checks every issue needs,
// whichever protocol asks (the managed-identity endpoint, workload identity federation):
// the state a token is minted under is up to date, the token is not born revoked, and a
// token no one else records is recorded before it is handed out.
package mint

import (
	"context"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Revocations holds a token back while it would be born revoked; *revocation.Set is one.
type Revocations interface {
	WaitIssuable(ctx context.Context, principalID string) error
}

// Recorder records an audit event; *audit.Recorder is one. An error means the event could
// not be recorded and the policy (fail-closed) says to refuse what it records.
type Recorder interface {
	Record(ctx context.Context, e audit.Event) error
}

// Counter counts tokens issued; *metrics.Metrics is one.
type Counter interface {
	TokenIssued(protocol string, cached bool)
}

// Minter mints tokens. Set Issuer, TenantID and IssuerURL; the rest are optional.
type Minter struct {
	Issuer    *token.Issuer
	TenantID  string
	IssuerURL string
	// Fresh says whether the revocations and keys a token is minted under are up to date;
	// nil: always.
	Fresh func() error
	// Revocations, when set, holds each token back until it would not be born revoked.
	Revocations Revocations
	// Protocol, when set, names the protocol every token is recorded under, with Recorder
	// and Counter, before it is handed out; "" when the caller records its tokens itself
	// (the managed-identity endpoint, which also serves them from its cache).
	Protocol string
	Recorder Recorder
	Counter  Counter
}

// For returns a copy of m that records its tokens under protocol.
func (m *Minter) For(protocol string, r Recorder, c Counter) *Minter {
	cp := *m
	cp.Protocol, cp.Recorder, cp.Counter = protocol, r, c
	return &cp
}

// Mint issues a token for id and resource.
func (m *Minter) Mint(ctx context.Context, id lanyard.Identity, resource string) (token.Token, error) {
	if m.Fresh != nil {
		if err := m.Fresh(); err != nil {
			return token.Token{}, err
		}
	}
	if m.Revocations != nil {
		if err := m.Revocations.WaitIssuable(ctx, id.PrincipalID); err != nil {
			return token.Token{}, err
		}
	}
	t, err := m.Issuer.Issue(token.Request{TenantID: m.TenantID, IssuerURL: m.IssuerURL, Audience: resource, Identity: id})
	if err != nil {
		return token.Token{}, err
	}
	if err := m.record(ctx, id, resource, t); err != nil {
		return token.Token{}, err
	}
	return t, nil
}

// record records t when m records its tokens: a token that cannot be recorded is not
// handed out.
func (m *Minter) record(ctx context.Context, id lanyard.Identity, resource string, t token.Token) error {
	if m.Protocol == "" || m.Recorder == nil {
		return nil
	}
	reqctx.SetOperation(ctx, m.Protocol)
	e := audit.Issued(audit.TokenIssued{
		Protocol: m.Protocol, PrincipalID: id.PrincipalID, ClientID: id.ClientID, IdentityResourceID: id.ResourceID,
		Resource: resource, TokenID: t.UTI, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, CallerAddress: reqctx.RemoteAddr(ctx),
	})
	if err := m.Recorder.Record(ctx, e); err != nil {
		return fmt.Errorf("record the token: %w", err)
	}
	if m.Counter != nil {
		m.Counter.TokenIssued(m.Protocol, false)
	}
	return nil
}
