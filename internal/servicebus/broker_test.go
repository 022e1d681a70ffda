package servicebus

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/coder/websocket"
)

func sbCode(err error) string {
	var e *azservicebus.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return ""
}

func sendN(t *testing.T, c *azservicebus.Client, queue string, bodies ...string) {
	t.Helper()
	s, err := c.NewSender(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for _, b := range bodies {
		if err := s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte(b)}, nil); err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
	}
}

func receive(t *testing.T, r *azservicebus.Receiver, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	var out []*azservicebus.ReceivedMessage
	for len(out) < n {
		got, err := r.ReceiveMessages(ctx, n-len(out), nil)
		if err != nil {
			if ctx.Err() != nil {
				return out
			}
			t.Fatalf("receive: %v", err)
		}
		out = append(out, got...)
	}
	return out
}

// TestRolesDecideLinks: a sender needs the send data action at the queue and a receiver
// the receive one; the refusals reach the SDK as unauthorized, and each decision names
// the queue's scope.
func TestRolesDecideLinks(t *testing.T) {
	b := newBroker(t, nil)
	c := b.client(t, "app")
	s, err := c.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte("x")}, nil)
	if sbCode(err) != string(azservicebus.CodeUnauthorizedAccess) {
		t.Fatalf("send without a role: %v", err)
	}
	b.auth.allow("app", actionSend)
	sendN(t, b.client(t, "app"), "orders", "one")
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReceiveMessages(t.Context(), 1, nil); sbCode(err) != string(azservicebus.CodeUnauthorizedAccess) {
		t.Fatalf("receive with the send action only: %v", err)
	}
	b.auth.mu.Lock()
	decisions := strings.Join(b.auth.decisions, "\n")
	b.auth.mu.Unlock()
	for _, want := range []string{
		"app " + actionSend + " queues/orders false", "app " + actionSend + " queues/orders true", "app " + actionReceive + " queues/orders false",
	} {
		if !strings.Contains(decisions, want) {
			t.Errorf("decisions lack %q:\n%s", want, decisions)
		}
	}
}

