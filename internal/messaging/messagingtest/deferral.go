package messagingtest

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func (e env) deferMsg(t *testing.T, q messaging.Queue, sub messaging.SubQueue, m messaging.Stored) {
	t.Helper()
	if err := e.s.Defer(e.ctx, q, sub, m.LockToken, nil); err != nil {
		t.Fatalf("Defer(%d): %v", m.SequenceNumber, err)
	}
}

func (e env) receiveDeferred(t *testing.T, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, seqs ...int64) []messaging.Stored {
	t.Helper()
	got, err := e.s.ReceiveDeferred(e.ctx, q, sub, mode, seqs)
	if err != nil {
		t.Fatalf("ReceiveDeferred(%v): %v", seqs, err)
	}
	expectSeqs(t, "ReceiveDeferred", seqsOf(got), seqs)
	return got
}

// A deferred message leaves what Receive takes, stays counted as active, and comes back
// locked by its sequence number only; completed through that lock, it is gone.
func testDefer(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	a := e.lock(t, q, messaging.Active)
	e.deferMsg(t, q, messaging.Active, a)
	expectErr(t, "Complete after Defer", e.s.Complete(e.ctx, q, messaging.Active, a.LockToken), messaging.ErrLockLost)
	expectErr(t, "Defer twice", e.s.Defer(e.ctx, q, messaging.Active, a.LockToken, nil), messaging.ErrLockLost)
	expectSeqs(t, "receive after Defer", seqsOf(e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)), []int64{2})
	e.clock.Advance(lockDuration)
	e.expectNone(t, q, messaging.Active)
	e.expectCounts(t, q, 1, 0)
	if p := e.peekAll(t, q, messaging.Active); len(p) != 1 || p[0].State != messaging.StateDeferred || !p[0].LockedUntil.IsZero() {
		t.Fatalf("Peek: %+v", p)
	}

	now := e.clock.Now()
	got := e.receiveDeferred(t, q, messaging.Active, messaging.PeekLock, 1)[0]
	if got.State != messaging.StateDeferred || string(got.Raw) != "a" || got.DeliveryCount != 2 ||
		got.LockToken == (messaging.LockToken{}) || got.LockToken == a.LockToken {
		t.Fatalf("ReceiveDeferred: %+v", got)
	}
	expectTime(t, "LockedUntil", got.LockedUntil, now.Add(lockDuration))
	_, err := e.s.ReceiveDeferred(e.ctx, q, messaging.Active, messaging.PeekLock, []int64{1})
	expectErr(t, "ReceiveDeferred of a locked message", err, messaging.ErrMessageNotFound)
	e.expectNone(t, q, messaging.Active)
	if err := e.s.Complete(e.ctx, q, messaging.Active, got.LockToken); err != nil {
		t.Fatalf("Complete a deferred message: %v", err)
	}
	e.expectCounts(t, q, 0, 0)
	_, err = e.s.ReceiveDeferred(e.ctx, q, messaging.Active, messaging.PeekLock, []int64{1})
	expectErr(t, "ReceiveDeferred of a completed message", err, messaging.ErrMessageNotFound)
}

