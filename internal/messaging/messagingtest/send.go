package messagingtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Sequence numbers start at 1 per queue, ascend, survive settlement (never reused) and
// start again only once the queue is deleted.
func testSequenceNumbers(t *testing.T, e env) {
	q := queue("q1")
	expectSeqs(t, "first send", e.send(t, q, "a"), []int64{1})
	expectSeqs(t, "batch", e.send(t, q, "b", "c", "d"), []int64{2, 3, 4})
	expectSeqs(t, "another queue's first send", e.send(t, queue("q2"), "x"), []int64{1})

	// Take everything away, with both modes: the numbers are not reused.
	for _, m := range e.receive(t, q, messaging.Active, messaging.PeekLock, 2) {
		if err := e.s.Complete(e.ctx, q, messaging.Active, m.LockToken); err != nil {
			t.Fatal(err)
		}
	}
	e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)
	e.expectCounts(t, q, 0, 0)
	expectSeqs(t, "send after the queue emptied", e.send(t, q, "e"), []int64{5})

	// The dead-letter queue shares the numbering: a dead-lettered message keeps its number.
	m := e.lock(t, q, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, q, m.LockToken, "r", "d", nil); err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "send after dead-lettering", e.send(t, q, "f"), []int64{6})
	expectSeqs(t, "dead-lettered message", seqsOf(e.receive(t, q, messaging.DeadLetter, messaging.PeekLock, 10)), []int64{5})

	if err := e.s.DeleteQueue(e.ctx, q.Namespace, q.Name); err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "send after DeleteQueue", e.send(t, q, "g"), []int64{1})
	expectSeqs(t, "the other queue is untouched", e.send(t, queue("q2"), "y"), []int64{2})
}

// What a sender hands over comes back as it was, with the store's fields filled in.
func testSendRoundTrip(t *testing.T, e env) {
	q := queue("q1")
	raw := make([]byte, 4096)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	expires := e.clock.Now().Add(time.Hour)
	in := []messaging.Message{
		{Raw: raw, MessageID: "m-1", ExpiresAt: expires},
		{Raw: []byte{0}, MessageID: ""},
		{Raw: []byte("max"), MessageID: "m-3"},
	}
	in[2].Raw = bytes.Repeat([]byte{0xa5}, messaging.MaxMessageSize)
	enqueued := e.clock.Now()
	seqs, err := e.s.Send(e.ctx, q, in)
	if err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "send", seqs, []int64{1, 2, 3})
	e.clock.Advance(time.Second)

	got := e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 10)
	expectSeqs(t, "receive", seqsOf(got), []int64{1, 2, 3})
	for i, m := range got {
		if !bytes.Equal(m.Raw, in[i].Raw) {
			t.Errorf("message %d: Raw differs (%d bytes, want %d)", i, len(m.Raw), len(in[i].Raw))
		}
		if m.MessageID != in[i].MessageID {
			t.Errorf("message %d: MessageID %q, want %q", i, m.MessageID, in[i].MessageID)
		}
		if !m.ExpiresAt.Equal(in[i].ExpiresAt) {
			t.Errorf("message %d: ExpiresAt %v, want %v", i, m.ExpiresAt, in[i].ExpiresAt)
		}
		if !m.EnqueuedAt.Equal(enqueued) {
			t.Errorf("message %d: EnqueuedAt %v, want %v", i, m.EnqueuedAt, enqueued)
		}
		if m.SubQueue != messaging.Active || m.DeliveryCount != 0 || m.LockToken != (messaging.LockToken{}) ||
			!m.LockedUntil.IsZero() || m.DeadLetterReason != "" || m.DeadLetterDescription != "" {
			t.Errorf("message %d: received and deleted, got %+v", i, m)
		}
	}
}

// A batch with one refused message stores none of it.
func testSendAllOrNone(t *testing.T, e env) {
	q := queue("q1")
	batch := []messaging.Message{msg("a"), msg("b"), {Raw: make([]byte, messaging.MaxMessageSize+1)}, msg("d")}
	_, err := e.s.Send(e.ctx, q, batch)
	expectErr(t, "send with an oversized message", err, messaging.ErrInvalid)
	batch[2] = messaging.Message{}
	_, err = e.s.Send(e.ctx, q, batch)
	expectErr(t, "send with an empty message", err, messaging.ErrInvalid)
	e.expectCounts(t, q, 0, 0)
	e.expectNone(t, q, messaging.Active)
	expectSeqs(t, "send after the refused ones", e.send(t, q, "e"), []int64{1})
}

