package messagingtest

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// expectDeadLettered checks that the dead-letter queue holds exactly seq, available, with
// reason, and returns it locked.
func (e env) expectDeadLettered(t *testing.T, q messaging.Queue, seq int64, reason string) messaging.Stored {
	t.Helper()
	got := e.receive(t, q, messaging.DeadLetter, messaging.PeekLock, 10)
	expectSeqs(t, "dead-letter queue", seqsOf(got), []int64{seq})
	m := got[0]
	if m.SubQueue != messaging.DeadLetter || m.DeadLetterReason != reason {
		t.Fatalf("dead-lettered message: SubQueue %d, reason %q; want %d, %q", m.SubQueue, m.DeadLetterReason, messaging.DeadLetter, reason)
	}
	return m
}

// A message abandoned after its MaxDeliveryCount-th delivery moves to the dead-letter
// queue.
func testMaxDeliveryOnAbandon(t *testing.T, e env) {
	q := queue("q1")
	q.MaxDeliveryCount = 3
	e.send(t, q, "a", "b")
	dlq := e.s.Arrivals(q, messaging.DeadLetter)
	for n := 1; n <= 3; n++ {
		m := e.lock(t, q, messaging.Active)
		if m.SequenceNumber != 1 || m.DeliveryCount != n {
			t.Fatalf("delivery %d: %+v", n, m)
		}
		select {
		case <-dlq:
			t.Fatalf("dead-letter arrival before delivery %d was abandoned", n)
		default:
		}
		if err := e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, nil); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-dlq:
	default:
		t.Fatal("dead-lettering on Abandon did not signal the dead-letter queue's arrivals")
	}
	expectSeqs(t, "active queue", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{2})
	e.expectCounts(t, q, 1, 1)
	m := e.expectDeadLettered(t, q, 1, messaging.ReasonMaxDeliveryCountExceeded)
	if m.DeliveryCount != 4 || string(m.Raw) != "a" {
		t.Fatalf("dead-lettered message: DeliveryCount %d (want 4: three deliveries, then this one), Raw %q", m.DeliveryCount, m.Raw)
	}
}

// A message whose lock expires after its MaxDeliveryCount-th delivery moves to the
// dead-letter queue when the next receive looks.
func testMaxDeliveryOnLockExpiry(t *testing.T, e env) {
	q := queue("q1")
	q.MaxDeliveryCount = 2
	e.send(t, q, "a")
	for n := 1; n <= 2; n++ {
		if m := e.lock(t, q, messaging.Active); m.DeliveryCount != n {
			t.Fatalf("delivery %d: DeliveryCount %d", n, m.DeliveryCount)
		}
		e.clock.Advance(lockDuration)
	}
	e.expectNone(t, q, messaging.Active)
	e.expectCounts(t, q, 0, 1)
	e.expectDeadLettered(t, q, 1, messaging.ReasonMaxDeliveryCountExceeded)
}

// An expired message is dropped, unless the queue dead-letters on expiration.
func testTTLDropped(t *testing.T, e env) {
	q := queue("q1")
	now := e.clock.Now()
	msgs := []messaging.Message{
		{Raw: []byte("short"), ExpiresAt: now.Add(10 * time.Second)},
		{Raw: []byte("forever")},
		{Raw: []byte("long"), ExpiresAt: now.Add(time.Hour)},
	}
	if _, err := e.s.Send(e.ctx, q, msgs); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10*time.Second - time.Millisecond)
	expectSeqs(t, "peek before expiry", seqsOf(e.peekAll(t, q, messaging.Active)), []int64{1, 2, 3})
	e.clock.Advance(time.Millisecond)
	expectSeqs(t, "receive at expiry", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{2, 3})
	e.expectCounts(t, q, 2, 0)
	e.expectNone(t, q, messaging.DeadLetter)
}

func testTTLDeadLettered(t *testing.T, e env) {
	q := queue("q1")
	q.DeadLetterOnExpiration = true
	now := e.clock.Now()
	msgs := []messaging.Message{
		{Raw: []byte("short"), MessageID: "s", ExpiresAt: now.Add(10 * time.Second)},
		{Raw: []byte("long"), ExpiresAt: now.Add(time.Hour)},
	}
	if _, err := e.s.Send(e.ctx, q, msgs); err != nil {
		t.Fatal(err)
	}
	dlq := e.s.Arrivals(q, messaging.DeadLetter)
	e.clock.Advance(time.Minute)
	expectSeqs(t, "receive after the first expired", seqsOf(e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)), []int64{2})
	select {
	case <-dlq:
	default:
		t.Fatal("dead-lettering on expiry did not signal the dead-letter queue's arrivals")
	}
	// In the dead-letter queue, a message does not expire.
	e.clock.Advance(24 * time.Hour)
	m := e.expectDeadLettered(t, q, 1, messaging.ReasonTTLExpired)
	if string(m.Raw) != "short" || m.MessageID != "s" || m.DeliveryCount != 1 {
		t.Fatalf("expired message in the dead-letter queue: %+v", m)
	}
	e.clock.Advance(lockDuration)
	m = e.expectDeadLettered(t, q, 1, messaging.ReasonTTLExpired)
	if m.DeliveryCount != 2 {
		t.Fatalf("second dead-letter delivery: DeliveryCount %d", m.DeliveryCount)
	}
}