// A deferred message abandoned, or whose lock expires, is deferred again, whatever its
// deliveries; its lock renews; it dead-letters; and it does not expire.
func testDeferredSettlement(t *testing.T, e env) {
	q := queue("q1")
	q.MaxDeliveryCount = 2
	q.DeadLetterOnExpiration = true
	m := msg("a")
	m.ExpiresAt = e.clock.Now().Add(time.Minute)
	e.sendMsgs(t, q, m)
	e.deferMsg(t, q, messaging.Active, e.lock(t, q, messaging.Active))

	d := e.receiveDeferred(t, q, messaging.Active, messaging.PeekLock, 1)[0]
	if err := e.s.Abandon(e.ctx, q, messaging.Active, d.LockToken, []byte("a2")); err != nil {
		t.Fatalf("Abandon a deferred message: %v", err)
	}
	e.expectNone(t, q, messaging.Active)
	d = e.receiveDeferred(t, q, messaging.Active, messaging.PeekLock, 1)[0]
	if d.DeliveryCount != 3 || string(d.Raw) != "a2" {
		t.Fatalf("after Abandon: %+v", d)
	}
	// Past its time to live and its lock, with no Receive in between.
	e.clock.Advance(time.Minute + lockDuration)
	expectErr(t, "Complete after the lock expired", e.s.Complete(e.ctx, q, messaging.Active, d.LockToken), messaging.ErrLockLost)
	d = e.receiveDeferred(t, q, messaging.Active, messaging.PeekLock, 1)[0]
	e.expectNone(t, q, messaging.Active) // applies the rules: nothing expires or dead-letters
	e.expectCounts(t, q, 1, 0)

	e.clock.Advance(lockDuration / 2)
	until, err := e.s.RenewLock(e.ctx, q, messaging.Active, []messaging.LockToken{d.LockToken})
	if err != nil {
		t.Fatalf("RenewLock a deferred message: %v", err)
	}
	expectTime(t, "renewed", until[0], e.clock.Now().Add(lockDuration))
	if err := e.s.DeadLetter(e.ctx, q, d.LockToken, "Stuck", "deferred too long", nil); err != nil {
		t.Fatalf("DeadLetter a deferred message: %v", err)
	}
	e.expectCounts(t, q, 0, 1)
	dl := e.lock(t, q, messaging.DeadLetter)
	if dl.DeadLetterReason != "Stuck" || dl.State != messaging.StateActive {
		t.Fatalf("dead-lettered: %+v", dl)
	}
	// The dead-letter queue defers too.
	e.deferMsg(t, q, messaging.DeadLetter, dl)
	e.expectNone(t, q, messaging.DeadLetter)
	e.receiveDeferred(t, q, messaging.DeadLetter, messaging.ReceiveAndDelete, 1)
	e.expectCounts(t, q, 0, 0)
}

// ReceiveDeferred is all or none, in the order asked; receive-and-delete removes.
func testReceiveDeferred(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, raws("m", 4)...)
	for _, m := range e.receive(t, q, messaging.Active, messaging.PeekLock, 3) {
		e.deferMsg(t, q, messaging.Active, m)
	}
	for _, seqs := range [][]int64{{1, 4}, {2, 99}, {3, 1, 0}} {
		_, err := e.s.ReceiveDeferred(e.ctx, q, messaging.Active, messaging.PeekLock, seqs)
		expectErr(t, "ReceiveDeferred of a message not deferred", err, messaging.ErrMessageNotFound)
	}
	_, err := e.s.ReceiveDeferred(e.ctx, queue("q2"), messaging.Active, messaging.PeekLock, []int64{1})
	expectErr(t, "ReceiveDeferred in another queue", err, messaging.ErrMessageNotFound)
	if err := e.s.Ready(); err != nil {
		t.Fatalf("Ready after refusals, which are no failure of the store: %v", err)
	}
	_, err = e.s.ReceiveDeferred(e.ctx, q, messaging.Active, messaging.PeekLock, []int64{1, 1})
	expectErr(t, "ReceiveDeferred of one number twice", err, messaging.ErrInvalid)
	_, err = e.s.ReceiveDeferred(e.ctx, q, messaging.Active, messaging.PeekLock, nil)
	expectErr(t, "ReceiveDeferred of none", err, messaging.ErrInvalid)

	got := e.receiveDeferred(t, q, messaging.Active, messaging.ReceiveAndDelete, 3, 1)
	for _, m := range got {
		if m.LockToken != (messaging.LockToken{}) || !m.LockedUntil.IsZero() {
			t.Fatalf("received and deleted: %+v", m)
		}
	}
	e.expectCounts(t, q, 2, 0)
	e.receiveDeferred(t, q, messaging.Active, messaging.PeekLock, 2)
	expectSeqs(t, "Receive", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{4})
	expectErr(t, "Defer with a lost lock", e.s.Defer(e.ctx, q, messaging.Active, messaging.LockToken{9}, nil), messaging.ErrLockLost)
}
