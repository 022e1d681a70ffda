package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// recorderTrail is the audit trail of a real recorder on the fixture's store.
type recorderTrail struct{ *audit.Recorder }

func (recorderTrail) List(context.Context, lanyard.AuditFilter) ([]audit.Event, error) {
	return nil, nil
}
func (recorderTrail) Get(context.Context, string) (audit.Event, error) { return audit.Event{}, nil }
func (recorderTrail) Verify(context.Context) (audit.Report, error)     { return audit.Report{}, nil }

// A PUT whose spec allows no 201 (storage accounts, sites) answers 200 when it creates,
// and the audit trail still records a creation, then an update.
func TestCreationRecordedWithout201(t *testing.T) {
	f := newFixture(t)
	rec := audit.New(audit.Options{Store: f.st})
	t.Cleanup(func() { rec.Close() })
	f.h.Audit = recorderTrail{rec}
	f.mustGroup(t, "demo", "westeurope")
	for _, path := range []string{appPath("demo", "web"), accountPath("demo", "acct1")} {
		for range 2 {
			expect(t, f.call(t, "PUT", path, `{}`), http.StatusOK)
		}
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	events, err := f.st.ListAuditEvents(t.Context(), lanyard.AuditFilter{Kind: string(audit.KindChange)})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range events {
		var d struct {
			Operation  string `json:"operation"`
			ResourceID string `json:"resourceId"`
			Status     int    `json:"status"`
		}
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.ResourceID == groupPath("demo") {
			continue
		}
		ops = append(ops, d.Operation)
		if d.Status != http.StatusOK {
			t.Errorf("status %d recorded for %s", d.Status, d.ResourceID)
		}
	}
	if want := []string{"create", "update", "create", "update"}; !slices.Equal(ops, want) {
		t.Errorf("operations recorded: %v, want %v", ops, want)
	}
}
