// Package auditline is the audit trail's JSON-lines format: one event per line, as the
// sink writes it for log pipelines and as the store keeps it. Encoding is by hand because
// a busy server encodes every event it records, and encoding/json would validate and
// re-compact each event's details every time; decoding uses encoding/json.
package auditline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// MaxLine bounds one line; real events are a few KiB at most.
const MaxLine = 1 << 20

// Append appends e as one line of JSON, newline included. The details go in as stored
// (compact JSON), so that a line parsed back hashes as the event did; the output is what
// encoding/json would write for the same fields.
func Append(b []byte, e lanyard.AuditEvent) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = appendField(b, "id", e.ID)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "kind", e.Kind)
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
	return append(b, "}\n"...)
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

// Parse decodes one line, with or without its newline. It checks the shape of an event
// (a positive sequence number, an id, a hash, details that are a JSON object), not what
// it says.
func Parse(b []byte) (lanyard.AuditEvent, error) {
	if len(b) > MaxLine {
		return lanyard.AuditEvent{}, errors.New("line too long")
	}
	var l lanyard.AuditEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return lanyard.AuditEvent{}, fmt.Errorf("not an audit event: %w", err)
	}
	if dec.More() {
		return lanyard.AuditEvent{}, errors.New("not an audit event: data after the object")
	}
	switch {
	case l.ID == "" || l.Hash == "":
		return lanyard.AuditEvent{}, errors.New("not an audit event: no id or hash")
	case l.Seq <= 0:
		return lanyard.AuditEvent{}, fmt.Errorf("event %s: sequence number %d is not positive", l.ID, l.Seq)
	case len(l.Details) == 0 || l.Details[0] != '{':
		return lanyard.AuditEvent{}, fmt.Errorf("event %s: details are not a JSON object", l.ID)
	}
	return l, nil
}
