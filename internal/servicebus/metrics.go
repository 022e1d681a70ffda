package servicebus

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Metrics counts messages per entity. Queue depths (active, dead-lettered, scheduled) are
// read from the store when scraped, by a collector the server registers.
type Metrics struct {
	Sent     *prometheus.CounterVec // namespace, entity
	Received *prometheus.CounterVec // namespace, entity
	Settled  *prometheus.CounterVec // namespace, entity, outcome
	LockLost *prometheus.CounterVec // namespace, entity
}

// NewMetrics registers the counters with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"namespace", "entity"}
	m := &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanyard_servicebus_messages_sent_total",
			Help: "Messages accepted by Service Bus queues."}, labels),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanyard_servicebus_messages_received_total",
			Help: "Messages delivered to receivers."}, labels),
		Settled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanyard_servicebus_messages_settled_total",
			Help: "Peek-locked messages settled, by outcome (completed, abandoned, suspended)."}, append(labels, "outcome")),
		LockLost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanyard_servicebus_lock_lost_total",
			Help: "Settlements and renewals refused because the lock was lost."}, labels),
	}
	reg.MustRegister(m.Sent, m.Received, m.Settled, m.LockLost)
	return m
}

func (m *Metrics) sent(q messaging.Queue, n int) {
	if m != nil {
		m.Sent.WithLabelValues(q.Namespace, q.Name).Add(float64(n))
	}
}

func (m *Metrics) received(q messaging.Queue) {
	if m != nil {
		m.Received.WithLabelValues(q.Namespace, q.Name).Inc()
	}
}

func (m *Metrics) settled(q messaging.Queue, outcome string) {
	if m != nil {
		m.Settled.WithLabelValues(q.Namespace, q.Name, outcome).Inc()
	}
}

func (m *Metrics) lockLost(q messaging.Queue, err error) {
	if m != nil && errors.Is(err, messaging.ErrLockLost) {
		m.LockLost.WithLabelValues(q.Namespace, q.Name).Inc()
	}
}
