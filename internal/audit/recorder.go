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
	// Sink, when set, receives every event as a line of JSON once the store has committed
	// it, from the same batch, so that the two hold the same events in the same order.
	// Lines it fails to take are kept (up to maxSinkBacklog) and written before the next
	// batch's.
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
	// Retries bounds how many times a batch whose append (or sink write) failed is tried
	// again, with the same events, before its events are dropped (best-effort) or refused
	// (fail-closed); 6 when zero, none when negative.
	Retries int
	// RetryBackoff is the wait before the first retry; it doubles with each, up to
	// maxRetryBackoff. 100ms when zero.
	RetryBackoff time.Duration
	// PruneInterval is how often retention runs; an hour when zero.
	PruneInterval time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Stats are the Recorder's counters, for metrics.
type Stats struct {
	Queued   int    // events waiting
	Written  uint64 // events written
	Dropped  uint64 // events in no trail: queue full, write failed after retries (best-effort) or refused (fail-closed)
	Failures uint64 // batches that could not be written, after retries, to the store or the sink
	Retries  uint64 // attempts made again after a failed append or sink write
	// SinkDropped counts events in the store whose lines the sink never took: its backlog
	// outgrew maxSinkBacklog.
	SinkDropped uint64
	Healthy     bool // the last write succeeded
}

// Recorder queues events and writes them in batches on its own goroutine. It is safe for
// concurrent use.
type Recorder struct {
	opts   Options
	queue  chan *pending
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool

	written, dropped, failures, retries, sinkDropped atomic.Uint64
	healthy                                          atomic.Bool
	lastProbe                                        atomic.Int64 // unix nanos of the last request let through while unhealthy

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int

	// lines and recs hold a batch's sink lines and records; the writer goroutine reuses
	// them, so that a busy server does not allocate (and fault in) a fresh half-megabyte
	// buffer per batch. lines starts with the committed lines the sink has not taken yet.
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
	if opts.Retries == 0 {
		opts.Retries = 6
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 100 * time.Millisecond
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
		Failures: r.failures.Load(), Retries: r.retries.Load(), SinkDropped: r.sinkDropped.Load(), Healthy: r.healthy.Load()}
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
	if e.traceID == "" {
		e.traceID = reqctx.TraceID(ctx)
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
					break
				}
				r.write(batch)
			}
			if r.lines.Len() > 0 {
				r.logf("the audit sink's last lines could not be written", "events", bytes.Count(r.lines.Bytes(), []byte("\n")))
			}
			return
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
			p.ev.Details = withTraceID(d, p.ev.traceID)
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var err error
	if r.opts.Policy == FailClosed && r.lines.Len() > 0 {
		// The sink still owes lines: under fail-closed the store takes no more events
		// until it has them, so that while the sink is down requests are refused without
		// being recorded (only the batch that found it down is in the store).
		err = r.writeSink(ctx)
	}
	if err == nil {
		err = r.append(ctx, live)
	}
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
	r.written.Add(uint64(len(live)))
	// The events are in the store: the sink gets the same lines, after any it still owes.
	if err := r.writeSink(ctx); err != nil {
		r.failures.Add(1)
		r.lastProbe.Store(time.Now().UnixNano())
		r.healthy.Store(false)
		r.logf("could not write audit events to the sink; they are in the store, and their lines are kept for the next batch",
			"events", len(live), "policy", string(r.opts.Policy), "err", err)
		for _, p := range live {
			// Recorded, but not everywhere the policy asks for: the request is refused.
			if p.done != nil {
				p.done <- unavailable(err)
			}
		}
		return
	}
	r.healthy.Store(true)
	for _, p := range live {
		if p.done != nil {
			p.done <- nil
		}
	}
}

// batchTimeout bounds the writing of one batch, retries included.
const batchTimeout = 30 * time.Second

// maxRetryBackoff caps the wait between retries.
const maxRetryBackoff = 2 * time.Second

// maxSinkBacklog bounds the lines kept for a sink that fails; beyond it they are dropped
// and counted.
const maxSinkBacklog = 16 << 20

