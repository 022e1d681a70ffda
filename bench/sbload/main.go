// Command sbload drives one queue with 1 KiB messages and prints what it measured as JSON:
// against a Lanyard Service Bus namespace through the unmodified azservicebus (managed
// identity, run under `lanyard app run`), or against RabbitMQ through amqp091-go (durable
// queue, persistent messages, publisher confirms, manual acks). bench/servicebus.sh runs
// both one after the other on the same machine, with the same concurrency:
//
//   - throughput: -senders senders each sending batches of -batch messages and waiting for
//     the broker's acknowledgement of each batch, and -receivers receivers settling every
//     message one by one (PeekLock + CompleteMessage; prefetch + per-message ack), until
//     -messages have been received and settled;
//   - half load: the senders paced to half the throughput measured, for -half, each
//     batch's send timed (receivers keep draining);
//   - memory: -queued more messages of -queued-size bytes sent with no receiver, the
//     broker process's RSS (-pid) read before and after.
//
// With -subs N, -queue names a topic instead: a Lanyard topic with subscriptions s0 to
// sN-1 (each with a SQL filter every message passes), or a RabbitMQ topic exchange with N
// durable queues bound to it; receivers are spread over them, and the figures count
// deliveries: each message sent is received and settled N times.
// With -sessions N (Lanyard, a session-enabled queue), each sent batch goes to one of N
// sessions in turn, and each receiver accepts the next available session, settles its
// messages until it has none for a moment, closes it and accepts the next.
//
// Usage:
//
//	sbload -target lanyard -ns localhost:PORT -queue q1 -pid PID   (under `lanyard app run`)
//	sbload -target lanyard -ns localhost:PORT,127.0.0.2:PORT -queue q1 -half 0 -queued 0   (two nodes)
//	sbload -target rabbitmq -url amqp://guest:guest@127.0.0.1:5672/ -queue q1 -pid PID
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// broker is one side of the comparison: a way to make senders and receivers on one queue.
type broker interface {
	// sender returns a function that sends one batch of bodies and returns once the
	// broker has acknowledged every message of it.
	sender(ctx context.Context) (send func(ctx context.Context, bodies [][]byte) error, closeFn func(), err error)
	// receive runs one receiver: it settles each message it gets and calls got for it,
	// until ctx ends.
	receive(ctx context.Context, got func()) error
	// close ends the connections and removes what the run left in the broker.
	close()
}

type options struct {
	target, ns, url, queue string
	senders, receivers     int
	batch, size            int
	messages               int
	half                   time.Duration
	queued, queuedSize     int
	pid                    int
	prefetch               int
	settle                 string
	subs                   int
	sessions               int
}

// fanout is how many deliveries each message sent makes.
func (o options) fanout() int { return max(1, o.subs) }

