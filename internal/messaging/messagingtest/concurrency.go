package messagingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Arrivals closes on what may make a message available: a send, an abandon, a
// dead-lettering; and only for the sub-queue concerned.
func testArrivals(t *testing.T, e env) {
	q, other := queue("q1"), queue("q2")
	active := e.s.Arrivals(q, messaging.Active)
	dead := e.s.Arrivals(q, messaging.DeadLetter)
	otherActive := e.s.Arrivals(other, messaging.Active)
	if closed(active) || closed(dead) {
		t.Fatal("arrivals closed before anything happened")
	}
	e.send(t, q, "a", "b")
	if !closed(active) {
		t.Fatal("Send did not close the active queue's arrivals")
	}
	if closed(dead) || closed(otherActive) {
		t.Fatal("Send closed another sub-queue's or queue's arrivals")
	}

	// A channel taken after an event waits for the next one.
	active = e.s.Arrivals(q, messaging.Active)
	if closed(active) {
		t.Fatal("arrivals taken after a send is already closed")
	}
	got := e.receive(t, q, messaging.Active, messaging.PeekLock, 2)
	if err := e.s.Complete(e.ctx, q, messaging.Active, got[0].LockToken); err != nil {
		t.Fatal(err)
	}
	if closed(active) {
		t.Fatal("a receive or a completion closed the arrivals")
	}
	if err := e.s.Abandon(e.ctx, q, messaging.Active, got[1].LockToken, nil); err != nil {
		t.Fatal(err)
	}
	if !closed(active) {
		t.Fatal("Abandon did not close the active queue's arrivals")
	}
	if closed(dead) {
		t.Fatal("Abandon closed the dead-letter queue's arrivals")
	}

	m := e.lock(t, q, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, q, m.LockToken, "r", "", nil); err != nil {
		t.Fatal(err)
	}
	if !closed(dead) {
		t.Fatal("DeadLetter did not close the dead-letter queue's arrivals")
	}
	dead = e.s.Arrivals(q, messaging.DeadLetter)
	m = e.lock(t, q, messaging.DeadLetter)
	if err := e.s.Abandon(e.ctx, q, messaging.DeadLetter, m.LockToken, nil); err != nil {
		t.Fatal(err)
	}
	if !closed(dead) {
		t.Fatal("Abandon in the dead-letter queue did not close its arrivals")
	}
	if closed(otherActive) {
		t.Fatal("another queue's arrivals closed")
	}

	// A waiting receiver wakes up.
	woke := make(chan struct{})
	ch := e.s.Arrivals(other, messaging.Active)
	go func() {
		<-ch
		close(woke)
	}()
	e.send(t, other, "x")
	<-woke
}

