package sqlmeta

import (
	"encoding/json"
	"fmt"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// leaseJSON is the lease column of blob_containers and blob_entries (” for none).
type leaseJSON struct {
	ID       string `json:"id,omitempty"`
	Phase    string `json:"p,omitempty"`
	Duration int    `json:"d,omitempty"`
	Until    int64  `json:"u,omitempty"` // microseconds since the epoch; 0 for none
}

func encodeLease(l blobs.Lease) (string, error) {
	if l.IsZero() {
		return "", nil
	}
	v := leaseJSON{ID: l.ID, Phase: l.Phase, Duration: l.Duration}
	if !l.Until.IsZero() {
		v.Until = micros(l.Until)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode lease: %w", err)
	}
	return string(b), nil
}

func decodeLease(s string) (blobs.Lease, error) {
	if s == "" {
		return blobs.Lease{}, nil
	}
	var v leaseJSON
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return blobs.Lease{}, fmt.Errorf("decode lease: %w", err)
	}
	l := blobs.Lease{ID: v.ID, Phase: v.Phase, Duration: v.Duration}
	if v.Until != 0 {
		l.Until = fromMicros(v.Until)
	}
	return l, nil
}