// TestPeekLockOnTheWire: what a receiver gets and how it settles: sequence numbers, delivery
// counts, lock tokens (renewed through $management, which takes them in RFC order while the
// delivery tag carries .NET's), abandon, dead-letter with the receiver's reason, the
// dead-letter queue, the broker's dead-lettering after max delivery count, a lost lock.
func TestPeekLockOnTheWire(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	sendN(t, c, "orders", "a", "b", "c")
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, r, 3)
	if len(got) != 3 || string(got[0].Body) != "a" || *got[0].SequenceNumber != 1 || got[0].DeliveryCount != 1 || got[0].EnqueuedTime == nil {
		t.Fatalf("first receive: %+v", got)
	}
	before := *got[0].LockedUntil
	time.Sleep(20 * time.Millisecond)
	if err := r.RenewMessageLock(t.Context(), got[0], nil); err != nil || !got[0].LockedUntil.After(before) {
		t.Fatalf("renew: %v (%v → %v)", err, before, got[0].LockedUntil)
	}
	if err := r.CompleteMessage(t.Context(), got[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AbandonMessage(t.Context(), got[1], nil); err != nil {
		t.Fatal(err)
	}
	reason, desc := "Bad", "unreadable"
	if err := r.DeadLetterMessage(t.Context(), got[2], &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 3; i++ { // b's second and third deliveries, then max delivery count
		again := receive(t, r, 1)
		if len(again) != 1 || string(again[0].Body) != "b" || again[0].DeliveryCount != uint32(i) {
			t.Fatalf("redelivery %d: %+v", i, again)
		}
		if err := r.AbandonMessage(t.Context(), again[0], nil); err != nil {
			t.Fatal(err)
		}
	}
	dlq, err := c.NewReceiverForQueue("orders", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	dead := receive(t, dlq, 2)
	// In sequence order: b (dead-lettered by the broker), then c (by the receiver).
	if len(dead) != 2 || deref(dead[1].DeadLetterReason) != "Bad" || deref(dead[1].DeadLetterErrorDescription) != "unreadable" ||
		deref(dead[0].DeadLetterReason) != "MaxDeliveryCountExceeded" || deref(dead[0].DeadLetterSource) != "orders" {
		for _, m := range dead {
			t.Logf("%s: reason %v description %v source %v", m.Body, deref(m.DeadLetterReason), deref(m.DeadLetterErrorDescription), deref(m.DeadLetterSource))
		}
		t.Fatalf("dead-letter queue: %d messages", len(dead))
	}
	for _, m := range dead {
		if err := dlq.CompleteMessage(t.Context(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	sendN(t, c, "orders", "late")
	late := receive(t, r, 1)
	time.Sleep(2100 * time.Millisecond) // the queue's lock duration is 2s
	if err := r.CompleteMessage(t.Context(), late[0], nil); sbCode(err) != string(azservicebus.CodeLockLost) {
		t.Fatalf("completion after the lock expired: %v", err)
	}
	if again := receive(t, r, 1); len(again) != 1 || string(again[0].Body) != "late" || again[0].DeliveryCount != 2 {
		t.Fatalf("redelivery after the lock expired: %+v", again)
	}
}

// TestOpenLinksFollowGrants: a receiver's link is detached once its principal is revoked.
func TestOpenLinksFollowGrants(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionReceive)
	r, err := b.client(t, "app").NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, _ = r.ReceiveMessages(ctx, 1, nil) // attaches the link
	cancel()
	b.auth.revoke("app")
	start := time.Now()
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = r.ReceiveMessages(ctx, 1, nil)
	if sbCode(err) != string(azservicebus.CodeUnauthorizedAccess) {
		t.Fatalf("receive after revocation: %v", err)
	}
	t.Logf("detached %v after the revocation", time.Since(start).Round(time.Millisecond))
}

// TestPartTwoIsRefusedClearly: sessions answer not-implemented, a receiver on a topic
// not-allowed, and a missing queue not-found.
func TestPartTwoIsRefusedClearly(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	r, err := c.NewReceiverForQueue("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReceiveMessages(t.Context(), 1, nil); err == nil || !strings.Contains(err.Error(), "not-allowed") {
		t.Errorf("receive from a topic: %v", err)
	}
	s, err := c.NewSender("nowhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte("x")}, nil); err == nil || !strings.Contains(err.Error(), "amqp:not-found") {
		t.Errorf("send to a missing queue: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.AcceptNextSessionForQueue(ctx, "orders", nil); err == nil || !strings.Contains(err.Error(), "amqp:not-allowed") {
		t.Errorf("session receiver of a queue without sessions: %v", err)
	}
}

// TestAQueueGoneDetachesItsLinks: deleting a queue detaches its receivers.
func TestAQueueGoneDetachesItsLinks(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionReceive)
	r, err := b.client(t, "app").NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, _ = r.ReceiveMessages(ctx, 1, nil)
	cancel()
	b.entities.remove("orders")
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := r.ReceiveMessages(ctx, 1, nil); err == nil || !strings.Contains(err.Error(), "amqp:not-found") {
		t.Fatalf("receive from a deleted queue: %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestAMQPOverWebSockets: the unmodified azservicebus with its WebSocket option reaches
// the namespace's listener at /$servicebus/websocket, on the same port as AMQP.
func TestAMQPOverWebSockets(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	_, port, _ := net.SplitHostPort(b.addr)
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: b.roots, MinVersion: tls.VersionTLS12}}}
	var dialed string
	c, err := azservicebus.NewClient("localhost:"+port, credential("app"), &azservicebus.ClientOptions{
		NewWebSocketConn: func(ctx context.Context, args azservicebus.NewWebSocketConnArgs) (net.Conn, error) {
			dialed = args.Host
			ws, _, err := websocket.Dial(ctx, args.Host, &websocket.DialOptions{Subprotocols: []string{"amqp"}, HTTPClient: httpClient})
			if err != nil {
				return nil, err
			}
			return websocket.NetConn(ctx, ws, websocket.MessageBinary), nil
		},
		RetryOptions: azservicebus.RetryOptions{MaxRetries: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	sendN(t, c, "orders", "over-websockets")
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, r, 1)
	if len(got) != 1 || string(got[0].Body) != "over-websockets" {
		t.Fatalf("received %+v", got)
	}
	if err := r.CompleteMessage(t.Context(), got[0], nil); err != nil {
		t.Fatal(err)
	}
	if dialed != "wss://localhost:"+port+WebSocketPath {
		t.Errorf("the SDK dialed %q", dialed)
	}
	// Anything but the WebSocket path is not found.
	res, err := httpClient.Get("https://localhost:" + port + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere: %d", res.StatusCode)
	}
}
