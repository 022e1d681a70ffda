package servicebus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	goamqp "github.com/Azure/go-amqp"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// sessionBroker is a broker with the session-enabled queue "tasks" (lock 2s) and a client
// allowed to send and receive.
func sessionBroker(t *testing.T) (*broker, *azservicebus.Client) {
	t.Helper()
	b := newBroker(t, nil)
	q := lanyard.NewServiceBusQueue("orders-ns", "tasks")
	q.LockDuration, q.MaxDeliveryCount, q.RequiresSession = 2*time.Second, 5, true
	b.entities.mu.Lock()
	b.entities.queues["tasks"] = q
	b.entities.mu.Unlock()
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	return b, b.client(t, "app")
}

func sendToSessions(t *testing.T, c *azservicebus.Client, queue string, pairs ...string) {
	t.Helper()
	s, err := c.NewSender(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for i := 0; i < len(pairs); i += 2 {
		id := pairs[i]
		if err := s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte(pairs[i+1]), SessionID: &id}, nil); err != nil {
			t.Fatalf("send to session %s: %v", id, err)
		}
	}
}

func bodies(ms []*azservicebus.ReceivedMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Body)
	}
	return out
}

// receiveAll receives from r until it has n messages, completing each.
func receiveAll(t *testing.T, r *azservicebus.SessionReceiver, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []*azservicebus.ReceivedMessage
	for len(got) < n {
		ms, err := r.ReceiveMessages(ctx, n-len(got), nil)
		if err != nil {
			t.Fatalf("ReceiveMessages: %v (after %v)", err, bodies(got))
		}
		for _, m := range ms {
			if err := r.CompleteMessage(ctx, m, nil); err != nil {
				t.Fatalf("CompleteMessage: %v", err)
			}
		}
		got = append(got, ms...)
	}
	return got
}

// TestSessionSendRules: a session-enabled queue refuses a message without a session id as
// Service Bus does; a queue without sessions takes one with a session id.
func TestSessionSendRules(t *testing.T) {
	_, c := sessionBroker(t)
	s, err := c.NewSender("tasks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	err = s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte("no session")}, nil)
	var ae *goamqp.Error
	if !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondNotAllowed {
		t.Fatalf("send without a session id: %v, want amqp:not-allowed", err)
	}
	sendToSessions(t, c, "orders", "s1", "with a session")
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	ms, err := r.ReceiveMessages(t.Context(), 1, nil)
	if err != nil || len(ms) != 1 || ms[0].SessionID == nil || *ms[0].SessionID != "s1" {
		t.Fatalf("receive from a queue without sessions: %v %v", ms, err)
	}
	// A session receiver on a queue without sessions, and a plain one on a session queue,
	// are refused.
	if _, err := c.AcceptSessionForQueue(t.Context(), "orders", "s1", nil); err == nil {
		t.Fatal("a session receiver attached to a queue without sessions")
	}
	plain, err := c.NewReceiverForQueue("tasks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close(context.Background())
	if _, err := plain.ReceiveMessages(t.Context(), 1, nil); !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondNotAllowed {
		t.Fatalf("a plain receiver of a session queue: %v, want amqp:not-allowed", err)
	}
}

// TestAcceptSession: AcceptSessionForQueue gets that session's messages only, in order,
// with the lock's expiry; a second receiver of the session is refused; the state is set,
// read and cleared; RenewSessionLock moves the expiry.
func TestAcceptSession(t *testing.T) {
	b, c := sessionBroker(t)
	sendToSessions(t, c, "tasks", "a", "a1", "b", "b1", "a", "a2", "b", "b2", "a", "a3")
	r, err := c.AcceptSessionForQueue(t.Context(), "tasks", "a", nil)
	if err != nil {
		t.Fatalf("AcceptSessionForQueue: %v", err)
	}
	defer r.Close(context.Background())
	if r.SessionID() != "a" || time.Until(r.LockedUntil()) <= 0 || time.Until(r.LockedUntil()) > 3*time.Second {
		t.Fatalf("session %q locked until %v", r.SessionID(), r.LockedUntil())
	}
	// A session receiver peeks its session only (azservicebus names its link in the
	// request's associated-link-name).
	peeked, err := r.PeekMessages(t.Context(), 10, nil)
	if got := bodies(peeked); err != nil || !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("peek of session a: %v %v", got, err)
	}
	if got := bodies(receiveAll(t, r, 3)); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("session a got %v, want a1 a2 a3", got)
	}

	_, err = c.AcceptSessionForQueue(t.Context(), "tasks", "a", nil)
	var ae *goamqp.Error
	if !errors.As(err, &ae) || ae.Condition != "com.microsoft:session-cannot-be-locked" {
		t.Fatalf("a second receiver of session a: %v, want session-cannot-be-locked", err)
	}

	if st, err := r.GetSessionState(t.Context(), nil); err != nil || st != nil {
		t.Fatalf("GetSessionState of a new session: %q %v", st, err)
	}
	if err := r.SetSessionState(t.Context(), []byte("step-3"), nil); err != nil {
		t.Fatalf("SetSessionState: %v", err)
	}
	if st, err := r.GetSessionState(t.Context(), nil); err != nil || string(st) != "step-3" {
		t.Fatalf("GetSessionState: %q %v", st, err)
	}
	before := r.LockedUntil()
	time.Sleep(20 * time.Millisecond)
	if err := r.RenewSessionLock(t.Context(), nil); err != nil {
		t.Fatalf("RenewSessionLock: %v", err)
	}
	if !r.LockedUntil().After(before) {
		t.Fatalf("RenewSessionLock: locked until %v, was %v", r.LockedUntil(), before)
	}
	peeked, err = r.PeekMessages(t.Context(), 10, &azservicebus.PeekMessagesOptions{FromSequenceNumber: new(int64)})
	if err != nil || len(peeked) != 0 {
		t.Fatalf("peek of the emptied session a: %v %v", bodies(peeked), err)
	}
	if err := r.SetSessionState(t.Context(), nil, nil); err != nil {
		t.Fatalf("SetSessionState(nil): %v", err)
	}
	if st, err := r.GetSessionState(t.Context(), nil); err != nil || st != nil {
		t.Fatalf("GetSessionState after clearing: %q %v", st, err)
	}
	if active, _ := b.counts(t, "tasks"); active != 2 {
		t.Fatalf("active messages left: %d, want session b's 2", active)
	}
}

