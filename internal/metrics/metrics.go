// Package metrics holds Lanyard's Prometheus metrics, in a registry of its own (nothing
// registers into the global one behind Lanyard's back), and serves them.
//
// Labels carry only bounded, non-secret values: protocols, services, operation names,
// reason codes, results. Never a principal, token or path, so the endpoint can be read
// without a credential and the series count stays flat however many identities exist.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/msi"
)

// Metrics are the counters and histograms the server updates.
type Metrics struct {
	reg *prometheus.Registry

	// TokensIssued counts tokens handed out, by protocol and whether from the cache.
	TokensIssued *prometheus.CounterVec
	// TokensRefused counts refused token requests, by protocol and reason code.
	TokensRefused *prometheus.CounterVec
	// Decisions counts authorization decisions, by service and result.
	Decisions *prometheus.CounterVec
	// Duration observes request latency, by service and operation.
	Duration *prometheus.HistogramVec
}

// New returns metrics in a fresh registry, with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_tokens_issued_total", Help: "Access tokens handed out by the managed-identity endpoint.",
		}, []string{"protocol", "cached"}),
		TokensRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_tokens_refused_total", Help: "Token requests the managed-identity endpoint refused, by reason.",
		}, []string{"protocol", "reason"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_access_decisions_total", Help: "Authorization decisions at Lanyard's resources.",
		}, []string{"service", "result"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lanyard_request_duration_seconds", Help: "Request latency by service and operation.",
			// 100µs to about 6.5s: Blob's small operations take well under a millisecond.
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}, []string{"service", "operation"}),
	}
	m.reg.MustRegister(m.TokensIssued, m.TokensRefused, m.Decisions, m.Duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// TokenIssued counts a token handed out by protocol, from the cache or not.
func (m *Metrics) TokenIssued(protocol string, cached bool) {
	m.TokensIssued.WithLabelValues(protocol, strconv.FormatBool(cached)).Inc()
}

// TokenRefused counts a refused token request by protocol and reason code.
func (m *Metrics) TokenRefused(protocol, reason string) {
	m.TokensRefused.WithLabelValues(protocol, reason).Inc()
}

// WatchAudit exposes the audit recorder's queue and counters.
func (m *Metrics) WatchAudit(stats func() audit.Stats) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lanyard_audit_queue_depth", Help: "Audit events waiting to be written."},
			func() float64 { return float64(stats().Queued) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_audit_events_written_total", Help: "Audit events written to the store (and sink)."},
			func() float64 { return float64(stats().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_audit_events_dropped_total",
			Help: "Audit events lost: queue full or write failed after retries (best-effort), or refused with their request (fail-closed)."},
			func() float64 { return float64(stats().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_audit_write_failures_total", Help: "Audit batches that could not be written, after retries."},
			func() float64 { return float64(stats().Failures) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_audit_write_retries_total", Help: "Audit writes (store or sink) tried again after a failure."},
			func() float64 { return float64(stats().Retries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_audit_sink_events_dropped_total",
			Help: "Audit events in the store whose lines the audit file never received: it failed for too long."},
			func() float64 { return float64(stats().SinkDropped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lanyard_audit_healthy", Help: "1 when the last audit write succeeded."},
			func() float64 {
				if stats().Healthy {
					return 1
				}
				return 0
			}),
	)
}

// WatchTokenCache exposes the managed-identity token cache's size and how often it
// declined to keep a token, which a climbing overflow shows an app asking for ever new
// resources.
func (m *Metrics) WatchTokenCache(stats func() msi.CacheStats) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lanyard_msi_token_cache_bytes", Help: "Bytes of resources and tokens the managed-identity token cache holds."},
			func() float64 { return float64(stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lanyard_msi_token_cache_entries", Help: "Tokens the managed-identity token cache holds."},
			func() float64 { return float64(stats().Entries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_msi_token_cache_overflow_total",
			Help: "Tokens issued but not cached because their identity had the most resources cached already."},
			func() float64 { return float64(stats().Overflow) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lanyard_msi_token_cache_evictions_total",
			Help: "Live tokens dropped from the managed-identity token cache to stay within its byte budget."},
			func() float64 { return float64(stats().Evicted) }),
	)
}

// WatchKeyAge exposes the age of the active signing key.
func (m *Metrics) WatchKeyAge(age func() time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_signing_key_age_seconds", Help: "Age of the key that signs new tokens.",
	}, func() float64 { return age().Seconds() }))
}

// WatchRevocations exposes how many revocations are in force.
func (m *Metrics) WatchRevocations(n func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_revocations", Help: "Revocations in force (tokens and principals).",
	}, func() float64 { return float64(n()) }))
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registerer is the registry, for the metrics of a surface that defines its own.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }
