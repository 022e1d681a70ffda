package config

import (
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
)

// AuditFile is the audit section of the configuration file.
type AuditFile struct {
	// File receives every audit event as a line of JSON: a path, or "stdout"; none when "".
	File string `json:"file"`
	// Policy is best-effort (the default: a request never waits for its record, and
	// events that cannot be written are dropped and counted) or fail-closed (tokens are
	// issued and requests authorized only once their event is written).
	Policy string `json:"policy"`
	// Retention deletes events older than this: a Go duration or a number of days such
	// as 90d; "" keeps every event.
	Retention string `json:"retention"`
}

// Audit is the validated audit configuration.
type Audit struct {
	File      string
	Policy    audit.Policy
	Retention time.Duration // 0 keeps everything
}

func (a AuditFile) resolve() (Audit, error) {
	p, err := audit.ParsePolicy(a.Policy)
	if err != nil {
		return Audit{}, fmt.Errorf("audit.policy: %w", err)
	}
	out := Audit{File: a.File, Policy: p}
	if a.Retention != "" {
		d, err := audit.ParseDuration(a.Retention)
		if err != nil {
			return Audit{}, fmt.Errorf("audit.retention: %w", err)
		}
		if d < time.Hour {
			return Audit{}, fmt.Errorf("audit.retention %s: keep events at least an hour", a.Retention)
		}
		out.Retention = d
	}
	return out, nil
}