// DeadLetter moves a locked active message to the dead-letter queue with the receiver's
// reason and description.
func testDeadLetter(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	dlq := e.s.Arrivals(q, messaging.DeadLetter)
	m := e.lock(t, q, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, q, m.LockToken, "BadInput", "field x is missing", []byte("a2")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dlq:
	default:
		t.Fatal("DeadLetter did not signal the dead-letter queue's arrivals")
	}
	expectErr(t, "DeadLetter twice", e.s.DeadLetter(e.ctx, q, m.LockToken, "r", "", nil), messaging.ErrLockLost)
	expectErr(t, "Complete after DeadLetter", e.s.Complete(e.ctx, q, messaging.Active, m.LockToken), messaging.ErrLockLost)
	expectErr(t, "Complete in the dead-letter queue with the active lock", e.s.Complete(e.ctx, q, messaging.DeadLetter, m.LockToken), messaging.ErrLockLost)
	e.expectCounts(t, q, 1, 1)
	d := e.expectDeadLettered(t, q, 1, "BadInput")
	if d.DeadLetterDescription != "field x is missing" || string(d.Raw) != "a2" || d.MessageID != "id-a" {
		t.Fatalf("dead-lettered: %+v", d)
	}

	b := e.lock(t, q, messaging.Active)
	e.clock.Advance(lockDuration)
	expectErr(t, "DeadLetter after the lock expired", e.s.DeadLetter(e.ctx, q, b.LockToken, "r", "", nil), messaging.ErrLockLost)
	b = e.lock(t, q, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, q, b.LockToken, "", "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Peek(e.ctx, q, messaging.DeadLetter, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "dead-letter queue", seqsOf(got), []int64{1, 2})
	if string(got[1].Raw) != "b" || got[1].DeadLetterReason != "" {
		t.Fatalf("dead-lettered without reason or raw: %+v", got[1])
	}
}

// In the dead-letter queue, messages are received and settled as in the active queue,
// but never dead-lettered again.
func testDeadLetterQueueSettlement(t *testing.T, e env) {
	q := queue("q1")
	q.MaxDeliveryCount = 1
	e.send(t, q, "a", "b")
	for range 2 {
		m := e.lock(t, q, messaging.Active)
		if err := e.s.DeadLetter(e.ctx, q, m.LockToken, "r", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	e.expectCounts(t, q, 0, 2)
	got := e.receive(t, q, messaging.DeadLetter, messaging.PeekLock, 10)
	expectSeqs(t, "dead-letter receive", seqsOf(got), []int64{1, 2})
	for _, m := range got {
		if m.DeliveryCount != 2 || m.SubQueue != messaging.DeadLetter {
			t.Fatalf("dead-letter delivery: %+v", m)
		}
	}
	expectErr(t, "Complete of a dead-letter lock in the active queue", e.s.Complete(e.ctx, q, messaging.Active, got[0].LockToken), messaging.ErrLockLost)
	expectErr(t, "DeadLetter of a dead-letter lock", e.s.DeadLetter(e.ctx, q, got[0].LockToken, "r", "", nil), messaging.ErrLockLost)
	if _, err := e.s.RenewLock(e.ctx, q, messaging.DeadLetter, []messaging.LockToken{got[0].LockToken}); err != nil {
		t.Fatalf("RenewLock in the dead-letter queue: %v", err)
	}
	if err := e.s.Complete(e.ctx, q, messaging.DeadLetter, got[0].LockToken); err != nil {
		t.Fatal(err)
	}
	// Abandoned past MaxDeliveryCount, it stays in the dead-letter queue, available.
	if err := e.s.Abandon(e.ctx, q, messaging.DeadLetter, got[1].LockToken, []byte("b2")); err != nil {
		t.Fatal(err)
	}
	m := e.expectDeadLettered(t, q, 2, "r")
	if m.DeliveryCount != 3 || string(m.Raw) != "b2" {
		t.Fatalf("after Abandon in the dead-letter queue: %+v", m)
	}
	// Its lock expiring does not move it either.
	e.clock.Advance(lockDuration)
	if m := e.expectDeadLettered(t, q, 2, "r"); m.DeliveryCount != 4 {
		t.Fatalf("after the dead-letter lock expired: DeliveryCount %d", m.DeliveryCount)
	}
	e.expectCounts(t, q, 0, 1)
	if got := e.receive(t, q, messaging.DeadLetter, messaging.ReceiveAndDelete, 10); len(got) != 0 {
		t.Fatal("receive-and-delete took a locked dead-letter message")
	}
	e.clock.Advance(lockDuration)
	expectSeqs(t, "receive-and-delete", seqsOf(e.receive(t, q, messaging.DeadLetter, messaging.ReceiveAndDelete, 10)), []int64{2})
	e.expectCounts(t, q, 0, 0)
}

func (e env) peekAll(t *testing.T, q messaging.Queue, sub messaging.SubQueue) []messaging.Stored {
	t.Helper()
	got, err := e.s.Peek(e.ctx, q, sub, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
