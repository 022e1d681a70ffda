package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// maxLine bounds one JSON line; real events are a few KiB at most.
const maxLine = 1 << 20

// appendLine appends e as one line of JSON: the sink's format and the API's. Details are
// written as stored (already compact, escaped JSON from encoding/json), so a line parsed
// back hashes as the event did.
func appendLine(buf *bytes.Buffer, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: encode event %s: %w", e.ID, err)
	}
	buf.Write(b)
	buf.WriteByte('\n')
	return nil
}

// ParseLine decodes one line of the sink's JSON-lines format.
func ParseLine(b []byte) (Event, error) {
	if len(b) > maxLine {
		return Event{}, errors.New("line too long")
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("not an audit event: %w", err)
	}
	if dec.More() {
		return Event{}, errors.New("not an audit event: data after the object")
	}
	switch {
	case e.ID == "" || e.Hash == "":
		return Event{}, errors.New("not an audit event: no id or hash")
	case e.Seq <= 0:
		return Event{}, fmt.Errorf("event %s: sequence number %d is not positive", e.ID, e.Seq)
	case !slices.Contains(Kinds, e.Kind):
		return Event{}, fmt.Errorf("event %s: unknown kind %q", e.ID, e.Kind)
	case len(e.Details) == 0 || e.Details[0] != '{':
		return Event{}, fmt.Errorf("event %s: details are not a JSON object", e.ID)
	}
	return e, nil
}
