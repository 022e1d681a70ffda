package audit

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/lanyard-id/lanyard/internal/auditline"
)

// appendLine appends e as one line of the sink's JSON-lines format.
func appendLine(buf *bytes.Buffer, e Event) {
	buf.Write(auditline.Append(buf.AvailableBuffer(), e.record()))
}

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
