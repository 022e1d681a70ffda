package messagingtest

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// A peek-lock hides the message for the lock duration, with a fresh token and one more
// delivery each time; once the lock expires the message is available again.
func testPeekLock(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a")
	seen := map[messaging.LockToken]bool{}
	var prev messaging.Stored
	for n := 1; n <= 3; n++ {
		now := e.clock.Now()
		m := e.lock(t, q, messaging.Active)
		if m.SequenceNumber != 1 || string(m.Raw) != "a" || m.SubQueue != messaging.Active {
			t.Fatalf("delivery %d: got %+v", n, m)
		}
		if m.DeliveryCount != n {
			t.Fatalf("delivery %d: DeliveryCount %d", n, m.DeliveryCount)
		}
		if m.LockToken == (messaging.LockToken{}) || seen[m.LockToken] {
			t.Fatalf("delivery %d: lock token %s is zero or not fresh", n, m.LockToken)
		}
		seen[m.LockToken] = true
		expectTime(t, "LockedUntil", m.LockedUntil, now.Add(lockDuration))

		// Locked: no other receiver gets it, in either mode.
		e.expectNone(t, q, messaging.Active)
		if got := e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 1); len(got) != 0 {
			t.Fatalf("delivery %d: receive-and-delete took a locked message", n)
		}
		// An earlier lock is gone for good.
		if n > 1 {
			expectErr(t, "Complete with the previous delivery's token", e.s.Complete(e.ctx, q, messaging.Active, prev.LockToken), messaging.ErrLockLost)
		}
		prev = m
		e.clock.Advance(lockDuration + time.Second)
	}
	e.expectCounts(t, q, 1, 0)
}

// The lock is held while now < LockedUntil.
func testLockBoundary(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a")
	m := e.lock(t, q, messaging.Active)
	e.clock.Advance(lockDuration - time.Millisecond)
	e.expectNone(t, q, messaging.Active)
	if _, err := e.s.RenewLock(e.ctx, q, messaging.Active, []messaging.LockToken{m.LockToken}); err != nil {
		t.Fatalf("RenewLock a millisecond before expiry: %v", err)
	}
	e.clock.Advance(lockDuration)
	expectErr(t, "Complete at LockedUntil", e.s.Complete(e.ctx, q, messaging.Active, m.LockToken), messaging.ErrLockLost)
	if got := e.lock(t, q, messaging.Active); got.DeliveryCount != 2 {
		t.Fatalf("redelivery at LockedUntil: DeliveryCount %d, want 2", got.DeliveryCount)
	}
}

// Receive takes available messages in sequence order, up to max, skipping locked ones.
func testReceiveOrderAndMax(t *testing.T, e env) {
	q := queue("q1")
	e.expectNone(t, q, messaging.Active)
	e.send(t, q, raws("m", 7)...)
	first := e.receive(t, q, messaging.Active, messaging.PeekLock, 3)
	expectSeqs(t, "first receive", seqsOf(first), []int64{1, 2, 3})
	if first[0].LockToken == first[1].LockToken {
		t.Fatal("two messages share a lock token")
	}
	// Free the middle one: it comes before the ones not yet taken.
	if err := e.s.Abandon(e.ctx, q, messaging.Active, first[1].LockToken, nil); err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "second receive", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 2)), []int64{2, 4})
	expectSeqs(t, "third receive", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 100)), []int64{5, 6, 7})
	e.expectNone(t, q, messaging.Active)
}

// Receive-and-delete removes what it takes, with no lock and no delivery counted.
func testReceiveAndDelete(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, raws("m", 3)...)
	got := e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 2)
	expectSeqs(t, "receive-and-delete", seqsOf(got), []int64{1, 2})
	for _, m := range got {
		if m.LockToken != (messaging.LockToken{}) || !m.LockedUntil.IsZero() || m.DeliveryCount != 0 {
			t.Errorf("received and deleted %d: %+v", m.SequenceNumber, m)
		}
	}
	e.expectCounts(t, q, 1, 0)
	e.clock.Advance(lockDuration * 2)
	expectSeqs(t, "what remains", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{3})
}

