package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxLine bounds one JSON line; real events are a few KiB at most.
const maxLine = 1 << 20

// appendLine appends e as one line of JSON, the sink's format: the fields of Event, in its
// order, with Details written as stored (compact JSON from encoding/json), so that a line
// parsed back hashes as the event did. It is written by hand because the writer encodes
// every event of a busy server, and encoding/json would validate and re-compact Details
// each time.
func appendLine(buf *bytes.Buffer, e Event) error {
	b := buf.AvailableBuffer()
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = appendField(b, "id", e.ID)
	b = append(b, `,"time":`...)
	b = append(b, '"')
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "kind", string(e.Kind))
	b = appendField(b, "requestId", e.RequestID)
	b = appendField(b, "principalId", e.PrincipalID)
	b = appendField(b, "clientId", e.ClientID)
	b = appendField(b, "action", e.Action)
	b = appendField(b, "decision", e.Decision)
	b = appendField(b, "uti", e.TokenID)
	b = append(b, `,"details":`...)
	if len(e.Details) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Details...)
	}
	b = appendField(b, "prevHash", e.PrevHash)
	b = appendField(b, "hash", e.Hash)
	b = append(b, "}\n"...)
	buf.Write(b)
	return nil
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString appends s as a JSON string, escaped as encoding/json escapes it (HTML
// characters and line separators included, invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