// Peek shows messages from a sequence number on, locked ones included, and changes
// nothing.
func testPeek(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, raws("m", 6)...)
	locked := e.receive(t, q, messaging.Active, messaging.PeekLock, 2) // 1 and 2

	peek := func(sub messaging.SubQueue, from int64, max int) []messaging.Stored {
		t.Helper()
		got, err := e.s.Peek(e.ctx, q, sub, from, max)
		if err != nil {
			t.Fatalf("Peek(%d, %d, %d): %v", sub, from, max, err)
		}
		return got
	}
	all := peek(messaging.Active, 1, 100)
	expectSeqs(t, "peek from 1", seqsOf(all), []int64{1, 2, 3, 4, 5, 6})
	for _, m := range all {
		if m.LockToken != (messaging.LockToken{}) {
			t.Errorf("peek of %d shows a lock token", m.SequenceNumber)
		}
		wantCount := 0
		if m.SequenceNumber <= 2 {
			wantCount = 1
			expectTime(t, "peeked LockedUntil", m.LockedUntil, locked[0].LockedUntil)
		} else if !m.LockedUntil.IsZero() {
			t.Errorf("peek of unlocked %d: LockedUntil %v", m.SequenceNumber, m.LockedUntil)
		}
		if m.DeliveryCount != wantCount {
			t.Errorf("peek of %d: DeliveryCount %d, want %d", m.SequenceNumber, m.DeliveryCount, wantCount)
		}
	}
	expectSeqs(t, "peek from 0", seqsOf(peek(messaging.Active, 0, 3)), []int64{1, 2, 3})
	expectSeqs(t, "peek from 4, max 2", seqsOf(peek(messaging.Active, 4, 2)), []int64{4, 5})
	expectSeqs(t, "peek past the end", seqsOf(peek(messaging.Active, 7, 10)), nil)
	expectSeqs(t, "peek the empty dead-letter queue", seqsOf(peek(messaging.DeadLetter, 1, 10)), nil)

	// Peeking again counts no delivery and takes no lock: the unlocked ones are still
	// available, with their first delivery still to come.
	peek(messaging.Active, 1, 100)
	next := e.receive(t, q, messaging.Active, messaging.PeekLock, 10)
	expectSeqs(t, "receive after peeks", seqsOf(next), []int64{3, 4, 5, 6})
	for _, m := range next {
		if m.DeliveryCount != 1 {
			t.Errorf("message %d: DeliveryCount %d after peeks, want 1", m.SequenceNumber, m.DeliveryCount)
		}
	}

	// Peek shows the dead-letter queue apart, with the reason.
	if err := e.s.DeadLetter(e.ctx, q, next[1].LockToken, "why", "because", nil); err != nil {
		t.Fatal(err)
	}
	dl := peek(messaging.DeadLetter, 1, 10)
	expectSeqs(t, "peek the dead-letter queue", seqsOf(dl), []int64{4})
	if dl[0].SubQueue != messaging.DeadLetter || dl[0].DeadLetterReason != "why" || dl[0].DeadLetterDescription != "because" {
		t.Errorf("peeked dead-lettered message: %+v", dl[0])
	}
	expectSeqs(t, "peek the active queue after dead-lettering", seqsOf(peek(messaging.Active, 1, 10)), []int64{1, 2, 3, 5, 6})
}

// Counts count locked messages, and the dead-letter queue apart.
func testCounts(t *testing.T, e env) {
	q := queue("q1")
	e.expectCounts(t, q, 0, 0)
	e.send(t, q, raws("m", 5)...)
	e.expectCounts(t, q, 5, 0)
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 3)
	e.expectCounts(t, q, 5, 0)
	if err := e.s.DeadLetter(e.ctx, q, got[0].LockToken, "r", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Complete(e.ctx, q, messaging.Active, got[1].LockToken); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, q, 3, 1)
	e.receive(t, q, messaging.DeadLetter, messaging.ReceiveAndDelete, 10)
	e.expectCounts(t, q, 3, 0)
}

