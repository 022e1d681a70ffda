package reqctx

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Trace is a request's place in a W3C trace (https://www.w3.org/TR/trace-context/): the
// trace it belongs to, the span the server opens for it, and the caller's span, its parent.
type Trace struct {
	TraceID      string // 32 lowercase hex digits
	SpanID       string // 16 lowercase hex digits: this request's span
	ParentSpanID string // the caller's span, "" when the trace starts here
	Sampled      bool   // the caller's sampled flag; a new trace is sampled
}

// maxTraceparent bounds the header read: version 00 is 55 characters, later versions may
// append fields.
const maxTraceparent = 512

// StartTrace returns the trace of a request whose traceparent header is header: a child of
// the caller's span when the header is valid, otherwise a new trace, as the specification
// asks of a server that cannot parse it.
func StartTrace(header string) Trace {
	t := Trace{SpanID: randomHex(8)}
	if traceID, parent, sampled, ok := ParseTraceparent(header); ok {
		t.TraceID, t.ParentSpanID, t.Sampled = traceID, parent, sampled
		return t
	}
	t.TraceID, t.Sampled = randomHex(16), true
	return t
}

// Traceparent is the header that carries t on to a span's children.
func (t Trace) Traceparent() string {
	flags := "00"
	if t.Sampled {
		flags = "01"
	}
	return "00-" + t.TraceID + "-" + t.SpanID + "-" + flags
}

// ParseTraceparent reads a W3C traceparent header: version-traceid-parentid-flags, in
// lowercase hex. Version ff, an all-zero trace or span id, or any other shape is invalid.
// A version above 00 may carry more fields after the flags, which are ignored.
func ParseTraceparent(h string) (traceID, parentID string, sampled, ok bool) {
	h = strings.TrimSpace(h)
	if len(h) < 55 || len(h) > maxTraceparent {
		return "", "", false, false
	}
	version, traceID, parentID, flags := h[0:2], h[3:35], h[36:52], h[53:55]
	if h[2] != '-' || h[35] != '-' || h[52] != '-' || !lowerHex(version) || version == "ff" ||
		!lowerHex(traceID) || !lowerHex(parentID) || !lowerHex(flags) ||
		traceID == strings.Repeat("0", 32) || parentID == strings.Repeat("0", 16) {
		return "", "", false, false
	}
	if len(h) > 55 && (version == "00" || h[55] != '-') {
		return "", "", false, false
	}
	f, _ := hex.DecodeString(flags)
	return traceID, parentID, f[0]&1 == 1, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