// TestAcceptNextSession: AcceptNextSessionForQueue takes the sessions with messages, the
// oldest first, each once; with none left it fails with CodeTimeout once the client's
// time is up; a session released by its receiver can be taken again with its state.
func TestAcceptNextSession(t *testing.T) {
	_, c := sessionBroker(t)
	sendToSessions(t, c, "tasks", "x", "x1", "y", "y1", "x", "x2")
	first, err := c.AcceptNextSessionForQueue(t.Context(), "tasks", nil)
	if err != nil {
		t.Fatalf("AcceptNextSessionForQueue: %v", err)
	}
	second, err := c.AcceptNextSessionForQueue(t.Context(), "tasks", nil)
	if err != nil {
		t.Fatalf("AcceptNextSessionForQueue: %v", err)
	}
	if first.SessionID() != "x" || second.SessionID() != "y" {
		t.Fatalf("accepted %q then %q, want x then y", first.SessionID(), second.SessionID())
	}
	if got := bodies(receiveAll(t, first, 2)); !slices.Equal(got, []string{"x1", "x2"}) {
		t.Fatalf("session x got %v", got)
	}
	if err := first.SetSessionState(t.Context(), []byte("done"), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err = c.AcceptNextSessionForQueue(ctx, "tasks", nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeTimeout {
		t.Fatalf("AcceptNextSessionForQueue with no session free: %v, want CodeTimeout", err)
	}
	// The listing has x (state) and y (a message); y's next receiver waits until
	// second lets it go.
	pager := c.NewListSessionsForQueuePager("tasks", nil)
	var ids []string
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		ids = append(ids, page.Sessions...)
	}
	if !slices.Equal(ids, []string{"x", "y"}) {
		t.Fatalf("sessions listed: %v, want x y", ids)
	}
	if err := second.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := c.AcceptNextSessionForQueue(t.Context(), "tasks", nil)
	if err != nil || again.SessionID() != "y" {
		t.Fatalf("AcceptNextSessionForQueue after a release: %v %v", again, err)
	}
	defer again.Close(context.Background())
	if got := bodies(receiveAll(t, again, 1)); !slices.Equal(got, []string{"y1"}) {
		t.Fatalf("session y got %v", got)
	}
	if err := first.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	x, err := c.AcceptSessionForQueue(t.Context(), "tasks", "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(context.Background())
	if st, err := x.GetSessionState(t.Context(), nil); err != nil || string(st) != "done" {
		t.Fatalf("session x's state for its next receiver: %q %v", st, err)
	}
}

// TestSessionLockLost: a session lock left to expire is lost: the receiver's operations
// fail with session lock lost, and another receiver takes the session, its unsettled
// message included.
func TestSessionLockLost(t *testing.T) {
	_, c := sessionBroker(t)
	sendToSessions(t, c, "tasks", "z", "z1")
	r, err := c.AcceptSessionForQueue(t.Context(), "tasks", "z", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	ms, err := r.ReceiveMessages(t.Context(), 1, nil)
	if err != nil || len(ms) != 1 {
		t.Fatalf("receive: %v %v", ms, err)
	}
	time.Sleep(time.Until(r.LockedUntil()) + 300*time.Millisecond)
	err = r.RenewSessionLock(t.Context(), nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
		t.Fatalf("RenewSessionLock after expiry: %v, want CodeLockLost", err)
	}
	other, err := c.AcceptSessionForQueue(t.Context(), "tasks", "z", nil)
	if err != nil {
		t.Fatalf("accept the expired session: %v", err)
	}
	defer other.Close(context.Background())
	got := receiveAll(t, other, 1)
	if string(got[0].Body) != "z1" || got[0].DeliveryCount != 2 {
		t.Fatalf("the next receiver got %q, delivery count %d", got[0].Body, got[0].DeliveryCount)
	}
	// The SDK retries a session receiver's lost lock (it may be a link's hiccup): give it
	// little time.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := r.CompleteMessage(ctx, ms[0], nil); err == nil {
		t.Fatal("a message of a lost session completed")
	}
}

// TestSessionsConcurrentFIFO: several receivers accepting next sessions each get whole
// sessions in order, and every message once.
func TestSessionsConcurrentFIFO(t *testing.T) {
	_, c := sessionBroker(t)
	const sessions, per = 6, 5
	var pairs []string
	for i := range per {
		for s := range sessions {
			pairs = append(pairs, fmt.Sprintf("s%d", s), fmt.Sprintf("s%d-%d", s, i))
		}
	}
	sendToSessions(t, c, "tasks", pairs...)
	type result struct {
		id   string
		msgs []string
		err  error
	}
	results := make(chan result, sessions)
	for range 3 {
		go func() {
			for {
				ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
				r, err := c.AcceptNextSessionForQueue(ctx, "tasks", nil)
				cancel()
				if err != nil {
					return
				}
				var got []string
				for len(got) < per {
					ms, err := r.ReceiveMessages(t.Context(), per, nil)
					if err != nil {
						results <- result{err: err}
						return
					}
					for _, m := range ms {
						_ = r.CompleteMessage(t.Context(), m, nil)
						got = append(got, string(m.Body))
					}
				}
				results <- result{id: r.SessionID(), msgs: got}
				_ = r.Close(context.Background())
			}
		}()
	}
	seen := map[string]bool{}
	for range sessions {
		res := <-results
		if res.err != nil {
			t.Fatal(res.err)
		}
		want := make([]string, per)
		for i := range want {
			want[i] = fmt.Sprintf("%s-%d", res.id, i)
		}
		if seen[res.id] || !slices.Equal(res.msgs, want) {
			t.Fatalf("session %s: %v (seen before: %v)", res.id, res.msgs, seen[res.id])
		}
		seen[res.id] = true
	}
}

// FuzzSessionFilter: whatever a receiver's session filter holds, it is read without
// panicking, and only a session id of 1 to 128 bytes (or null) is taken.
func FuzzSessionFilter(f *testing.F) {
	f.Add("a", true, uint8(0))
	f.Add("", false, uint8(1))
	f.Add(strings.Repeat("x", 129), true, uint8(0))
	f.Fuzz(func(t *testing.T, id string, described bool, kind uint8) {
		var v any
		switch kind % 4 {
		case 0:
			v = id
		case 1:
			v = nil
		case 2:
			v = []byte(id)
		default:
			v = int64(len(id))
		}
		if described {
			v = amqp.Described{Descriptor: uint64(0x137000000C), Value: v}
		}
		var filter amqp.Map
		filter.Set(filterSession, v)
		got, ok, bad := sessionFilter(&amqp.Source{Filter: filter})
		if !ok {
			t.Fatal("a session filter was not seen")
		}
		switch kind % 4 {
		case 0:
			if wantBad := id == "" || len(id) > 128; bad != wantBad || (!bad && got != id) {
				t.Fatalf("session %q: got %q, bad %v", id, got, bad)
			}
		case 1:
			if bad || got != "" {
				t.Fatalf("null: got %q, bad %v", got, bad)
			}
		default:
			if !bad {
				t.Fatalf("a %T was taken as a session id", v)
			}
		}
		link := &amqp.Link{Remote: &amqp.Attach{}}
		link.Remote.Properties.Set(propertyTimeout, uint32(len(id))*1000)
		if d := acceptTimeout(link); d <= 0 || d > maxAcceptTimeout {
			t.Fatalf("accept timeout %v", d)
		}
	})
}
