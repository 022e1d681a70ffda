package servicebus

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	goamqp "github.com/Azure/go-amqp"
)

// sessionTopic is a broker whose topic "events" has the session-enabled subscription
// "tasks" and the plain subscription "plain", both taking every message.
func sessionTopic(t *testing.T) (*broker, *azservicebus.Client) {
	t.Helper()
	b := newBroker(t, nil)
	b.entities.subscribe("events", "plain", defaultRule())
	s := b.entities.subscribe("events", "tasks", defaultRule())
	s.RequiresSession = true
	b.entities.mu.Lock()
	b.entities.subs[subKey("events", "tasks")] = s
	b.entities.mu.Unlock()
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	return b, b.client(t, "app")
}

// TestSubscriptionSessions: a session-enabled subscription through azservicebus:
// AcceptSessionForSubscription takes one session's copies in order, and only those; a
// second receiver of it is refused; session state and RenewSessionLock work over the
// subscription's $management; AcceptNextSessionForSubscription takes the next session;
// the sessions are listed; a plain receiver of it is refused while the plain subscription
// takes every message.
func TestSubscriptionSessions(t *testing.T) {
	_, c := sessionTopic(t)
	sendToSessions(t, c, "events", "a", "a1", "b", "b1", "a", "a2", "b", "b2", "a", "a3")
	r, err := c.AcceptSessionForSubscription(t.Context(), "events", "tasks", "a", nil)
	if err != nil {
		t.Fatalf("AcceptSessionForSubscription: %v", err)
	}
	defer r.Close(context.Background())
	if r.SessionID() != "a" || time.Until(r.LockedUntil()) <= 0 {
		t.Fatalf("session %q locked until %v", r.SessionID(), r.LockedUntil())
	}
	peeked, err := r.PeekMessages(t.Context(), 10, nil)
	if got := bodies(peeked); err != nil || !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("peek of session a: %v %v", got, err)
	}
	got := receiveAll(t, r, 3)
	if b := bodies(got); !slices.Equal(b, []string{"a1", "a2", "a3"}) || got[0].SessionID == nil || *got[0].SessionID != "a" {
		t.Fatalf("session a got %v, want a1 a2 a3 with session id a", b)
	}
	_, err = c.AcceptSessionForSubscription(t.Context(), "events", "tasks", "a", nil)
	var ae *goamqp.Error
	if !errors.As(err, &ae) || ae.Condition != "com.microsoft:session-cannot-be-locked" {
		t.Fatalf("a second receiver of session a: %v, want session-cannot-be-locked", err)
	}
	if st, err := r.GetSessionState(t.Context(), nil); err != nil || st != nil {
		t.Fatalf("GetSessionState of a new session: %q %v", st, err)
	}
	if err := r.SetSessionState(t.Context(), []byte("a-done"), nil); err != nil {
		t.Fatalf("SetSessionState: %v", err)
	}
	if st, err := r.GetSessionState(t.Context(), nil); err != nil || string(st) != "a-done" {
		t.Fatalf("GetSessionState: %q %v", st, err)
	}
	before := r.LockedUntil()
	time.Sleep(20 * time.Millisecond)
	if err := r.RenewSessionLock(t.Context(), nil); err != nil || !r.LockedUntil().After(before) {
		t.Fatalf("RenewSessionLock: %v, locked until %v, was %v", err, r.LockedUntil(), before)
	}

	next, err := c.AcceptNextSessionForSubscription(t.Context(), "events", "tasks", nil)
	if err != nil || next.SessionID() != "b" {
		t.Fatalf("AcceptNextSessionForSubscription: %v %v", next, err)
	}
	defer next.Close(context.Background())
	if b := bodies(receiveAll(t, next, 2)); !slices.Equal(b, []string{"b1", "b2"}) {
		t.Fatalf("session b got %v", b)
	}
	pager := c.NewListSessionsForSubscriptionPager("events", "tasks", nil)
	var ids []string
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		ids = append(ids, page.Sessions...)
	}
	if !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("sessions listed: %v, want a (its state)", ids)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err = c.AcceptNextSessionForSubscription(ctx, "events", "tasks", nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeTimeout {
		t.Fatalf("AcceptNextSessionForSubscription with no session left: %v, want CodeTimeout", err)
	}

	plain, err := c.NewReceiverForSubscription("events", "tasks", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close(context.Background())
	if _, err := plain.ReceiveMessages(t.Context(), 1, nil); !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondNotAllowed {
		t.Fatalf("a plain receiver of a session-enabled subscription: %v, want amqp:not-allowed", err)
	}
	if got := drain(t, c, "events", "plain", 5); len(got) != 5 {
		t.Fatalf("the plain subscription got %d messages", len(got))
	}
	if _, err := c.AcceptSessionForSubscription(t.Context(), "events", "plain", "a", nil); err == nil {
		t.Fatal("a session receiver attached to a subscription without sessions")
	}
}

// TestSubscriptionSessionWithoutID: a message without a session id sent to a topic with a
// session-enabled subscription is accepted, as Service Bus does: the plain subscription
// gets it, and the session-enabled one's copy goes to its dead-letter queue with Service
// Bus's reason.
func TestSubscriptionSessionWithoutID(t *testing.T) {
	_, c := sessionTopic(t)
	sendN(t, c, "events", "no session")
	drain(t, c, "events", "plain", 1)
	dlq, err := c.NewReceiverForSubscription("events", "tasks", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close(context.Background())
	dead := receive(t, dlq, 1)
	if len(dead) != 1 || string(dead[0].Body) != "no session" || deref(dead[0].DeadLetterReason) != "Session id is null." ||
		deref(dead[0].DeadLetterErrorDescription) != "Session enabled entity doesn't allow a message whose session identifier is null." {
		t.Fatalf("the session-enabled subscription's dead-letter queue: %+v", dead)
	}
	if err := dlq.CompleteMessage(t.Context(), dead[0], nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if r, err := c.AcceptNextSessionForSubscription(ctx, "events", "tasks", nil); err == nil {
		t.Fatalf("a session was accepted from the dead-lettered copy: %q", r.SessionID())
	}
}