// Complete removes a locked message, once; an expired, settled or unknown lock is lost.
func testComplete(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	a := e.lock(t, q, messaging.Active)
	if err := e.s.Complete(e.ctx, q, messaging.Active, a.LockToken); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, q, 1, 0)
	expectErr(t, "second Complete", e.s.Complete(e.ctx, q, messaging.Active, a.LockToken), messaging.ErrLockLost)
	expectErr(t, "Complete with a token never issued", e.s.Complete(e.ctx, q, messaging.Active, messaging.LockToken{1, 2, 3}), messaging.ErrLockLost)
	expectErr(t, "Complete with the zero token", e.s.Complete(e.ctx, q, messaging.Active, messaging.LockToken{}), messaging.ErrLockLost)

	b := e.lock(t, q, messaging.Active)
	expectErr(t, "Complete in the wrong sub-queue", e.s.Complete(e.ctx, q, messaging.DeadLetter, b.LockToken), messaging.ErrLockLost)
	e.clock.Advance(lockDuration)
	expectErr(t, "Complete after the lock expired", e.s.Complete(e.ctx, q, messaging.Active, b.LockToken), messaging.ErrLockLost)
	e.expectCounts(t, q, 1, 0)
	// Also when no one has received the message since.
	b2 := e.lock(t, q, messaging.Active)
	if b2.SequenceNumber != b.SequenceNumber || b2.DeliveryCount != 2 {
		t.Fatalf("redelivery: %+v", b2)
	}
	if err := e.s.Complete(e.ctx, q, messaging.Active, b2.LockToken); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, q, 0, 0)
	e.clock.Advance(lockDuration * 3)
	e.expectNone(t, q, messaging.Active)
}

// Abandon makes the message available at once; the lock is gone.
func testAbandon(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a")
	m := e.lock(t, q, messaging.Active)
	if err := e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, nil); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "second Abandon", e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, nil), messaging.ErrLockLost)
	expectErr(t, "Complete after Abandon", e.s.Complete(e.ctx, q, messaging.Active, m.LockToken), messaging.ErrLockLost)
	again := e.lock(t, q, messaging.Active)
	if again.SequenceNumber != 1 || again.DeliveryCount != 2 || string(again.Raw) != "a" {
		t.Fatalf("after Abandon: %+v", again)
	}
	e.clock.Advance(lockDuration)
	expectErr(t, "Abandon after the lock expired", e.s.Abandon(e.ctx, q, messaging.Active, again.LockToken, nil), messaging.ErrLockLost)
	expectErr(t, "Abandon with a token never issued", e.s.Abandon(e.ctx, q, messaging.Active, messaging.LockToken{9}, nil), messaging.ErrLockLost)
}

// Release gives the lock back uncounted: however often a message is released, it keeps
// its delivery count and is never dead-lettered for it.
func testRelease(t *testing.T, e env) {
	q := queue("q1")
	q.MaxDeliveryCount = 2
	e.send(t, q, "a")
	for range 5 {
		m := e.lock(t, q, messaging.Active)
		if m.DeliveryCount != 1 {
			t.Fatalf("after releases: delivery count %d, want 1", m.DeliveryCount)
		}
		if err := e.s.Release(e.ctx, q, messaging.Active, m.LockToken); err != nil {
			t.Fatal(err)
		}
		expectErr(t, "second Release", e.s.Release(e.ctx, q, messaging.Active, m.LockToken), messaging.ErrLockLost)
	}
	m := e.lock(t, q, messaging.Active)
	if err := e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, nil); err != nil {
		t.Fatal(err)
	}
	again := e.lock(t, q, messaging.Active)
	if again.DeliveryCount != 2 || again.SubQueue != messaging.Active {
		t.Fatalf("an abandon after releases: %+v", again)
	}
	e.clock.Advance(lockDuration)
	expectErr(t, "Release after the lock expired", e.s.Release(e.ctx, q, messaging.Active, again.LockToken), messaging.ErrLockLost)
}

