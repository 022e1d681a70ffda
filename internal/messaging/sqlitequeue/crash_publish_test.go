package sqlitequeue_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/crashtest"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
)

// The fan-out crash test: workers publish to a topic with two subscriptions (every
// message to a, odd ones to b too, some of those to b's dead-letter queue) until SIGKILL. After each kill, every acknowledged
// publication is in each of its subscriptions under its number, and no publication is in
// one of its subscriptions without the other (all or none, acknowledged or not).
// Worker lines: "P seq id" a publication acknowledged.

var (
	crashTopic = messaging.Queue{Namespace: "ns", Name: "t"}
	crashSubA  = messaging.Queue{Namespace: "ns", Name: "t/Subscriptions/a", LockDuration: time.Second, MaxDeliveryCount: 4}
	crashSubB  = messaging.Queue{Namespace: "ns", Name: "t/Subscriptions/b", LockDuration: time.Second, MaxDeliveryCount: 4}
)

func TestCrashPublish(t *testing.T) {
	crashtest.Worker("TestCrashPublish", publishWorker)
	acked := map[string]int64{}
	crashtest.Rounds(t, "TestCrashPublish", 4, 200*time.Millisecond, time.Second, func(dir string, lines []string) string {
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) != 3 || f[0] != "P" {
				t.Fatalf("unexpected line %q", line)
			}
			seq, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked[f[2]] = seq
		}
		verifyPublished(t, dir, acked)
		return fmt.Sprintf("%d publications acknowledged so far", len(acked))
	})
	if len(acked) == 0 {
		t.Fatal("no publication was acknowledged: the test checked nothing")
	}
}

// toB says whether publication id also went to subscription b.
func toB(id string) bool { return id[len(id)-1]%2 == 1 }

// deadInB says whether publication id's copy for b went to b's dead-letter queue.
func deadInB(id string) bool { return id[len(id)-1]%4 == 3 }

func verifyPublished(t *testing.T, dir string, acked map[string]int64) {
	t.Helper()
	s, err := sqlitequeue.Open(t.Context(), dir, sqlitequeue.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := map[string]map[string]int64{}
	for _, q := range []messaging.Queue{crashSubA, crashSubB} {
		held[q.Name] = map[string]int64{}
		for _, sub := range []messaging.SubQueue{messaging.Active, messaging.DeadLetter} {
			ms, err := s.Peek(t.Context(), q, sub, 1, 1_000_000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if !bytes.Equal(m.Raw, crashPayload(m.MessageID+q.Name)) {
					t.Errorf("%s in %s: not the copy published", m.MessageID, q.Name)
				}
				if dead := q == crashSubB && deadInB(m.MessageID); dead != (sub == messaging.DeadLetter) || dead != (m.DeadLetterReason == "dead") {
					t.Errorf("%s in %s's sub-queue %d, reason %q", m.MessageID, q.Name, sub, m.DeadLetterReason)
				}
				held[q.Name][m.MessageID] = m.SequenceNumber
			}
		}
	}
	a, b := held[crashSubA.Name], held[crashSubB.Name]
	for id, seq := range acked {
		if a[id] != seq || toB(id) && b[id] != seq {
			t.Errorf("publication %s (number %d) acknowledged: in a as %d, in b as %d", id, seq, a[id], b[id])
		}
	}
	for id, seq := range a {
		if toB(id) && b[id] != seq {
			t.Errorf("publication %s is in a (number %d) but not in b: not all or none", id, seq)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			t.Errorf("publication %s is in b but not in a: not all or none", id)
		}
	}
}

func publishWorker(dir string, seed uint64) error {
	ctx := context.Background()
	s, err := sqlitequeue.Open(ctx, dir, sqlitequeue.Options{})
	if err != nil {
		return err
	}
	var out sync.Mutex
	fmt.Println("READY")
	errs := make(chan error, 1)
	for g := range 3 {
		go func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for n := 0; ; {
				pubs := make([]messaging.Publication, 1+rng.IntN(8))
				for i := range pubs {
					n++
					id := fmt.Sprintf("r%d-g%d-%d", seed, g, n)
					pubs[i] = messaging.Publication{MessageID: id}
					for _, q := range []messaging.Queue{crashSubA, crashSubB} {
						if q == crashSubB && !toB(id) {
							continue
						}
						c := messaging.Copy{Queue: q, Message: messaging.Message{Raw: crashPayload(id + q.Name), MessageID: id}}
						if q == crashSubB && deadInB(id) {
							c.DeadLetterReason = "dead"
						}
						pubs[i].Copies = append(pubs[i].Copies, c)
					}
				}
				seqs, err := s.Publish(ctx, crashTopic, pubs)
				if err != nil {
					errs <- err
					return
				}
				var lines []byte
				for i, p := range pubs {
					lines = fmt.Appendf(lines, "P %d %s\n", seqs[i], p.MessageID)
				}
				out.Lock()
				os.Stdout.Write(lines) // whole lines, one write
				out.Unlock()
			}
		}()
	}
	return <-errs
}
