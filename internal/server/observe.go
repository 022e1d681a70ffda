package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/metrics"
	"github.com/lanyard-id/lanyard/internal/msi"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/revocation"
	"github.com/lanyard-id/lanyard/internal/store"
)

// observability is what a server knows about itself and tells others: the audit trail,
// the revocation set every resource checks, the metrics, and the request ids that tie a
// response, its log lines and its audit events together.
type observability struct {
	logger  *slog.Logger
	store   store.Store
	audit   *audit.Recorder
	sink    io.Closer
	revs    *revocation.Set
	metrics *metrics.Metrics
	tracing *tracing // nil unless the environment names an OTLP collector

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// revocationPruneInterval is how often expired revocations are deleted.
const revocationPruneInterval = 10 * time.Minute

// openObservability starts the audit recorder on st (the store itself, not a cache) and
// loads the revocations.
func openObservability(ctx context.Context, cfg config.Audit, st store.Store, logger *slog.Logger) (*observability, error) {
	o := &observability{logger: logger, store: st, metrics: metrics.New()}
	sink, err := audit.OpenSink(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("audit sink: %w", err)
	}
	var sinkWriter io.Writer
	if sink != nil {
		o.sink, sinkWriter = sink, sink
	}
	if o.revs, err = revocation.Open(ctx, st, lanyard.MaxTokenLifetime, nil); err != nil {
		return nil, err
	}
	if o.tracing, err = openTracing(ctx, logger); err != nil {
		return nil, err
	}
	o.audit = audit.New(audit.Options{Store: st, Sink: sinkWriter, Policy: cfg.Policy, Retention: cfg.Retention, Logger: logger})
	o.metrics.WatchAudit(o.audit.Stats)
	o.metrics.WatchRevocations(o.revs.Len)
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	o.stop = stop
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t := time.NewTicker(revocationPruneInterval)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if _, err := o.revs.Prune(bg); err != nil {
					logger.Error("could not prune expired revocations", "err", err)
				}
			}
		}
	}()
	if cfg.File != "" {
		logger.Info("audit trail", "sink", cfg.File, "policy", string(cfg.Policy), "retention", cfg.Retention)
	}
	return o, nil
}

// close writes the queued events and stops; the store must still be open.
func (o *observability) close() {
	if o == nil {
		return
	}
	o.stop()
	o.wg.Wait()
	_ = o.audit.Close()
	o.tracing.close()
	if o.sink != nil {
		_ = o.sink.Close()
	}
}

// forgetRevoked makes every revocation drop the cached tokens it names, so the
// managed-identity endpoint issues a fresh token instead of serving a revoked one.
func (o *observability) forgetRevoked(cache *msi.Cache) {
	o.revs.OnRevoke = func(r lanyard.Revocation) {
		switch r.Kind {
		case lanyard.RevokeToken:
			cache.ForgetToken(r.TokenID)
		case lanyard.RevokePrincipal:
			cache.Forget(r.PrincipalID)
		}
	}
}

// watchKeys exposes the active signing key's age.
func (o *observability) watchKeys(ring *keys.Keyring) {
	o.metrics.WatchKeyAge(func() time.Duration {
		for _, k := range ring.List() {
			if k.Active {
				return time.Since(k.CreatedAt)
			}
		}
		return 0
	})
}

// Decided records and counts an authorization decision; it implements access.Recorder.
func (o *observability) Decided(ctx context.Context, d audit.Decision) error {
	result := audit.Denied
	if d.Allowed {
		result = audit.Allowed
	}
	o.metrics.Decisions.WithLabelValues(d.Service, result).Inc()
	if err := o.audit.Record(ctx, audit.Decided(d)); err != nil {
		o.logger.ErrorContext(ctx, "an authorization decision could not be recorded; the request is refused", "err", err)
		return err
	}
	return nil
}

// instrument gives every request of service an id (in the context, in x-ms-request-id,
// in its log lines and audit events) and a place in a W3C trace (the caller's traceparent,
// or a new trace; its trace id in the log lines and audit events too), times it by
// operation, and logs it.
func (o *observability) instrument(service string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqctx.Info{ID: reqctx.NewID(), Service: service, RemoteAddr: r.RemoteAddr}
		info.CorrelationID = echoRequestIDs(w.Header(), r.Header, info.ID)
		info.Trace = reqctx.StartTrace(r.Header.Get("traceparent"))
		r = r.WithContext(reqctx.With(r.Context(), info))
		ctx, span := o.tracing.start(r.Context(), info, r)
		r = r.WithContext(ctx)
		// The surface under it shares the Writer, and with it what was sent.
		sw := handler.Wrap(w)
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		op := info.Operation
		if op == "" {
			op = r.Pattern // set by the ServeMux that routed it, if any
		}
		if op == "" {
			op = "other"
		}
		o.metrics.Duration.WithLabelValues(service, op).Observe(elapsed.Seconds())
		o.tracing.end(span, service+" "+op, sw.Status())
		level := slog.LevelDebug
		if sw.Status() >= 500 {
			level = slog.LevelWarn
		}
		if o.logger.Enabled(r.Context(), level) {
			o.logger.LogAttrs(r.Context(), level, "request", slog.String("service", service), slog.String("operation", op),
				slog.String("method", r.Method), slog.Int("status", sw.Status()), slog.Duration("duration", elapsed),
				slog.String("remote", r.RemoteAddr))
		}
	})
}

// maxClientID bounds the ids a client sends that are echoed: Azure Storage allows 1024
// characters for x-ms-client-request-id.
const maxClientID = 1024

// echoRequestIDs sets the request ids every Azure response carries: x-ms-request-id (this
// request's own), x-ms-client-request-id (the client's, echoed when it sent one) and
// x-ms-correlation-request-id (the client's, echoed, or else the request id, as ARM
// starts a correlation for a request that brings none). It returns the correlation id.
func echoRequestIDs(out, in http.Header, requestID string) string {
	out.Set("x-ms-request-id", requestID)
	if id := in.Get("x-ms-client-request-id"); echoable(id) {
		out.Set("x-ms-client-request-id", id)
	}
	correlation := in.Get("x-ms-correlation-request-id")
	if !echoable(correlation) {
		correlation = requestID
	}
	out.Set("x-ms-correlation-request-id", correlation)
	return correlation
}

// echoable reports whether a client's id may be sent back and logged: bounded, and
// printable ASCII only, so it can neither split a header nor forge a log line.
func echoable(id string) bool {
	if id == "" || len(id) > maxClientID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// api serves the API listener: /metrics, then the management API and the authority,
// each instrumented under its own service name. /metrics asks for no credential (it
// carries no identities or secrets, and the listener is on loopback unless the operator
// says otherwise), so a Prometheus on the same machine can scrape it without being given
// the admin token.
func (o *observability) api(next http.Handler) http.Handler {
	mgmtH, authH := o.instrument("mgmt", next), o.instrument("authority", next)
	metricsH := o.metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			// Not timed or logged (a scrape every few seconds), but answered with the
			// request ids every response carries.
			echoRequestIDs(w.Header(), r.Header, reqctx.NewID())
			metricsH.ServeHTTP(w, r)
			return
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if strings.EqualFold(first, "subscriptions") || strings.EqualFold(first, "providers") {
			mgmtH.ServeHTTP(w, r)
			return
		}
		authH.ServeHTTP(w, r)
	})
}
