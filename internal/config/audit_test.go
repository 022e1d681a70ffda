package config

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
)

func TestAuditConfig(t *testing.T) {
	f, err := Parse([]byte(`{"audit": {"file": "stdout", "policy": "fail-closed", "retention": "90d"}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit != (Audit{File: "stdout", Policy: audit.FailClosed, Retention: 90 * 24 * time.Hour}) {
		t.Fatalf("audit config %+v", c.Audit)
	}
	if c, err := (File{}).Resolve(); err != nil || c.Audit.Policy != audit.BestEffort || c.Audit.Retention != 0 {
		t.Fatalf("default audit config %+v, %v; want best-effort, kept forever", c.Audit, err)
	}
	if _, err := Parse([]byte(`{"audit": {"sink": "stdout"}}`)); err == nil {
		t.Error("an unknown key in audit was accepted")
	}
	for _, bad := range []string{`{"audit": {"policy": "closed"}}`, `{"audit": {"retention": "ninety days"}}`, `{"audit": {"retention": "5m"}}`} {
		f, err := Parse([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Resolve(); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}
