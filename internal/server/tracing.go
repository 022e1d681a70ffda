package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// tracing exports one span per request over OTLP/HTTP, when the standard OpenTelemetry
// environment names a collector (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and OTEL_SDK_DISABLED is not true): off by default.
// A span has the ids reqctx gave its request, so the span, the request's log lines and its
// audit events name the same trace and span; a caller's traceparent makes it a child of
// the caller's span, and the caller's sampled flag decides whether it is exported.
type tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// tracingConfigured reports whether the environment asks for spans to be exported.
func tracingConfigured() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// openTracing starts the exporter the environment configures, or returns nil.
func openTracing(ctx context.Context, logger *slog.Logger) (*tracing, error) {
	if !tracingConfigured() {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx) // endpoint, headers, TLS and timeout from OTEL_EXPORTER_OTLP_*
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: spans could not be exported", "err", err)
	}))
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithIDGenerator(requestIDs{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "lanyard"))),
	)
	logger.Info("tracing: exporting spans over OTLP")
	return &tracing{provider: p, tracer: p.Tracer("github.com/lanyard-id/lanyard")}, nil
}

// start opens the span of the request described by info, which ctx must carry.
func (t *tracing) start(ctx context.Context, info *reqctx.Info, r *http.Request) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	if info.Trace.ParentSpanID != "" {
		tid, _ := trace.TraceIDFromHex(info.Trace.TraceID)
		sid, _ := trace.SpanIDFromHex(info.Trace.ParentSpanID)
		var flags trace.TraceFlags
		if info.Trace.Sampled {
			flags = trace.FlagsSampled
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}))
	}
	return t.tracer.Start(ctx, info.Service, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("lanyard.service", info.Service),
		attribute.String("lanyard.request_id", info.ID),
	))
}

// end closes span with what the request came to.
func (t *tracing) end(span trace.Span, op string, status int) {
	if t == nil || span == nil {
		return
	}
	span.SetName(op)
	span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("lanyard.operation", op))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// close exports the spans still queued.
func (t *tracing) close() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.provider.Shutdown(ctx)
}

// requestIDs gives a request's span the trace and span ids reqctx gave the request.
type requestIDs struct{}

func (requestIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if info := reqctx.From(ctx); info != nil {
		tid, err1 := trace.TraceIDFromHex(info.Trace.TraceID)
		sid, err2 := trace.SpanIDFromHex(info.Trace.SpanID)
		if err1 == nil && err2 == nil {
			return tid, sid
		}
	}
	var tid trace.TraceID
	_, _ = rand.Read(tid[:])
	return tid, randomSpanID()
}

func (requestIDs) NewSpanID(ctx context.Context, traceID trace.TraceID) trace.SpanID {
	if info := reqctx.From(ctx); info != nil && info.Trace.TraceID == hex.EncodeToString(traceID[:]) {
		if sid, err := trace.SpanIDFromHex(info.Trace.SpanID); err == nil {
			return sid
		}
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	_, _ = rand.Read(sid[:])
	return sid
}
