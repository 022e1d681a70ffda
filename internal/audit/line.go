package audit

import (
	"fmt"
	"slices"

	"github.com/lanyard-id/lanyard/internal/auditline"
)

// ParseLine decodes one line of the sink's JSON-lines format.
func ParseLine(b []byte) (Event, error) {
	r, err := auditline.Parse(b)
	if err != nil {
		return Event{}, err
	}
	e := FromRecord(r)
	if !slices.Contains(Kinds, e.Kind) {
		return Event{}, fmt.Errorf("event %s: unknown kind %q", e.ID, e.Kind)
	}
	return e, nil
}