// append writes live to the store as one batch, numbered from the head the store holds
// when it commits, and leaves their lines at the end of r.lines. A failed append is
// retried with the same events, renumbered from the head then: the store assigns no
// number until it commits, so none is ever used twice. An append whose outcome is
// unknown (the connection broke during the commit) is looked up before it is tried again,
// so that it is not written twice.
func (r *Recorder) append(ctx context.Context, live []*pending) error {
	lines := &r.lines
	backlog := lines.Len() // lines before this are owed to the sink by earlier batches
	lastID := live[len(live)-1].ev.ID
	built := false // fn ran: the append may have committed even if it reported an error
	var err error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if !r.backoff(ctx, attempt) {
				break
			}
			r.retries.Add(1)
			if built {
				_, gerr := r.opts.Store.GetAuditEvent(ctx, lastID)
				if gerr == nil {
					return nil // it did commit, with the numbers and lines fn made last
				}
				if lanyard.KindOf(gerr) != lanyard.KindNotFound {
					err = fmt.Errorf("%w (and whether it was written cannot be told: %w)", err, gerr)
					if attempt >= r.opts.Retries {
						break
					}
					continue
				}
				built = false
			}
		}
		err = r.opts.Store.AppendAuditEvents(ctx, func(head lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
			built = true
			lines.Truncate(backlog)
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
			r.recs = recs
			return recs, nil
		})
		if err == nil {
			return nil
		}
		// Invalid is a bug in the batch, not a passing failure: trying again cannot help.
		if lanyard.KindOf(err) == lanyard.KindInvalid || attempt >= r.opts.Retries {
			break
		}
	}
	if built {
		// The last attempt may have committed all the same.
		if _, gerr := r.opts.Store.GetAuditEvent(ctx, lastID); gerr == nil {
			return nil
		}
	}
	lines.Truncate(backlog)
	return err
}

// writeSink writes the lines owed to the sink, retrying; it keeps what the sink did not
// take, up to maxSinkBacklog.
func (r *Recorder) writeSink(ctx context.Context) error {
	if r.opts.Sink == nil || r.lines.Len() == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.retries.Add(1)
		}
		n, err := r.opts.Sink.Write(r.lines.Bytes())
		r.lines.Next(n) // a writer that took part keeps it: write the rest only
		if err == nil {
			r.lines.Reset()
			return nil
		}
		if attempt >= r.opts.Retries || !r.backoff(ctx, attempt+1) {
			if r.lines.Len() > maxSinkBacklog {
				n := bytes.Count(r.lines.Bytes(), []byte("\n"))
				r.sinkDropped.Add(uint64(n))
				r.lines.Reset()
				r.opts.Logger.Error("audit sink lines dropped: the sink has failed for too long; the events are in the store",
					"events", n)
			}
			return fmt.Errorf("audit sink: %w", err)
		}
	}
}

// backoff waits before retry number attempt (from 1), and reports false when ctx ends
// first.
func (r *Recorder) backoff(ctx context.Context, attempt int) bool {
	d := r.opts.RetryBackoff << (attempt - 1)
	if d > maxRetryBackoff || d <= 0 {
		d = maxRetryBackoff
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func unavailable(cause error) error {
	return &lanyard.Error{Kind: ErrUnavailable.Kind, Code: ErrUnavailable.Code, Message: ErrUnavailable.Message, Err: cause}
}

func (r *Recorder) fail(p *pending, cause error) {
	r.dropped.Add(1)
	if p.done != nil {
		p.done <- unavailable(cause)
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

// withTraceID adds "traceId" to the details object d. The id is hex, as
// reqctx.ParseTraceparent admits it, so it needs no escaping.
func withTraceID(d []byte, traceID string) []byte {
	if traceID == "" || len(d) < 2 || d[0] != '{' {
		return d
	}
	out := make([]byte, 0, len(d)+len(traceID)+14)
	out = append(out, `{"traceId":"`...)
	out = append(out, traceID...)
	out = append(out, '"')
	if len(d) > 2 {
		out = append(out, ',')
	}
	return append(out, d[1:]...)
}
