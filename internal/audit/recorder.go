package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/auditline"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/store"
)

// Policy says what happens to a request when its event cannot be written.
type Policy string

const (
	// BestEffort never holds a request up: an event that does not fit in the queue, or
	// whose write fails, is dropped, counted and logged.
	BestEffort Policy = "best-effort"
	// FailClosed refuses what it cannot record, as Vault does: a token is handed out, a
	// request authorized, only once its event is written to the store and the sink.
	FailClosed Policy = "fail-closed"
)

// ParsePolicy checks a policy name; "" is BestEffort.
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case "", BestEffort:
		return BestEffort, nil
	case FailClosed:
		return FailClosed, nil
	}
	return "", fmt.Errorf("audit policy %q: use best-effort or fail-closed", s)
}

// ErrUnavailable is returned under FailClosed when an event cannot be written: the caller
// must refuse the request.
var ErrUnavailable = lanyard.Errorf(lanyard.KindUnavailable,
	"The audit trail cannot be written and the audit policy is fail-closed, so the request was refused.").WithCode("AuditUnavailable")

// Options configure a Recorder.
type Options struct {
	Store store.AuditEvents
	// Sink, when set, receives every event as a line of JSON, in the same transaction
	// as the store: both or neither.
	Sink      io.Writer
	Policy    Policy
	Retention time.Duration // 0 keeps everything
	// QueueSize bounds the events waiting to be written; 8192 when zero.
	QueueSize int
	// BatchSize bounds the events written together; 512 when zero.
	BatchSize int
	// WriteTimeout bounds how long, under FailClosed, a request waits for its event;
	// 5s when zero.
	WriteTimeout time.Duration
	// Linger is how long the writer waits for more events before writing a batch: fewer,
	// larger transactions cost a busy server less CPU, and fewer fsyncs hold up less the
	// requests that fsync their own data (Put Blob). 300ms under BestEffort when zero
	// (readers Flush, so they do not wait for it); never under FailClosed, where requests
	// wait for the write.
	Linger time.Duration
	// PruneInterval is how often retention runs; an hour when zero.
	PruneInterval time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Stats are the Recorder's counters, for metrics.
type Stats struct {
	Queued   int    // events waiting
	Written  uint64 // events written
	Dropped  uint64 // events lost: queue full, write failed (best-effort) or refused (fail-closed)
	Failures uint64 // batches that could not be written
	Healthy  bool   // the last write succeeded
}

// Recorder queues events and writes them in batches on its own goroutine. It is safe for
// concurrent use.
type Recorder struct {
	opts   Options
	queue  chan *pending
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool

	written, dropped, failures atomic.Uint64
	healthy                    atomic.Bool
	lastProbe                  atomic.Int64 // unix nanos of the last request let through while unhealthy

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int

	// lines and recs hold a batch's sink lines and records; the writer goroutine reuses
	// them, so that a busy server does not allocate (and fault in) a fresh half-megabyte
	// buffer per batch.
	lines bytes.Buffer
	recs  []lanyard.AuditEvent
}

// pending states: a waiting request may give up only before the writer takes its event,
// so an event is written if and only if its request is told it was.
const (
	queued int32 = iota
	writing
	abandoned
)

type pending struct {
	ev    Event
	done  chan error // nil: nobody waits (best-effort)
	state atomic.Int32
	// flush marks no event: its done is signalled once everything queued before it is
	// written (the writer takes the queue in order).
	flush bool
}

// probeInterval is how often, while writes fail, FailClosed lets one request through to
// find out whether the trail can be written again.
const probeInterval = time.Second

// New starts a Recorder; Close stops it.
func New(opts Options) *Recorder {
	if opts.Policy == "" {
		opts.Policy = BestEffort
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	if opts.Linger == 0 && opts.Policy == BestEffort {
		opts.Linger = 300 * time.Millisecond
	}
	if opts.Policy == FailClosed {
		opts.Linger = 0
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Recorder{opts: opts, queue: make(chan *pending, opts.QueueSize), stop: make(chan struct{}), done: make(chan struct{})}
	r.healthy.Store(true)
	go r.run()
	return r
}

// Policy returns the recorder's policy.
func (r *Recorder) Policy() Policy { return r.opts.Policy }

// Stats returns the counters.
func (r *Recorder) Stats() Stats {
	return Stats{Queued: len(r.queue), Written: r.written.Load(), Dropped: r.dropped.Load(),
		Failures: r.failures.Load(), Healthy: r.healthy.Load()}
}

// Ready reports, under FailClosed, whether a request that needs a record may proceed:
// ErrUnavailable while writes fail, except for one request a second, which finds out
// whether they work again. Under BestEffort it is always nil.
func (r *Recorder) Ready() error {
	if r.opts.Policy != FailClosed || r.healthy.Load() {
		return nil
	}
	now := time.Now().UnixNano()
	last := r.lastProbe.Load()
	if now-last >= int64(probeInterval) && r.lastProbe.CompareAndSwap(last, now) {
		return nil
	}
	return ErrUnavailable
}

// Record records e, stamping its id, time and the request id from ctx. Under BestEffort
// it returns at once and always nil. Under FailClosed it returns once e is written, or
// ErrUnavailable (with the cause) when it cannot be within the write timeout: the caller
// must then refuse what e records.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	if e.ID == "" {
		// Time-ordered (version 7), so the store's unique index on ids grows at one end
		// instead of dirtying a random page per event.
		id, err := uuid.NewV7()
		if err != nil {
			id = uuid.New()
		}
		e.ID = id.String()
	}
	if e.Time.IsZero() {
		e.Time = r.opts.Now().UTC().Truncate(time.Microsecond)
	}
	if e.RequestID == "" {
		e.RequestID = reqctx.ID(ctx)
	}
	validUTF8(&e)
	if r.opts.Policy != FailClosed {
		if r.closed.Load() {
			r.drop(1, "the recorder is closed")
			return nil
		}
		select {
		case r.queue <- &pending{ev: e}:
		default:
			r.drop(1, "the audit queue is full")
		}
		return nil
	}
	if err := r.Ready(); err != nil {
		r.dropped.Add(1)
		return err
	}
	if r.closed.Load() {
		return fmt.Errorf("%w (the recorder is closed)", ErrUnavailable)
	}
	p := &pending{ev: e, done: make(chan error, 1)}
	timer := time.NewTimer(r.opts.WriteTimeout)
	defer timer.Stop()
	select {
	case r.queue <- p:
	case <-timer.C:
		r.dropped.Add(1)
		return fmt.Errorf("%w (the audit queue stayed full)", ErrUnavailable)
	case <-ctx.Done():
		r.dropped.Add(1)
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-timer.C:
	case <-ctx.Done():
	}
	if p.state.CompareAndSwap(queued, abandoned) {
		r.dropped.Add(1)
		return fmt.Errorf("%w (the event was not written in time)", ErrUnavailable)
	}
	// The writer has it: its outcome decides.
	return <-p.done
}

// validUTF8 replaces invalid UTF-8 in e's fields, which can come from a caller (a token
// that did not verify, a header) and which JSON cannot carry: the event is hashed as it
// will read back from the store and the sink, so it verifies.
func validUTF8(e *Event) {
	for _, f := range []*string{&e.ID, &e.RequestID, &e.PrincipalID, &e.ClientID, &e.Action, &e.Decision, &e.TokenID} {
		*f = strings.ToValidUTF8(*f, "\uFFFD")
	}
}

// Flush waits until every event recorded before it has been written (or given up on), so
// that a reader of the trail sees them.
func (r *Recorder) Flush(ctx context.Context) error {
	if r.closed.Load() {
		return nil
	}
	p := &pending{flush: true, done: make(chan error, 1)}
	select {
	case r.queue <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (r *Recorder) Close() error {
	if r.closed.Swap(true) {
		<-r.done
		return nil
	}
	close(r.stop)
	<-r.done
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	var prune <-chan time.Time
	if r.opts.Retention > 0 {
		r.prune()
		t := time.NewTicker(r.opts.PruneInterval)
		defer t.Stop()
		prune = t.C
	}
	batch := make([]*pending, 0, r.opts.BatchSize)
	for {
		select {
		case p := <-r.queue:
			batch = r.linger(r.fill(append(batch[:0], p)))
			r.write(batch)
		case <-prune:
			r.prune()
		case <-r.stop:
			for {
				batch = r.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				r.write(batch)
			}
		}
	}
}

// fill takes whatever else is queued, up to a batch: group commit, so a busy server
// writes many events per transaction and an idle one writes each at once.
func (r *Recorder) fill(batch []*pending) []*pending {
	for len(batch) < r.opts.BatchSize {
		select {
		case p := <-r.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// linger waits up to Linger for the batch to fill.
func (r *Recorder) linger(batch []*pending) []*pending {
	if r.opts.Linger <= 0 || len(batch) >= r.opts.BatchSize {
		return batch
	}
	for _, p := range batch {
		if p.flush {
			return batch // someone waits to read: write now
		}
	}
	t := time.NewTimer(r.opts.Linger)
	defer t.Stop()
	for len(batch) < r.opts.BatchSize {
		select {
		case p := <-r.queue:
			batch = append(batch, p)
			if p.flush {
				return batch // someone waits to read: write now
			}
		case <-t.C:
			return batch
		case <-r.stop:
			return batch
		}
	}
	return batch
}

func (r *Recorder) write(batch []*pending) {
	var flushes []*pending
	defer func() {
		for _, p := range flushes {
			p.done <- nil
		}
	}()
	live := batch[:0]
	for _, p := range batch {
		if p.flush {
			flushes = append(flushes, p)
			continue
		}
		if p.done != nil && !p.state.CompareAndSwap(queued, writing) {
			continue // its request gave up and was refused
		}
		if p.ev.Details == nil {
			d, err := json.Marshal(p.ev.detail)
			if err != nil {
				r.fail(p, fmt.Errorf("audit: encode %s event: %w", p.ev.Kind, err))
				continue
			}
			p.ev.Details = d
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := &r.lines
	err := r.opts.Store.AppendAuditEvents(ctx, func(head lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		lines.Reset()
		recs := r.recs[:0]
		seq, prev := head.Seq, head.Hash
		for _, p := range live {
			seq++
			link(&p.ev, seq, prev)
			prev = p.ev.Hash
			rec := p.ev.record()
			recs = append(recs, rec)
			if r.opts.Sink != nil {
				lines.Write(auditline.Append(lines.AvailableBuffer(), rec))
			}
		}
		if r.opts.Sink != nil {
			if _, err := r.opts.Sink.Write(lines.Bytes()); err != nil {
				return nil, fmt.Errorf("audit sink: %w", err)
			}
		}
		r.recs = recs
		return recs, nil
	})
	if err != nil {
		r.failures.Add(1)
		// The next request is let through to try again only after probeInterval.
		r.lastProbe.Store(time.Now().UnixNano())
		r.healthy.Store(false)
		r.logf("could not write audit events; they are lost", "events", len(live), "policy", string(r.opts.Policy), "err", err)
		for _, p := range live {
			r.fail(p, err)
		}
		return
	}
	r.healthy.Store(true)
	r.written.Add(uint64(len(live)))
	for _, p := range live {
		if p.done != nil {
			p.done <- nil
		}
	}
}

func (r *Recorder) fail(p *pending, cause error) {
	r.dropped.Add(1)
	if p.done != nil {
		p.done <- &lanyard.Error{Kind: ErrUnavailable.Kind, Code: ErrUnavailable.Code, Message: ErrUnavailable.Message, Err: cause}
	}
}

func (r *Recorder) drop(n int, why string) {
	r.dropped.Add(uint64(n))
	r.logf("audit events dropped", "events", n, "reason", why)
}

// logf logs a failure at most once every few seconds, saying how many were suppressed:
// a full queue under load would otherwise log once per request.
func (r *Recorder) logf(msg string, args ...any) {
	r.logMu.Lock()
	now := time.Now()
	if now.Sub(r.lastLog) < 5*time.Second {
		r.suppressed++
		r.logMu.Unlock()
		return
	}
	n := r.suppressed
	r.lastLog, r.suppressed = now, 0
	r.logMu.Unlock()
	if n > 0 {
		args = append(args, "suppressed_since_last", n)
	}
	r.opts.Logger.Error(msg, args...)
}

func (r *Recorder) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := r.opts.Store.PruneAuditEvents(ctx, r.opts.Now().Add(-r.opts.Retention))
	if err != nil {
		r.opts.Logger.Error("audit retention failed", "err", err)
		return
	}
	if n > 0 {
		r.opts.Logger.Info("audit retention deleted old events", "events", n, "retention", r.opts.Retention)
	}
}