// DeleteQueue removes the queue's messages, its dead-letter queue's too, and their locks.
func testDeleteQueue(t *testing.T, e env) {
	q, other := queue("q1"), queue("q2")
	e.send(t, q, raws("m", 4)...)
	e.send(t, other, "o")
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 2)
	if err := e.s.DeadLetter(e.ctx, q, got[0].LockToken, "r", "", nil); err != nil {
		t.Fatal(err)
	}
	dl := e.lock(t, q, messaging.DeadLetter)
	if err := e.s.DeleteQueue(e.ctx, q.Namespace, q.Name); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, q, 0, 0)
	e.expectNone(t, q, messaging.Active)
	e.expectNone(t, q, messaging.DeadLetter)
	expectErr(t, "Complete of a deleted queue's message", e.s.Complete(e.ctx, q, messaging.Active, got[1].LockToken), messaging.ErrLockLost)
	expectErr(t, "Complete of a deleted dead-letter message", e.s.Complete(e.ctx, q, messaging.DeadLetter, dl.LockToken), messaging.ErrLockLost)
	e.expectCounts(t, other, 1, 0)
	if err := e.s.DeleteQueue(e.ctx, "ns1", "never-used"); err != nil {
		t.Errorf("DeleteQueue of a queue that never held a message: %v", err)
	}
}

// DeleteNamespace empties every queue of one namespace and no other's.
func testDeleteNamespace(t *testing.T, e env) {
	a, b, other := queue("a"), queue("b"), queue("a")
	other.Namespace = "ns2"
	for _, q := range []messaging.Queue{a, b, other} {
		e.send(t, q, raws(q.Namespace+q.Name, 2)...)
	}
	got := e.receive(t, a, messaging.Active, messaging.PeekLock, 1)
	if err := e.s.DeleteNamespace(e.ctx, a.Namespace); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, a, 0, 0)
	e.expectCounts(t, b, 0, 0)
	e.expectCounts(t, other, 2, 0)
	expectErr(t, "Complete of a deleted namespace's message", e.s.Complete(e.ctx, a, messaging.Active, got[0].LockToken), messaging.ErrLockLost)
	// A queue of the same name starts afresh.
	if seqs := e.send(t, a, "again"); len(seqs) != 1 || seqs[0] != 1 {
		t.Errorf("first sequence number after the namespace's deletion: %v", seqs)
	}
	expectErr(t, "DeleteNamespace without a name", e.s.DeleteNamespace(e.ctx, ""), messaging.ErrInvalid)
}

// Queues are told apart by namespace and name, exactly.
func testQueuesIsolated(t *testing.T, e env) {
	a := queue("q")
	b := queue("q1")
	c := queue("Q")
	d := queue("q")
	d.Namespace = "ns2"
	for i, q := range []messaging.Queue{a, b, c, d} {
		e.send(t, q, raws(q.Namespace+"/"+q.Name, i+1)...)
	}
	for i, q := range []messaging.Queue{a, b, c, d} {
		e.expectCounts(t, q, int64(i+1), 0)
		got := e.receive(t, q, messaging.Active, messaging.PeekLock, 10)
		if len(got) != i+1 {
			t.Fatalf("queue %s/%s: %d messages, want %d", q.Namespace, q.Name, len(got), i+1)
		}
		for _, m := range got {
			if want := q.Namespace + "/" + q.Name + "-"; !bytes.HasPrefix(m.Raw, []byte(want)) {
				t.Fatalf("queue %s/%s returned %q", q.Namespace, q.Name, m.Raw)
			}
		}
		// A token settles only in its own queue.
		if q != a {
			expectErr(t, "Complete in another queue", e.s.Complete(e.ctx, a, messaging.Active, got[0].LockToken), messaging.ErrLockLost)
		}
	}
	if err := e.s.DeleteQueue(e.ctx, "ns2", "q"); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, a, 1, 0)
	e.expectCounts(t, d, 0, 0)
}
