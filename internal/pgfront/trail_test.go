package pgfront

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
)

type recorder struct {
	events []audit.Event
	err    error
}

func (r *recorder) Record(_ context.Context, e audit.Event) error {
	r.events = append(r.events, e)
	return r.err
}

func TestTrail(t *testing.T) {
	r := &recorder{}
	tr := &Trail{Recorder: r}
	ctx := context.Background()
	if err := tr.Login(ctx, Login{ServerID: "s", Role: "app", Database: "db", PrincipalID: "p", TokenID: "u", Allowed: true, ClientAddress: "127.0.0.1:5"}); err != nil {
		t.Fatal(err)
	}
	_ = tr.Login(ctx, Login{ServerID: "s", Role: "app", Code: "28P01", Reason: "token refused: expired"})
	tr.SessionEnded(ctx, SessionEnd{ServerID: "s", Role: "app", PrincipalID: "p", TokenID: "u", Started: time.Now(), Reason: "the token is no longer accepted", Forced: true})
	if len(r.events) != 3 {
		t.Fatalf("%d events", len(r.events))
	}
	want := []struct{ kind, decision string }{{audit.KindPostgresLogin, audit.Allowed}, {audit.KindPostgresLogin, audit.Denied}, {audit.KindPostgresSessionEnded, ""}}
	for i, w := range want {
		e := r.events[i]
		if e.Kind != w.kind || e.Decision != w.decision {
			t.Errorf("event %d: kind %s decision %q", i, e.Kind, e.Decision)
		}
		text, err := audit.Explain(stored(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, `"app"`) {
			t.Errorf("explanation of event %d: %s", i, text)
		}
	}
	if text, _ := audit.Explain(stored(t, r.events[1])); !strings.Contains(text, "refused with 28P01") || !strings.Contains(text, "expired") {
		t.Errorf("refusal explained as %s", text)
	}
	// Fail closed: an allowed login that cannot be recorded is refused; a refusal is
	// refused anyway.
	r.err = errors.New("disk full")
	if err := tr.Login(ctx, Login{Allowed: true}); err == nil {
		t.Error("an unrecorded login was allowed")
	}
	if err := tr.Login(ctx, Login{Allowed: false}); err != nil {
		t.Errorf("refusal: %v", err)
	}
}

// stored is e as the recorder writes it and the trail reads it back.
func stored(t *testing.T, e audit.Event) audit.Event {
	t.Helper()
	d, err := e.Detail()
	if err != nil {
		t.Fatal(err)
	}
	rec := e.AuditEvent
	if rec.Details, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	return audit.FromRecord(rec)
}
