// Package reqctx carries what every layer may want to know about the request it serves:
// its id (the x-ms-request-id the client sees, the request_id of every log line and the
// requestId of every audit event it causes), the service and the operation, and the
// caller's address. The HTTP edge creates it; handlers fill in the operation when they
// know it.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Info describes one request. Operation is written by the handler that recognizes the
// request and read by the edge after the handler returns, on the same goroutine.
type Info struct {
	ID string
	// CorrelationID is the client's x-ms-correlation-request-id, or ID when it sent none.
	CorrelationID string
	Service       string // msi, blob, mgmt, authority
	Operation     string
	RemoteAddr    string
	// Trace is the W3C trace context the request belongs to: the caller's, from its
	// traceparent header, or a new trace.
	Trace Trace
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request's Info, or nil outside a request.
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}

// ID returns the request id, or "" outside a request.
func ID(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.ID
	}
	return ""
}

// TraceID returns the request's W3C trace id, or "" outside a request.
func TraceID(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.Trace.TraceID
	}
	return ""
}

// RemoteAddr returns the caller's address, or "" outside a request.
func RemoteAddr(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.RemoteAddr
	}
	return ""
}

// SetOperation names the operation of the request in ctx, if there is one.
func SetOperation(ctx context.Context, op string) {
	if info := From(ctx); info != nil {
		info.Operation = op
	}
}

// NewID returns a random UUID (version 4), the form of Azure's x-ms-request-id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// LogHandler adds request_id, and trace_id and span_id, to every record logged with a request's context, so a log
// line can be matched with the client's x-ms-request-id and with the audit trail.
func LogHandler(next slog.Handler) slog.Handler { return &logHandler{next: next} }

type logHandler struct{ next slog.Handler }

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if info := From(ctx); info != nil && info.ID != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", info.ID))
		if info.Trace.TraceID != "" {
			r.AddAttrs(slog.String("trace_id", info.Trace.TraceID), slog.String("span_id", info.Trace.SpanID))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(as)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
