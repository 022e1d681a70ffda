package pgqueue_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/pgqueue"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
)

// sqlitequeue's benchmarks, run against pgqueue and, as the baseline of the same run,
// against sqlitequeue: 16 clients at once (RunParallel), each call durable before it
// returns. Both report msgs/s; docs/benchmarks.md records the ratio.
//
//	LANYARD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench 'Send|ReceiveComplete' -benchtime 3s -count 3 ./internal/messaging/pgqueue/
const (
	benchClients   = 16
	benchBatch     = 100
	benchMsgSize   = 1 << 10
	benchLockSlack = time.Hour // no lock expires during a run
)

var benchQueue = messaging.Queue{Namespace: "bench", Name: "q", LockDuration: benchLockSlack, MaxDeliveryCount: 10}

// benchStores are the stores compared: pgqueue in a schema of its own, sqlitequeue in a
// directory of its own.
var benchStores = []struct {
	name string
	open func(b *testing.B) messaging.Store
}{
	{"pgqueue", func(b *testing.B) messaging.Store {
		s, err := pgqueue.Open(b.Context(), sqltest.PostgresDSN(b), pgqueue.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
	{"sqlitequeue", func(b *testing.B) messaging.Store {
		s, err := sqlitequeue.Open(b.Context(), b.TempDir(), sqlitequeue.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
}

func benchParallelism(b *testing.B) {
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
}

func benchPayload() []byte {
	p := make([]byte, benchMsgSize)
	for i := range p {
		p[i] = byte(i*31 + 7)
	}
	return p
}

func reportMsgs(b *testing.B, msgs int, start time.Time) {
	b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSend: each operation is one client sending a batch of 100 messages of 1 KiB.
func BenchmarkSend(b *testing.B) {
	sqltest.PostgresDSN(b) // skip without a database
	payload := benchPayload()
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			batch := make([]messaging.Message, benchBatch)
			for i := range batch {
				batch[i] = messaging.Message{Raw: payload, MessageID: "m"}
			}
			benchParallelism(b)
			b.SetBytes(benchBatch * benchMsgSize)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Send(b.Context(), benchQueue, batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportMsgs(b, b.N*benchBatch, start)
		})
	}
}

// BenchmarkReceiveComplete: each operation is one client peek-locking one message, then
// completing it: two durable changes.
func BenchmarkReceiveComplete(b *testing.B) {
	sqltest.PostgresDSN(b)
	payload := benchPayload()
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			batch := make([]messaging.Message, 0, 500)
			for left := b.N; left > 0; left -= len(batch) {
				batch = batch[:0]
				for range min(left, cap(batch)) {
					batch = append(batch, messaging.Message{Raw: payload, MessageID: "m"})
				}
				if _, err := s.Send(b.Context(), benchQueue, batch); err != nil {
					b.Fatal(err)
				}
			}
			benchParallelism(b)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					got, err := s.Receive(b.Context(), benchQueue, messaging.Active, messaging.PeekLock, 1)
					if err != nil || len(got) != 1 {
						b.Errorf("receive: %d messages, %v", len(got), err)
						return
					}
					if err := s.Complete(b.Context(), benchQueue, messaging.Active, got[0].LockToken); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportMsgs(b, b.N, start)
		})
	}
}
