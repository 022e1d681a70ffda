package pgqueue_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/messagingtest"
	"github.com/lanyard-id/lanyard/internal/messaging/pgqueue"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
)

// The tests here open two stores on one database, as two nodes of a cluster would.

// sharedQueue locks for long enough that no lock expires during a test: what a test sees
// is the claim, not time.
var sharedQueue = messaging.Queue{Namespace: "ns1", Name: "q1", LockDuration: time.Hour, MaxDeliveryCount: 10}

func twoNodes(t *testing.T) (a, b *pgqueue.Store) {
	dsn := sqltest.PostgresDSN(t)
	return open(t, dsn, pgqueue.Options{}), open(t, dsn, pgqueue.Options{})
}

func payloads(prefix string, n int) []messaging.Message {
	msgs := make([]messaging.Message, n)
	for i := range msgs {
		msgs[i] = messaging.Message{Raw: fmt.Appendf(nil, "%s-%d", prefix, i), MessageID: fmt.Sprint(i)}
	}
	return msgs
}

// Senders on both nodes get distinct sequence numbers, together 1..n; receivers on both
// nodes compete for the queue, and each message is completed exactly once.
func TestNodesShareQueue(t *testing.T) {
	a, b := twoNodes(t)
	nodes := []*pgqueue.Store{a, b}
	const total, batch = 2000, 50

	var (
		mu   sync.Mutex
		seqs []int64
		wg   sync.WaitGroup
		errs = make(chan error, 16)
	)
	for w := range 4 { // two senders per node
		wg.Go(func() {
			for i := range total / batch / 4 {
				got, err := nodes[w%2].Send(t.Context(), sharedQueue, payloads(fmt.Sprintf("%d-%d", w, i), batch))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seqs = append(seqs, got...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("sequence numbers handed out on two nodes: position %d holds %d, want %d", i, s, i+1)
		}
	}
	if len(seqs) != total {
		t.Fatalf("%d sequence numbers, want %d", len(seqs), total)
	}

	completed := map[int64]int{}
	for w := range 8 { // four receivers per node
		s := nodes[w%2]
		wg.Go(func() {
			for {
				got, err := s.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 1+w%4)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					if err := s.Complete(t.Context(), sharedQueue, messaging.Active, m.LockToken); err != nil {
						errs <- fmt.Errorf("complete %d: %w", m.SequenceNumber, err)
						return
					}
					mu.Lock()
					completed[m.SequenceNumber]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= total; seq++ {
		if n := completed[seq]; n != 1 {
			t.Fatalf("message %d completed %d times, want once", seq, n)
		}
	}
	for _, s := range nodes {
		if c, err := s.Counts(t.Context(), sharedQueue); err != nil || c != (messaging.Counts{}) {
			t.Fatalf("Counts after every message was completed: %+v, %v", c, err)
		}
	}
}

// A lock taken on one node hides the message on the other, which can renew and settle it
// with the token.
func TestLockHoldsOnEveryNode(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.Send(t.Context(), sharedQueue, payloads("m", 1)); err != nil {
		t.Fatal(err)
	}
	got, err := a.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive on the first node: %d messages, %v", len(got), err)
	}
	for _, mode := range []messaging.ReceiveMode{messaging.PeekLock, messaging.ReceiveAndDelete} {
		if other, err := b.Receive(t.Context(), sharedQueue, messaging.Active, mode, 10); err != nil || len(other) != 0 {
			t.Fatalf("Receive (mode %d) on the second node while the first holds the lock: %d messages, %v", mode, len(other), err)
		}
	}
	if _, err := b.RenewLock(t.Context(), sharedQueue, messaging.Active, []messaging.LockToken{got[0].LockToken}); err != nil {
		t.Fatalf("RenewLock on the second node: %v", err)
	}
	if err := b.Complete(t.Context(), sharedQueue, messaging.Active, got[0].LockToken); err != nil {
		t.Fatalf("Complete on the second node: %v", err)
	}
	if err := a.Complete(t.Context(), sharedQueue, messaging.Active, got[0].LockToken); !errors.Is(err, messaging.ErrLockLost) {
		t.Fatalf("Complete on the first node after the second completed: %v, want ErrLockLost", err)
	}
}

// What makes a message available on one node wakes the receivers waiting on the other.
func TestArrivalsAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	active := b.Arrivals(sharedQueue, messaging.Active)
	dead := b.Arrivals(sharedQueue, messaging.DeadLetter)
	if _, err := a.Send(t.Context(), sharedQueue, payloads("m", 1)); err != nil {
		t.Fatal(err)
	}
	<-active // the test's timeout bounds the wait

	got, err := a.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive: %d messages, %v", len(got), err)
	}
	if err := a.DeadLetter(t.Context(), sharedQueue, got[0].LockToken, "r", "", nil); err != nil {
		t.Fatal(err)
	}
	<-dead

	active = b.Arrivals(sharedQueue, messaging.Active)
	got, err = a.Receive(t.Context(), sharedQueue, messaging.DeadLetter, messaging.PeekLock, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive from the dead-letter queue: %d messages, %v", len(got), err)
	}
	dead = b.Arrivals(sharedQueue, messaging.DeadLetter)
	if err := a.Abandon(t.Context(), sharedQueue, messaging.DeadLetter, got[0].LockToken, nil); err != nil {
		t.Fatal(err)
	}
	<-dead
	if _, err := a.Send(t.Context(), sharedQueue, payloads("n", 1)); err != nil {
		t.Fatal(err)
	}
	<-active
}

// Ready reports a lost database and recovers by itself once it is back; the waiters the
// outage may have left without news are woken.
func TestReadyFollowsTheDatabase(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	p := newCutProxy(t, dsn)
	a := open(t, p.dsn, pgqueue.Options{})
	b := open(t, dsn, pgqueue.Options{})
	if err := a.Ready(); err != nil {
		t.Fatalf("Ready on a new store: %v", err)
	}
	waiting := a.Arrivals(sharedQueue, messaging.Active)

	p.cut()
	for a.Ready() == nil {
		time.Sleep(10 * time.Millisecond) // polled until it says so; the test's timeout bounds it
	}
	if _, err := a.Send(t.Context(), sharedQueue, payloads("lost", 1)); err == nil {
		t.Fatal("Send without the database succeeded")
	}
	// Sent meanwhile on another node: the notification is lost to the cut store.
	if _, err := b.Send(t.Context(), sharedQueue, payloads("meanwhile", 1)); err != nil {
		t.Fatal(err)
	}

	p.restore()
	for a.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	<-waiting
	if _, err := a.Send(t.Context(), sharedQueue, payloads("back", 1)); err != nil {
		t.Fatalf("Send once the database is back: %v", err)
	}
	// Listening again: another node's send reaches it.
	waiting = a.Arrivals(sharedQueue, messaging.Active)
	if _, err := b.Send(t.Context(), sharedQueue, payloads("after", 1)); err != nil {
		t.Fatal(err)
	}
	<-waiting
	if c, err := a.Counts(t.Context(), sharedQueue); err != nil || c.Active != 3 {
		t.Fatalf("Counts: %+v, %v; want 3 active", c, err)
	}
}

// cutProxy stands between a store and PostgreSQL on loopback, so a test can cut the
// database off (every connection closed, new ones refused) and restore it.
type cutProxy struct {
	t        *testing.T
	addr     string // the proxy's, kept across restores
	upstream string
	dsn      string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newCutProxy(t *testing.T, dsn string) *cutProxy {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skip("LANYARD_TEST_POSTGRES is not a URL")
	}
	p := &cutProxy{t: t, upstream: u.Host}
	p.listen("127.0.0.1:0")
	p.addr = p.ln.Addr().String()
	u.Host = p.addr
	p.dsn = u.String()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() { p.listen(p.addr) }

// Senders on both nodes sending the same message ids at once, in batches that overlap:
// each id is stored once, and exactly one send of it gets a sequence number.
func TestDuplicateDetectionAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	nodes := []*pgqueue.Store{a, b}
	q := sharedQueue
	q.DuplicateDetectionWindow = time.Hour
	const ids, senders, batch = 200, 8, 10

	var (
		mu     sync.Mutex
		stored = map[string]int{}
		wg     sync.WaitGroup
		errs   = make(chan error, senders)
	)
	for w := range senders {
		wg.Go(func() {
			// Each sender walks the ids from its own starting point, so that batches on
			// the two nodes meet in different orders.
			for i := 0; i < ids; i += batch {
				msgs := make([]messaging.Message, batch)
				for j := range msgs {
					id := fmt.Sprint((w*37 + i + j) % ids)
					msgs[j] = messaging.Message{Raw: []byte(id), MessageID: id}
				}
				seqs, err := nodes[w%2].Send(t.Context(), q, msgs)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for j, seq := range seqs {
					if seq != 0 {
						stored[msgs[j].MessageID]++
					}
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
	for i := range ids {
		if n := stored[fmt.Sprint(i)]; n != 1 {
			t.Fatalf("id %d stored %d times, want once", i, n)
		}
	}
	if c, err := b.Counts(t.Context(), q); err != nil || c.Active != ids {
		t.Fatalf("Counts: %+v, %v; want %d active", c, err, ids)
	}
}

// Messages one node schedules become available at their time to the receivers of both
// nodes, each taken once.
func TestScheduledAcrossNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	clock := messagingtest.NewClock()
	a := open(t, dsn, pgqueue.Options{Clock: clock.Now})
	b := open(t, dsn, pgqueue.Options{Clock: clock.Now})
	nodes := []*pgqueue.Store{a, b}
	const total = 200
	at := clock.Now().Add(time.Minute)
	msgs := payloads("s", total)
	for i := range msgs {
		msgs[i].ScheduledAt = at
	}
	if _, err := a.Send(t.Context(), sharedQueue, msgs); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 10); err != nil || len(got) != 0 {
		t.Fatalf("Receive on the other node before the time: %d messages, %v", len(got), err)
	}
	clock.Advance(time.Minute)

	var (
		mu        sync.Mutex
		completed = map[int64]int{}
		wg        sync.WaitGroup
		errs      = make(chan error, 8)
	)
	for w := range 8 {
		s := nodes[w%2]
		wg.Go(func() {
			for {
				got, err := s.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 1+w%4)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					if !m.EnqueuedAt.Equal(at) {
						errs <- fmt.Errorf("message %d enqueued at %v, want %v", m.SequenceNumber, m.EnqueuedAt, at)
						return
					}
					if err := s.Complete(t.Context(), sharedQueue, messaging.Active, m.LockToken); err != nil {
						errs <- fmt.Errorf("complete %d: %w", m.SequenceNumber, err)
						return
					}
					mu.Lock()
					completed[m.SequenceNumber]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= total; seq++ {
		if n := completed[seq]; n != 1 {
			t.Fatalf("message %d completed %d times, want once", seq, n)
		}
	}
}

// A message deferred on one node is received by its number on the other; when both
// nodes ask for it at once, one gets it and the other is told it is not found.
func TestDeferredAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.Send(t.Context(), sharedQueue, payloads("d", 1)); err != nil {
		t.Fatal(err)
	}
	got, err := a.Receive(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive: %d messages, %v", len(got), err)
	}
	if err := a.Defer(t.Context(), sharedQueue, messaging.Active, got[0].LockToken, nil); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var (
			wg      sync.WaitGroup
			results [2]error
			tokens  [2]messaging.LockToken
		)
		for i, s := range []*pgqueue.Store{a, b} {
			wg.Go(func() {
				d, err := s.ReceiveDeferred(t.Context(), sharedQueue, messaging.Active, messaging.PeekLock, []int64{1})
				results[i] = err
				if err == nil {
					tokens[i] = d[0].LockToken
				}
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Fatal("both nodes locked the deferred message")
			case !errors.Is(err, messaging.ErrMessageNotFound):
				t.Fatalf("ReceiveDeferred: %v, want ErrMessageNotFound for the loser", err)
			}
		}
		if winner < 0 {
			t.Fatalf("neither node locked the deferred message: %v", results)
		}
		// Abandoned on the other node: deferred again, for the next round.
		other := []*pgqueue.Store{a, b}[1-winner]
		if err := other.Abandon(t.Context(), sharedQueue, messaging.Active, tokens[winner], nil); err != nil {
			t.Fatalf("Abandon on the other node: %v", err)
		}
	}
	if c, err := a.Counts(t.Context(), sharedQueue); err != nil || c.Active != 1 {
		t.Fatalf("Counts: %+v, %v", c, err)
	}
}
