package sqlitequeue_test

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
)

// The benchmarks run 16 clients at once (RunParallel), each call durable before it
// returns, against the store and against the raw disk: the same bytes appended to one file
// with one fsync per group of concurrent appends (group commit, as the store's writer
// does). Both report msgs/s; docs/benchmarks.md records the ratio.
//
//	go test -run '^$' -bench 'Send|ReceiveComplete' -benchtime 3s -count 3 ./internal/messaging/sqlitequeue/
const (
	benchClients   = 16
	benchBatch     = 100
	benchMsgSize   = 1 << 10
	benchLockSlack = time.Hour // no lock expires during a run
)

var benchQueue = messaging.Queue{Namespace: "bench", Name: "q", LockDuration: benchLockSlack, MaxDeliveryCount: 10}

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

func openBenchStore(b *testing.B) *sqlitequeue.Store {
	s, err := sqlitequeue.Open(b.Context(), b.TempDir(), sqlitequeue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportMsgs(b *testing.B, msgs int, start time.Time) {
	b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSend: each operation is one client sending a batch of 100 messages of 1 KiB.
func BenchmarkSend(b *testing.B) {
	payload := benchPayload()
	b.Run("store", func(b *testing.B) {
		s := openBenchStore(b)
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
	b.Run("disk", func(b *testing.B) {
		g := openGroupFile(b)
		buf := make([]byte, 0, benchBatch*benchMsgSize)
		for range benchBatch {
			buf = append(buf, payload...)
		}
		benchParallelism(b)
		b.SetBytes(benchBatch * benchMsgSize)
		start := time.Now()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := g.append(buf); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportMsgs(b, b.N*benchBatch, start)
	})
}

// BenchmarkReceiveComplete: each operation is one client peek-locking one message, then
// completing it: two durable changes. The disk's counterpart appends two small records
// (a lock, then a completion), each durable before the next.
func BenchmarkReceiveComplete(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		s := openBenchStore(b)
		payload := benchPayload()
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
	b.Run("disk", func(b *testing.B) {
		g := openGroupFile(b)
		lock, done := make([]byte, 48), make([]byte, 24) // token, sequence number, expiry; token
		benchParallelism(b)
		start := time.Now()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := g.append(lock); err != nil {
					b.Error(err)
					return
				}
				if err := g.append(done); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportMsgs(b, b.N, start)
	})
}

// groupFile is the baseline: appends to one file, each returning once fsynced, with one
// fsync for all the appends waiting at the time.
type groupFile struct {
	f       *os.File
	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	queued  uint64 // groups handed out; the current one is queued+1
	durable uint64
	syncing bool
	err     error
}

func openGroupFile(b *testing.B) *groupFile {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	g := &groupFile{f: f}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *groupFile) append(p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, p...)
	mine := g.queued + 1
	for g.durable < mine {
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing = true
		buf := g.pending
		g.pending = nil
		g.queued++
		g.mu.Unlock()
		_, err := g.f.Write(buf)
		if err == nil {
			err = g.f.Sync()
		}
		g.mu.Lock()
		g.syncing, g.durable, g.err = false, g.queued, err
		g.cond.Broadcast()
	}
	return g.err
}