// Concurrent peek-lock receivers never hold one message at once; every message is
// delivered once while no lock expires.
func testConcurrentReceivers(t *testing.T, e env) {
	q := queue("q1")
	const n = 300
	for i := 0; i < n; i += 50 {
		e.send(t, q, raws(fmt.Sprint(i), 50)...)
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
		errs = make(chan error, 8)
	)
	for w := range 8 {
		wg.Go(func() {
			for {
				got, err := e.s.Receive(e.ctx, q, messaging.Active, messaging.PeekLock, 1+w%4)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.SequenceNumber]++
				}
				mu.Unlock()
				// Half are completed, the others stay locked: either way no one else
				// may get them.
				for i, m := range got {
					if i%2 == 0 {
						if err := e.s.Complete(e.ctx, q, messaging.Active, m.LockToken); err != nil {
							errs <- fmt.Errorf("complete %d: %w", m.SequenceNumber, err)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages delivered, want %d", len(seen), n)
	}
	for seq, c := range seen {
		if c != 1 {
			t.Fatalf("message %d delivered %d times under live locks", seq, c)
		}
	}
}

// Concurrent senders get distinct sequence numbers, ascending within each batch.
func testConcurrentSenders(t *testing.T, e env) {
	q := queue("q1")
	const senders, sends, batch = 8, 10, 5
	var (
		mu   sync.Mutex
		all  = map[int64]bool{}
		wg   sync.WaitGroup
		errs = make(chan error, senders)
	)
	for w := range senders {
		wg.Go(func() {
			for i := range sends {
				msgs := make([]messaging.Message, batch)
				for j := range msgs {
					msgs[j] = msg(fmt.Sprintf("%d-%d-%d", w, i, j))
				}
				seqs, err := e.s.Send(e.ctx, q, msgs)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for j, s := range seqs {
					if all[s] || (j > 0 && s <= seqs[j-1]) {
						errs <- fmt.Errorf("sequence numbers %v: repeated or not ascending", seqs)
					}
					all[s] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = senders * sends * batch
	for s := int64(1); s <= total; s++ {
		if !all[s] {
			t.Fatalf("sequence number %d not handed out (of 1..%d)", s, total)
		}
	}
	e.expectCounts(t, q, total, 0)
}

// Every method refuses what the contract calls invalid.
func testInvalid(t *testing.T, e env) {
	good := queue("q1")
	e.send(t, good, "a")
	m := e.lock(t, good, messaging.Active)
	tok := []messaging.LockToken{m.LockToken}
	with := func(f func(*messaging.Queue)) messaging.Queue {
		q := good
		f(&q)
		return q
	}
	noNamespace := with(func(q *messaging.Queue) { q.Namespace = "" })
	noName := with(func(q *messaging.Queue) { q.Name = "" })
	noLock := with(func(q *messaging.Queue) { q.LockDuration = 0 })
	noDeliveries := with(func(q *messaging.Queue) { q.MaxDeliveryCount = 0 })
	badSub := messaging.SubQueue(7)
	ctx := e.ctx

	cases := map[string]func() error{
		"Send without namespace": func() error { _, err := e.s.Send(ctx, noNamespace, []messaging.Message{msg("x")}); return err },
		"Send without name":      func() error { _, err := e.s.Send(ctx, noName, []messaging.Message{msg("x")}); return err },
		"Send of nothing":        func() error { _, err := e.s.Send(ctx, good, nil); return err },
		"Send of an empty raw":   func() error { _, err := e.s.Send(ctx, good, []messaging.Message{{MessageID: "x"}}); return err },
		"Receive without name": func() error {
			_, err := e.s.Receive(ctx, noName, messaging.Active, messaging.PeekLock, 1)
			return err
		},
		"Receive max 0": func() error { _, err := e.s.Receive(ctx, good, messaging.Active, messaging.PeekLock, 0); return err },
		"Receive max -1": func() error {
			_, err := e.s.Receive(ctx, good, messaging.Active, messaging.ReceiveAndDelete, -1)
			return err
		},
		"Receive without lock duration": func() error {
			_, err := e.s.Receive(ctx, noLock, messaging.Active, messaging.PeekLock, 1)
			return err
		},
		"Receive without max delivery count": func() error {
			_, err := e.s.Receive(ctx, noDeliveries, messaging.Active, messaging.PeekLock, 1)
			return err
		},
		"Receive from a bad sub-queue": func() error { _, err := e.s.Receive(ctx, good, badSub, messaging.PeekLock, 1); return err },
		"Receive in a bad mode": func() error {
			_, err := e.s.Receive(ctx, good, messaging.Active, messaging.ReceiveMode(9), 1)
			return err
		},
		"Complete without namespace":  func() error { return e.s.Complete(ctx, noNamespace, messaging.Active, m.LockToken) },
		"Complete in a bad sub-queue": func() error { return e.s.Complete(ctx, good, badSub, m.LockToken) },
		"Abandon without name":        func() error { return e.s.Abandon(ctx, noName, messaging.Active, m.LockToken, nil) },
		"Abandon without max delivery count": func() error {
			return e.s.Abandon(ctx, noDeliveries, messaging.Active, m.LockToken, nil)
		},
		"Abandon with an empty raw": func() error { return e.s.Abandon(ctx, good, messaging.Active, m.LockToken, []byte{}) },
		"DeadLetter without name":   func() error { return e.s.DeadLetter(ctx, noName, m.LockToken, "r", "", nil) },
		"DeadLetter with an oversized raw": func() error {
			return e.s.DeadLetter(ctx, good, m.LockToken, "r", "", make([]byte, messaging.MaxMessageSize+1))
		},
		"RenewLock of nothing": func() error { _, err := e.s.RenewLock(ctx, good, messaging.Active, nil); return err },
		"RenewLock without lock duration": func() error {
			_, err := e.s.RenewLock(ctx, noLock, messaging.Active, tok)
			return err
		},
		"RenewLock in a bad sub-queue": func() error { _, err := e.s.RenewLock(ctx, good, badSub, tok); return err },
		"Peek max 0":                   func() error { _, err := e.s.Peek(ctx, good, messaging.Active, 1, 0); return err },
		"Peek without namespace":       func() error { _, err := e.s.Peek(ctx, noNamespace, messaging.Active, 1, 1); return err },
		"Peek in a bad sub-queue":      func() error { _, err := e.s.Peek(ctx, good, badSub, 1, 1); return err },
		"Counts without name":          func() error { _, err := e.s.Counts(ctx, noName); return err },
		"DeleteQueue without name":     func() error { return e.s.DeleteQueue(ctx, "ns1", "") },
		"DeleteQueue without namespace": func() error {
			return e.s.DeleteQueue(ctx, "", "q1")
		},
	}
	for name, call := range cases {
		expectErr(t, name, call(), messaging.ErrInvalid)
	}
	// None of that touched the lock or the queue.
	e.expectCounts(t, good, 1, 0)
	if err := e.s.Complete(ctx, good, messaging.Active, m.LockToken); err != nil {
		t.Fatalf("Complete after the refused calls: %v", err)
	}
}

// A call whose context is done changes nothing and says why.
func testContextCancelled(t *testing.T, e env) {
	q := queue("q1")
	e.send(t, q, "a", "b")
	m := e.lock(t, q, messaging.Active)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	tok := []messaging.LockToken{m.LockToken}
	cases := map[string]func() error{
		"Send": func() error { _, err := e.s.Send(ctx, q, []messaging.Message{msg("c")}); return err },
		"Receive": func() error {
			_, err := e.s.Receive(ctx, q, messaging.Active, messaging.ReceiveAndDelete, 10)
			return err
		},
		"Complete":    func() error { return e.s.Complete(ctx, q, messaging.Active, m.LockToken) },
		"Abandon":     func() error { return e.s.Abandon(ctx, q, messaging.Active, m.LockToken, nil) },
		"DeadLetter":  func() error { return e.s.DeadLetter(ctx, q, m.LockToken, "r", "", nil) },
		"RenewLock":   func() error { _, err := e.s.RenewLock(ctx, q, messaging.Active, tok); return err },
		"Peek":        func() error { _, err := e.s.Peek(ctx, q, messaging.Active, 1, 10); return err },
		"Counts":      func() error { _, err := e.s.Counts(ctx, q); return err },
		"DeleteQueue": func() error { return e.s.DeleteQueue(ctx, q.Namespace, q.Name) },
	}
	for name, call := range cases {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want context.Canceled", name, err)
		}
	}
	e.expectCounts(t, q, 2, 0)
	until, err := e.s.RenewLock(e.ctx, q, messaging.Active, tok)
	if err != nil {
		t.Fatalf("the lock after the cancelled calls: %v", err)
	}
	expectTime(t, "LockedUntil", until[0], m.LockedUntil)
	expectSeqs(t, "available after the cancelled calls", seqsOf(e.receive(t, q, messaging.Active, messaging.PeekLock, 10)), []int64{2})

	// A deadline already past is a done context too.
	dctx, dcancel := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := e.s.Send(dctx, q, []messaging.Message{msg("d")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past its deadline: error %v", err)
	}
	e.expectCounts(t, q, 2, 0)
}

func testReady(t *testing.T, e env) {
	if err := e.s.Ready(); err != nil {
		t.Fatalf("Ready on a new store: %v", err)
	}
	e.send(t, queue("q1"), "a")
	if err := e.s.Ready(); err != nil {
		t.Fatalf("Ready after a send: %v", err)
	}
}
