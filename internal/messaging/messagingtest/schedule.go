package messagingtest

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func (e env) sendMsgs(t *testing.T, q messaging.Queue, msgs ...messaging.Message) []int64 {
	t.Helper()
	seqs, err := e.s.Send(e.ctx, q, msgs)
	if err != nil {
		t.Fatalf("Send(%s): %v", q.Name, err)
	}
	if len(seqs) != len(msgs) {
		t.Fatalf("Send(%s) returned %d sequence numbers for %d messages", q.Name, len(seqs), len(msgs))
	}
	return seqs
}

func scheduled(raw string, at time.Time) messaging.Message {
	m := msg(raw)
	m.ScheduledAt = at
	return m
}

func (e env) expectScheduled(t *testing.T, q messaging.Queue, want int64) {
	t.Helper()
	if c := e.counts(t, q); c.Scheduled != want {
		t.Fatalf("Counts(%s).Scheduled = %d, want %d (%+v)", q.Name, c.Scheduled, want, c)
	}
}

// A message scheduled for later takes its sequence number at once, is counted as
// scheduled, peeked as such, and becomes available at its time, enqueued then.
func testScheduled(t *testing.T, e env) {
	q := queue("q1")
	at := e.clock.Now().Add(time.Minute)
	seqs := e.sendMsgs(t, q, scheduled("later", at), msg("now"))
	expectSeqs(t, "Send", seqs, []int64{1, 2})
	e.expectCounts(t, q, 1, 0)
	e.expectScheduled(t, q, 1)
	peek := e.peekAll(t, q, messaging.Active)
	if len(peek) != 2 || peek[0].State != messaging.StateScheduled || peek[1].State != messaging.StateActive {
		t.Fatalf("Peek: %+v", peek)
	}
	expectTime(t, "scheduled message's EnqueuedAt", peek[0].EnqueuedAt, at)

	expectSeqs(t, "before its time", seqsOf(e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)), []int64{2})
	e.clock.Advance(time.Minute - time.Millisecond)
	e.expectNone(t, q, messaging.Active)
	e.clock.Advance(time.Millisecond)
	m := e.lock(t, q, messaging.Active)
	if m.SequenceNumber != 1 || string(m.Raw) != "later" || m.State != messaging.StateActive || m.DeliveryCount != 1 {
		t.Fatalf("at its time: %+v", m)
	}
	expectTime(t, "EnqueuedAt", m.EnqueuedAt, at)
	e.expectScheduled(t, q, 0)
	e.expectCounts(t, q, 1, 0)
}

// A scheduled time that is not after now enqueues the message at once.
func testScheduledNow(t *testing.T, e env) {
	q := queue("q1")
	now := e.clock.Now()
	e.sendMsgs(t, q, scheduled("a", now), scheduled("b", now.Add(-time.Hour)))
	e.expectScheduled(t, q, 0)
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 10)
	expectSeqs(t, "receive", seqsOf(got), []int64{1, 2})
	expectTime(t, "EnqueuedAt", got[1].EnqueuedAt, now)
}

// A scheduled message's time to live runs from its enqueueing: it does not expire while
// scheduled.
func testScheduledExpiry(t *testing.T, e env) {
	q := queue("q1")
	at := e.clock.Now().Add(time.Hour)
	m := scheduled("a", at)
	m.ExpiresAt = at.Add(time.Minute)
	e.sendMsgs(t, q, m)
	e.clock.Advance(time.Hour)
	if got := e.lock(t, q, messaging.Active); got.SequenceNumber != 1 {
		t.Fatalf("got %+v", got)
	}
	e.clock.Advance(lockDuration + time.Minute)
	e.expectNone(t, q, messaging.Active)
	e.expectCounts(t, q, 0, 0)
}

// CancelScheduled removes scheduled messages and ignores numbers that name none.
func testCancelScheduled(t *testing.T, e env) {
	q := queue("q1")
	at := e.clock.Now().Add(time.Minute)
	seqs := e.sendMsgs(t, q, scheduled("a", at), scheduled("b", at), msg("c"))
	if err := e.s.CancelScheduled(e.ctx, q, []int64{seqs[0], 99}); err != nil {
		t.Fatalf("CancelScheduled: %v", err)
	}
	e.expectScheduled(t, q, 1)
	// Again (a client's retry), and an enqueued message's number: nothing changes.
	if err := e.s.CancelScheduled(e.ctx, q, []int64{seqs[0], seqs[2]}); err != nil {
		t.Fatalf("CancelScheduled again: %v", err)
	}
	if err := e.s.CancelScheduled(e.ctx, queue("q2"), []int64{seqs[1]}); err != nil {
		t.Fatalf("CancelScheduled in another queue: %v", err)
	}
	e.expectCounts(t, q, 1, 0)
	e.expectScheduled(t, q, 1)
	e.clock.Advance(time.Minute)
	expectSeqs(t, "what arrives", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{2, 3})
	expectErr(t, "CancelScheduled of nothing", e.s.CancelScheduled(e.ctx, q, nil), messaging.ErrInvalid)
}

// With duplicate detection on, a message id accepted within the window is accepted
// again but not stored; the window runs from its first acceptance.
func testDuplicateDetection(t *testing.T, e env) {
	q := queue("q1")
	q.DuplicateDetectionWindow = 10 * time.Minute
	withID := func(raw, id string) messaging.Message { return messaging.Message{Raw: []byte(raw), MessageID: id} }

	expectSeqs(t, "first send", e.sendMsgs(t, q, withID("a1", "a")), []int64{1})
	e.clock.Advance(5 * time.Minute)
	expectSeqs(t, "a duplicate and a new id", e.sendMsgs(t, q, withID("a2", "a"), withID("b1", "b")), []int64{0, 2})
	expectSeqs(t, "duplicates within one send", e.sendMsgs(t, q, withID("c1", "c"), withID("c2", "c")), []int64{3, 0})
	expectSeqs(t, "no message ids", e.sendMsgs(t, q, withID("x", ""), withID("y", "")), []int64{4, 5})
	e.expectCounts(t, q, 5, 0)
	// Another queue, or one without detection, keeps its own history.
	expectSeqs(t, "another queue", e.sendMsgs(t, queue("q2"), withID("a", "a"), withID("a", "a")), []int64{1, 2})
	other := queue("q3")
	other.DuplicateDetectionWindow = time.Minute
	expectSeqs(t, "another detecting queue", e.sendMsgs(t, other, withID("a", "a")), []int64{1})

	// Received and completed: still a duplicate within the window.
	for _, m := range e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10) {
		_ = m
	}
	e.clock.Advance(5*time.Minute - time.Millisecond) // a was first accepted 10min-1ms ago
	expectSeqs(t, "a at the window's end", e.sendMsgs(t, q, withID("a3", "a")), []int64{0})
	e.clock.Advance(time.Millisecond)
	expectSeqs(t, "a after the window", e.sendMsgs(t, q, withID("a4", "a")), []int64{6})
	expectSeqs(t, "b within its window", e.sendMsgs(t, q, withID("b2", "b")), []int64{0})
	got := e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)
	if len(got) != 1 || string(got[0].Raw) != "a4" {
		t.Fatalf("stored after the window: %+v", got)
	}

	// DeleteQueue forgets the ids.
	if err := e.s.DeleteQueue(e.ctx, q.Namespace, q.Name); err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "after DeleteQueue", e.sendMsgs(t, q, withID("b3", "b")), []int64{1})
}
