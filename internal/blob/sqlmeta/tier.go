package sqlmeta

import (
	"encoding/json"
	"fmt"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// tierJSON is the tier column of blob_entries (” when the tier was never set).
type tierJSON struct {
	Tier     string `json:"t,omitempty"`
	Changed  int64  `json:"c,omitempty"` // microseconds since the epoch; 0 for none
	To       string `json:"to,omitempty"`
	Priority string `json:"p,omitempty"`
	At       int64  `json:"at,omitempty"`
}

func encodeTier(t blobs.AccessTier) (string, error) {
	if t == (blobs.AccessTier{}) {
		return "", nil
	}
	for _, s := range []string{t.Tier, t.RehydrateTo, t.RehydratePriority} {
		if !storableText(s) {
			return "", errBlobNotText("an access tier")
		}
	}
	v := tierJSON{Tier: t.Tier, To: t.RehydrateTo, Priority: t.RehydratePriority}
	if !t.ChangedAt.IsZero() {
		v.Changed = micros(t.ChangedAt)
	}
	if !t.RehydrateAt.IsZero() {
		v.At = micros(t.RehydrateAt)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode tier: %w", err)
	}
	return string(b), nil
}

func decodeTier(s string) (blobs.AccessTier, error) {
	if s == "" {
		return blobs.AccessTier{}, nil
	}
	var v tierJSON
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return blobs.AccessTier{}, fmt.Errorf("decode tier: %w", err)
	}
	t := blobs.AccessTier{Tier: v.Tier, RehydrateTo: v.To, RehydratePriority: v.Priority}
	if v.Changed != 0 {
		t.ChangedAt = fromMicros(v.Changed)
	}
	if v.At != 0 {
		t.RehydrateAt = fromMicros(v.At)
	}
	return t, nil
}