// Abandon with raw replaces the message's encoding; without, keeps it.
func testAbandonReplacesRaw(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "original")
	m := e.lock(t, q, messaging.Active)
	if err := e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, []byte("modified")); err != nil {
		t.Fatal(err)
	}
	m = e.lock(t, q, messaging.Active)
	if string(m.Raw) != "modified" || m.MessageID != "id-original" {
		t.Fatalf("after Abandon with raw: Raw %q, MessageID %q", m.Raw, m.MessageID)
	}
	if err := e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, nil); err != nil {
		t.Fatal(err)
	}
	m = e.lock(t, q, messaging.Active)
	if string(m.Raw) != "modified" {
		t.Fatalf("after Abandon without raw: Raw %q", m.Raw)
	}
	expectErr(t, "Abandon with an oversized raw",
		e.s.Abandon(e.ctx, q, messaging.Active, m.LockToken, make([]byte, messaging.MaxMessageSize+1)), messaging.ErrInvalid)
	// The refused abandon left the lock in place.
	if err := e.s.Complete(e.ctx, q, messaging.Active, m.LockToken); err != nil {
		t.Fatalf("Complete after a refused Abandon: %v", err)
	}
}

// RenewLock extends each lock to now + the lock duration.
func testRenewLock(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 2)
	e.clock.Advance(lockDuration / 2)
	tokens := []messaging.LockToken{got[1].LockToken, got[0].LockToken}
	until, err := e.s.RenewLock(e.ctx, q, messaging.Active, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(until) != 2 {
		t.Fatalf("RenewLock returned %d times, want 2", len(until))
	}
	want := e.clock.Now().Add(lockDuration)
	expectTime(t, "renewed LockedUntil", until[0], want)
	expectTime(t, "renewed LockedUntil", until[1], want)

	// Past the first expiry, the locks hold.
	e.clock.Advance(lockDuration * 3 / 4)
	e.expectNone(t, q, messaging.Active)
	peeked, err := e.s.Peek(e.ctx, q, messaging.Active, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range peeked {
		expectTime(t, "peeked LockedUntil after renewal", m.LockedUntil, want)
		if m.DeliveryCount != 1 {
			t.Errorf("renewal counted a delivery: %d", m.DeliveryCount)
		}
	}
	if err := e.s.Complete(e.ctx, q, messaging.Active, got[0].LockToken); err != nil {
		t.Fatalf("Complete after renewal: %v", err)
	}
	// Past the renewed expiry, they do not.
	e.clock.Advance(lockDuration / 4)
	_, err = e.s.RenewLock(e.ctx, q, messaging.Active, []messaging.LockToken{got[1].LockToken})
	expectErr(t, "RenewLock after expiry", err, messaging.ErrLockLost)
	expectSeqs(t, "after the renewed lock expired", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{2})
}

// RenewLock with one lost lock renews none.
func testRenewLockAllOrNone(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 2)
	if err := e.s.Complete(e.ctx, q, messaging.Active, got[1].LockToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(lockDuration / 2)
	_, err := e.s.RenewLock(e.ctx, q, messaging.Active, []messaging.LockToken{got[0].LockToken, got[1].LockToken})
	expectErr(t, "RenewLock with a completed message's token", err, messaging.ErrLockLost)
	_, err = e.s.RenewLock(e.ctx, q, messaging.DeadLetter, []messaging.LockToken{got[0].LockToken})
	expectErr(t, "RenewLock in the wrong sub-queue", err, messaging.ErrLockLost)
	// The held lock was not renewed: it expires when it would have.
	e.clock.Advance(lockDuration / 2)
	expectSeqs(t, "after the original expiry", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{1})
}
