// Package messagingtest is the conformance suite of messaging.Store: every backend runs
// it, so that the AMQP surface can rely on the contract's doc comments and nothing else.
package messagingtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Open returns a new, empty store that reads the time from clock.Now. It registers the
// store's Close with t.Cleanup.
type Open func(t *testing.T, clock *Clock) messaging.Store

// Run runs the suite against the stores open makes, one fresh store per subtest.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e env)
	}{
		{"SequenceNumbers", testSequenceNumbers},
		{"SendRoundTrip", testSendRoundTrip},
		{"SendAllOrNone", testSendAllOrNone},
		{"PeekLock", testPeekLock},
		{"LockBoundary", testLockBoundary},
		{"ReceiveOrderAndMax", testReceiveOrderAndMax},
		{"ReceiveAndDelete", testReceiveAndDelete},
		{"Complete", testComplete},
		{"Abandon", testAbandon},
		{"Release", testRelease},
		{"AbandonReplacesRaw", testAbandonReplacesRaw},
		{"MaxDeliveryCountOnAbandon", testMaxDeliveryOnAbandon},
		{"MaxDeliveryCountOnLockExpiry", testMaxDeliveryOnLockExpiry},
		{"TTLDropped", testTTLDropped},
		{"TTLDeadLettered", testTTLDeadLettered},
		{"DeadLetter", testDeadLetter},
		{"DeadLetterQueueSettlement", testDeadLetterQueueSettlement},
		{"RenewLock", testRenewLock},
		{"RenewLockAllOrNone", testRenewLockAllOrNone},
		{"Peek", testPeek},
		{"Counts", testCounts},
		{"DeleteQueue", testDeleteQueue},
		{"DeleteNamespace", testDeleteNamespace},
		{"QueuesIsolated", testQueuesIsolated},
		{"Scheduled", testScheduled},
		{"ScheduledNow", testScheduledNow},
		{"ScheduledExpiry", testScheduledExpiry},
		{"CancelScheduled", testCancelScheduled},
		{"Defer", testDefer},
		{"DeferredSettlement", testDeferredSettlement},
		{"ReceiveDeferred", testReceiveDeferred},
		{"DuplicateDetection", testDuplicateDetection},
		{"Arrivals", testArrivals},
		{"ConcurrentReceivers", testConcurrentReceivers},
		{"ConcurrentSenders", testConcurrentSenders},
		{"Invalid", testInvalid},
		{"ContextCancelled", testContextCancelled},
		{"Ready", testReady},
	}
	tests = append(tests, publishTests...)
	tests = append(tests, sessionRules()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock()
			s := open(t, clock)
			tc.fn(t, env{s: s, clock: clock, ctx: t.Context()})
		})
	}
}

// env is what a subtest works with.
type env struct {
	s     messaging.Store
	clock *Clock
	ctx   context.Context
}

const lockDuration = 30 * time.Second

// queue is a queue of the test namespace with room for many deliveries.
func queue(name string) messaging.Queue {
	return messaging.Queue{Namespace: "ns1", Name: name, LockDuration: lockDuration, MaxDeliveryCount: 10}
}

func msg(raw string) messaging.Message {
	return messaging.Message{Raw: []byte(raw), MessageID: "id-" + raw}
}

func (e env) send(t *testing.T, q messaging.Queue, raws ...string) []int64 {
	t.Helper()
	msgs := make([]messaging.Message, len(raws))
	for i, r := range raws {
		msgs[i] = msg(r)
	}
	seqs, err := e.s.Send(e.ctx, q, msgs)
	if err != nil {
		t.Fatalf("Send(%s): %v", q.Name, err)
	}
	if len(seqs) != len(raws) {
		t.Fatalf("Send(%s) returned %d sequence numbers for %d messages", q.Name, len(seqs), len(raws))
	}
	return seqs
}

func (e env) receive(t *testing.T, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, max int) []messaging.Stored {
	t.Helper()
	got, err := e.s.Receive(e.ctx, q, sub, mode, max)
	if err != nil {
		t.Fatalf("Receive(%s, %d): %v", q.Name, sub, err)
	}
	if len(got) > max {
		t.Fatalf("Receive(%s, max %d) returned %d messages", q.Name, max, len(got))
	}
	return got
}

// lock peek-locks the one message the test expects to be available.
func (e env) lock(t *testing.T, q messaging.Queue, sub messaging.SubQueue) messaging.Stored {
	t.Helper()
	got := e.receive(t, q, sub, messaging.PeekLock, 1)
	if len(got) != 1 {
		t.Fatalf("Receive(%s, %d): got %d messages, want 1", q.Name, sub, len(got))
	}
	return got[0]
}

// expectNone checks that nothing is available in q's sub-queue.
func (e env) expectNone(t *testing.T, q messaging.Queue, sub messaging.SubQueue) {
	t.Helper()
	if got := e.receive(t, q, sub, messaging.PeekLock, 10); len(got) != 0 {
		t.Fatalf("Receive(%s, %d): got sequence numbers %v, want none", q.Name, sub, seqsOf(got))
	}
}

func (e env) counts(t *testing.T, q messaging.Queue) messaging.Counts {
	t.Helper()
	c, err := e.s.Counts(e.ctx, q)
	if err != nil {
		t.Fatalf("Counts(%s): %v", q.Name, err)
	}
	return c
}

func (e env) expectCounts(t *testing.T, q messaging.Queue, active, deadLetter int64) {
	t.Helper()
	if c := e.counts(t, q); c.Active != active || c.DeadLetter != deadLetter {
		t.Fatalf("Counts(%s) = %+v, want active %d, dead-letter %d", q.Name, c, active, deadLetter)
	}
}

func seqsOf(ms []messaging.Stored) []int64 {
	seqs := make([]int64, len(ms))
	for i, m := range ms {
		seqs[i] = m.SequenceNumber
	}
	return seqs
}

func expectErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func expectSeqs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: sequence numbers %v, want %v", what, got, want)
	}
}

func expectTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func raws(prefix string, n int) []string {
	r := make([]string, n)
	for i := range r {
		r[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return r
}
