package pgfront

import (
	"context"
	"log/slog"

	"github.com/lanyard-id/lanyard/internal/audit"
)

// Recorder records an audit event; *audit.Recorder is one. An error means the event could
// not be recorded and the policy (fail-closed) says to refuse what it records.
type Recorder interface {
	Record(ctx context.Context, e audit.Event) error
}

// Trail is the Auditor that records to the audit trail.
type Trail struct {
	Recorder Recorder
	Logger   *slog.Logger
}

var _ Auditor = (*Trail)(nil)

// Login records l; an allowed login that cannot be recorded is refused.
func (t *Trail) Login(ctx context.Context, l Login) error {
	err := t.Recorder.Record(ctx, audit.PostgresLoggedIn(audit.PostgresLogin{
		ServerID: l.ServerID, Role: l.Role, Database: l.Database, PrincipalID: l.PrincipalID, TokenID: l.TokenID,
		Allowed: l.Allowed, Code: l.Code, Reason: l.Reason, CallerAddress: l.ClientAddress,
	}))
	if err != nil && l.Allowed {
		t.logger().ErrorContext(ctx, "a PostgreSQL login could not be recorded and was refused", "server", l.ServerID, "role", l.Role, "err", err)
		return err
	}
	return nil
}

// SessionEnded records e. The session is over anyway, so a failure is only logged.
func (t *Trail) SessionEnded(ctx context.Context, e SessionEnd) {
	err := t.Recorder.Record(ctx, audit.PostgresSessionEnded(audit.PostgresSessionEnd{
		ServerID: e.ServerID, Role: e.Role, Database: e.Database, PrincipalID: e.PrincipalID, TokenID: e.TokenID,
		Started: e.Started, Reason: e.Reason, Forced: e.Forced, CallerAddress: e.ClientAddress,
	}))
	if err != nil {
		t.logger().ErrorContext(ctx, "the end of a PostgreSQL session could not be recorded", "server", e.ServerID, "role", e.Role, "err", err)
	}
}

func (t *Trail) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}