func main() {
	var o options
	flag.StringVar(&o.target, "target", "lanyard", "lanyard or rabbitmq")
	flag.StringVar(&o.ns, "ns", "", "Lanyard: the namespace's fully qualified name, localhost:PORT; several, comma-separated (the namespace on several nodes), spread senders and receivers over them")
	flag.StringVar(&o.url, "url", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ: the broker's URL")
	flag.StringVar(&o.queue, "queue", "q1", "the queue")
	flag.IntVar(&o.senders, "senders", 16, "concurrent senders")
	flag.IntVar(&o.receivers, "receivers", 16, "concurrent receivers")
	flag.IntVar(&o.batch, "batch", 100, "messages per sent batch")
	flag.IntVar(&o.size, "size", 1024, "message body bytes")
	flag.IntVar(&o.messages, "messages", 100000, "messages through the queue in the throughput phase")
	flag.DurationVar(&o.half, "half", 10*time.Second, "length of the half-load phase (0: skip)")
	flag.IntVar(&o.queued, "queued", 200000, "messages left queued for the memory phase (0: skip)")
	flag.IntVar(&o.queuedSize, "queued-size", 1024, "body bytes of the messages left queued")
	flag.IntVar(&o.pid, "pid", 0, "the broker's process, whose RSS the memory phase reads")
	flag.IntVar(&o.prefetch, "prefetch", 100, "messages a receiver asks for at once (ReceiveMessages max; RabbitMQ prefetch)")
	flag.StringVar(&o.settle, "settle", "serial", "Lanyard: serial (each receiver completes one message at a time) or concurrent (the messages of one ReceiveMessages together)")
	flag.IntVar(&o.subs, "subs", 0, "topic mode: the subscriptions (Lanyard) or bound queues (RabbitMQ) of the topic -queue")
	flag.IntVar(&o.sessions, "sessions", 0, "Lanyard: spread the batches over this many sessions, received by session receivers (0: no sessions)")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbload:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func run(o options) (map[string]float64, error) {
	ctx := context.Background()
	var (
		b   broker
		err error
	)
	switch o.target {
	case "lanyard":
		b, err = newServiceBus(ctx, o)
	case "rabbitmq":
		b, err = newRabbit(ctx, o)
	default:
		err = fmt.Errorf("unknown target %q", o.target)
	}
	if err != nil {
		return nil, err
	}
	defer b.close()
	res := map[string]float64{}

	tp, err := throughput(ctx, b, o)
	if err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	res["msgs_per_s"], res["sent_per_s"] = tp.delivered, tp.sent
	res["send_p50_ms_full"], res["send_p99_ms_full"] = ms(tp.p(50)), ms(tp.p(99))

	if o.half > 0 {
		h, err := halfLoad(ctx, b, o, tp.delivered/2)
		if err != nil {
			return nil, fmt.Errorf("half load: %w", err)
		}
		res["half_offered_per_s"], res["half_sent_per_s"] = tp.delivered/2, h.sent
		res["half_send_p50_ms"], res["half_send_p99_ms"] = ms(h.p(50)), ms(h.p(99))
	}

	if o.queued > 0 && o.pid > 0 {
		before, after, secs, err := memory(ctx, b, o)
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		res["rss_before_mib"], res["rss_after_mib"] = before/(1<<20), after/(1<<20)
		res["rss_mib_per_million"] = (after - before) / (1 << 20) * 1e6 / float64(o.queued)
		res["queue_fill_per_s"] = float64(o.queued) / secs
	}
	return res, nil
}

type phase struct {
	delivered, sent float64
	latencies       []time.Duration
}

func (p phase) p(q int) time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	return p.latencies[(len(p.latencies)-1)*q/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func bodies(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte('a' + (i+j)%26)
		}
		out[i] = b
	}
	return out
}

// throughput sends o.messages in batches and times until every one is received and
// settled.
func throughput(ctx context.Context, b broker, o options) (phase, error) {
	batches := o.messages / o.batch
	return flow(ctx, b, o, batches*o.batch*o.fanout(), func(int) (bool, time.Time) { return true, time.Now() }, batches)
}

// halfLoad paces the senders, together, to rate messages per second for o.half.
func halfLoad(ctx context.Context, b broker, o options, rate float64) (phase, error) {
	interval := time.Duration(float64(time.Second) * float64(o.batch) / rate)
	batches := int(o.half / interval)
	start := time.Now().Add(50 * time.Millisecond)
	// Batch i is due at start + i×interval; a sender that falls behind sends at once,
	// and its latency is still measured from the send, not from the due time.
	due := func(i int) (bool, time.Time) {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		return true, time.Now()
	}
	return flow(ctx, b, o, batches*o.batch*o.fanout(), due, batches)
}

// flow runs the senders over batches batches (each asking due when to go) and the
// receivers until want messages are settled.
func flow(ctx context.Context, b broker, o options, want int, due func(i int) (bool, time.Time), batches int) (phase, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	payload := bodies(o.batch, o.size)

	var settled atomic.Int64
	done := make(chan struct{})
	var recvWG sync.WaitGroup
	for range o.receivers {
		recvWG.Go(func() {
			err := b.receive(ctx, func() {
				if settled.Add(1) == int64(want) {
					close(done)
				}
			})
			if err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("receiver: %w", err))
			}
		})
	}

	var (
		next    atomic.Int64
		mu      sync.Mutex
		lats    []time.Duration
		sendErr error
		sendWG  sync.WaitGroup
	)
	sendFns := make([]func(context.Context, [][]byte) error, o.senders)
	for i := range o.senders {
		send, closeFn, err := b.sender(ctx)
		if err != nil {
			cancel(err)
			recvWG.Wait()
			return phase{}, err
		}
		defer closeFn()
		sendFns[i] = send
	}
	start := time.Now()
	for _, send := range sendFns {
		sendWG.Go(func() {
			var mine []time.Duration
			for {
				i := int(next.Add(1)) - 1
				if i >= batches || ctx.Err() != nil {
					break
				}
				_, at := due(i)
				if err := send(ctx, payload); err != nil {
					mu.Lock()
					sendErr = errors.Join(sendErr, err)
					mu.Unlock()
					cancel(err)
					break
				}
				mine = append(mine, time.Since(at))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	sendWG.Wait()
	sentIn := time.Since(start)
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(2 * time.Minute):
		cancel(fmt.Errorf("%d of %d messages settled after 2 minutes", settled.Load(), want))
	}
	elapsed := time.Since(start)
	cause := context.Cause(ctx)
	cancel(nil)
	recvWG.Wait()
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return phase{}, cause
	}
	if sendErr != nil {
		return phase{}, sendErr
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	return phase{
		delivered: float64(want) / elapsed.Seconds(),
		sent:      float64(batches*o.batch) / sentIn.Seconds(),
		latencies: lats,
	}, nil
}

// memory leaves o.queued messages in the queue and reads the broker's RSS before and
// after (bytes), and how long the filling took.
func memory(ctx context.Context, b broker, o options) (before, after, secs float64, err error) {
	time.Sleep(2 * time.Second) // let the broker settle after the flows
	before, err = rss(o.pid)
	if err != nil {
		return 0, 0, 0, err
	}
	payload := bodies(o.batch, o.queuedSize)
	batches := o.queued / o.batch
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.senders)
	start := time.Now()
	for range o.senders {
		send, closeFn, err := b.sender(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		wg.Go(func() {
			defer closeFn()
			for int(next.Add(1)) <= batches {
				if err := send(ctx, payload); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	secs = time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(2 * time.Second)
	after, err = rss(o.pid)
	return before, after, secs, err
}

// rss reads a process's resident set size in bytes from /proc.
func rss(pid int) (float64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading the broker's RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("reading the broker's RSS: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}
