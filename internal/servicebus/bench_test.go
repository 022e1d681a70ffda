package servicebus

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// BenchmarkReceiveComplete is bench/servicebus.sh's settling half in one process, for
// profiles: b.N messages of 1 KiB queued first, then 16 azservicebus receivers, each on a
// connection of its own, taking up to 100 at a time in PeekLock and completing each one
// after the other. Client and broker share the process, so a profile shows both.
//
//	go test -run '^$' -bench ReceiveComplete -benchtime 20000x -cpuprofile /tmp/sb.prof ./internal/servicebus/
func BenchmarkReceiveComplete(b *testing.B) {
	const receivers, batch = 16, 100
	var ts *timedStore
	br := newBroker(b, func(c *Config) { ts = &timedStore{Store: c.Store}; c.Store = ts })
	q := lanyard.NewServiceBusQueue("orders-ns", "bench")
	q.LockDuration = time.Minute // no lock expires during a run
	br.entities.mu.Lock()
	br.entities.queues["bench"] = q
	br.entities.mu.Unlock()
	br.auth.allow("app", actionSend)
	br.auth.allow("app", actionReceive)

	sender, err := br.client(b, "app").NewSender("bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	for left := b.N; left > 0; left -= batch {
		mb, err := sender.NewMessageBatch(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		for range min(left, batch) {
			if err := mb.AddMessage(&azservicebus.Message{Body: body}, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := sender.SendMessageBatch(b.Context(), mb, nil); err != nil {
			b.Fatal(err)
		}
	}

	rs := make([]*azservicebus.Receiver, receivers)
	for i := range rs {
		if rs[i], err = br.client(b, "app").NewReceiverForQueue("bench", nil); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	var done, clientNs atomic.Int64
	var wg sync.WaitGroup
	cpu0 := cpuTime(b)
	start := time.Now()
	b.ResetTimer()
	for _, r := range rs {
		wg.Go(func() {
			for done.Load() < int64(b.N) {
				msgs, err := r.ReceiveMessages(ctx, batch, nil)
				if err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				for _, m := range msgs {
					t0 := time.Now()
					err := r.CompleteMessage(ctx, m, nil)
					clientNs.Add(int64(time.Since(t0)))
					if err != nil {
						b.Error(err)
						return
					}
					if done.Add(1) == int64(b.N) {
						cancel() // the others wait in ReceiveMessages
					}
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// On a shared machine the rate follows the load; the process's CPU time per message
	// (client and broker together) does much less.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	// A CompleteMessage as the client waits for it, and the store's part of that.
	b.ReportMetric(float64(clientNs.Load())/float64(b.N)/1e3, "complete-µs")
	b.ReportMetric(float64(ts.ns.Load())/float64(max(ts.n.Load(), 1))/1e3, "store-complete-µs")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timedStore times the store's Complete.
type timedStore struct {
	messaging.Store
	ns, n atomic.Int64
}

func (t *timedStore) Complete(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, tok messaging.LockToken) error {
	t0 := time.Now()
	err := t.Store.Complete(ctx, q, sub, tok)
	t.ns.Add(int64(time.Since(t0)))
	t.n.Add(1)
	return err
}
