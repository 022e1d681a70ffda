package fsmeta

import (
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// diskTier is a blob's access tier state in a record; absent when never set.
type diskTier struct {
	Tier     string    `json:"t,omitempty"`
	Changed  time.Time `json:"c,omitzero"`
	To       string    `json:"to,omitempty"`
	Priority string    `json:"p,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

func encodeTier(t blob.AccessTier) *diskTier {
	if t == (blob.AccessTier{}) {
		return nil
	}
	return &diskTier{Tier: t.Tier, Changed: t.ChangedAt, To: t.RehydrateTo, Priority: t.RehydratePriority, At: t.RehydrateAt}
}

func decodeTier(d *diskTier) blob.AccessTier {
	if d == nil {
		return blob.AccessTier{}
	}
	t := blob.AccessTier{Tier: d.Tier, RehydrateTo: d.To, RehydratePriority: d.Priority}
	if !d.Changed.IsZero() {
		t.ChangedAt = d.Changed.UTC()
	}
	if !d.At.IsZero() {
		t.RehydrateAt = d.At.UTC()
	}
	return t
}
