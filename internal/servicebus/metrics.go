package servicebus

import (
	"context"
	"errors"
	"time"

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
			Help: "Peek-locked messages settled, by outcome (completed, abandoned, released, suspended)."}, append(labels, "outcome")),
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

// QueueLister lists every queue the broker serves, for the depth gauges.
type QueueLister func(ctx context.Context) ([]messaging.Queue, error)

// depths reports each queue's active and dead-lettered messages when scraped.
type depths struct {
	list   QueueLister
	store  messaging.Store
	active *prometheus.Desc
	dead   *prometheus.Desc
	sched  *prometheus.Desc
}

// WatchDepths registers gauges of every queue's message counts, read from store when
// scraped.
func WatchDepths(reg prometheus.Registerer, list QueueLister, store messaging.Store) {
	labels := []string{"namespace", "entity"}
	reg.MustRegister(&depths{list: list, store: store,
		active: prometheus.NewDesc("lanyard_servicebus_active_messages", "Messages available or locked in a queue.", labels, nil),
		dead:   prometheus.NewDesc("lanyard_servicebus_dead_lettered_messages", "Messages in a queue's dead-letter queue.", labels, nil),
		sched:  prometheus.NewDesc("lanyard_servicebus_scheduled_messages", "Messages scheduled for later in a queue.", labels, nil),
	})
}

func (d *depths) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.active
	ch <- d.dead
	ch <- d.sched
}

func (d *depths) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	queues, err := d.list(ctx)
	if err != nil {
		return
	}
	for _, q := range queues {
		c, err := d.store.Counts(ctx, q)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(d.active, prometheus.GaugeValue, float64(c.Active), q.Namespace, q.Name)
		ch <- prometheus.MustNewConstMetric(d.dead, prometheus.GaugeValue, float64(c.DeadLetter), q.Namespace, q.Name)
		ch <- prometheus.MustNewConstMetric(d.sched, prometheus.GaugeValue, float64(c.Scheduled), q.Namespace, q.Name)
	}
}
