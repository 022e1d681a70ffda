package servicebus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"
)

// rpc is a request-response link pair, as the SDKs attach them to $cbs and $management.
type rpc struct {
	sender   *goamqp.Sender
	receiver *goamqp.Receiver
	replyTo  string
	n        int
}

func (b *broker) dial(t *testing.T) (*goamqp.Conn, *goamqp.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := goamqp.Dial(ctx, "amqps://"+b.addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous(),
		TLSConfig: &tls.Config{RootCAs: b.roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, sess
}

func newRPC(t *testing.T, sess *goamqp.Session, node string) *rpc {
	t.Helper()
	ctx := t.Context()
	replyTo := node + "-reply-to-test"
	s, err := sess.NewSender(ctx, node, nil)
	if err != nil {
		t.Fatalf("attach %s: %v", node, err)
	}
	r, err := sess.NewReceiver(ctx, node, &goamqp.ReceiverOptions{TargetAddress: replyTo, Credit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return &rpc{sender: s, receiver: r, replyTo: replyTo}
}

// call sends one request and returns the answer's status, description and body.
func (p *rpc) call(t *testing.T, props map[string]any, body any) (int32, string, any) {
	t.Helper()
	p.n++
	id := fmt.Sprintf("req-%d", p.n)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.sender.Send(ctx, &goamqp.Message{Properties: &goamqp.MessageProperties{MessageID: id, ReplyTo: &p.replyTo},
		ApplicationProperties: props, Value: body}, nil); err != nil {
		t.Fatalf("request: %v", err)
	}
	m, err := p.receiver.Receive(ctx, nil)
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	_ = p.receiver.AcceptMessage(ctx, m)
	if m.Properties == nil || m.Properties.CorrelationID != id {
		t.Fatalf("answer correlates with %v, want %s", m.Properties, id)
	}
	status, _ := m.ApplicationProperties["status-code"].(int32)
	desc, _ := m.ApplicationProperties["status-description"].(string)
	return status, desc, m.Value
}

func putToken(t *testing.T, cbs *rpc, typ, name, tok string) (int32, string) {
	t.Helper()
	status, desc, _ := cbs.call(t, map[string]any{"operation": "put-token", "type": typ, "name": name,
		"expiration": fmt.Sprint(time.Now().Add(time.Hour).Unix())}, tok)
	return status, desc
}

// TestPutToken: the claims a connection may hold, and what is refused.
func TestPutToken(t *testing.T) {
	b := newBroker(t, nil)
	_, sess := b.dial(t)
	cbs := newRPC(t, sess, "$cbs")
	name := "amqps://localhost/orders"
	for _, c := range []struct {
		typ, name, token string
		status           int32
		says             string
	}{
		{"jwt", name, "token-app", 202, "Accepted"},
		{"amqp:jwt", name + "/$management", "token-app", 202, "Accepted"},
		{"servicebus.windows.net:sastoken", name, "SharedAccessSignature sr=x", 400, "no SAS keys"},
		{"jwt", name, "not-a-token", 401, "does not verify"},
		{"jwt", "", "", 400, "needs a name"},
	} {
		status, desc := putToken(t, cbs, c.typ, c.name, c.token)
		if status != c.status || !strings.Contains(desc, c.says) {
			t.Errorf("put-token %s %q %q: %d %q, want %d %q", c.typ, c.name, c.token, status, desc, c.status, c.says)
		}
	}
	if status, desc, _ := cbs.call(t, map[string]any{"operation": "delete-token"}, nil); status != 400 || !strings.Contains(desc, "put-token") {
		t.Errorf("another $cbs operation: %d %q", status, desc)
	}
}

// TestAConnectionWithoutClaimsIsClosed: no valid put-token within ClaimTimeout closes the
// connection with amqp:unauthorized-access.
func TestAConnectionWithoutClaimsIsClosed(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.ClaimTimeout = 300 * time.Millisecond })
	_, sess := b.dial(t)
	cbs := newRPC(t, sess, "$cbs")
	if status, _ := putToken(t, cbs, "jwt", "amqps://localhost/orders", "bad"); status != 401 {
		t.Fatalf("a bad token: %d", status)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := cbs.receiver.Receive(ctx, nil)
	var connErr *goamqp.ConnError
	if !errors.As(err, &connErr) || connErr.RemoteErr == nil || connErr.RemoteErr.Condition != goamqp.ErrCondUnauthorizedAccess {
		t.Fatalf("after the claim timeout: %v", err)
	}
}

// TestManagementOperations: update-disposition, renew-lock and peek-message as the SDKs'
// $management requests, with lock tokens in RFC order, and their errors: a lost lock is
// 410, a request without lock tokens 400, part 2's operations 501.
func TestManagementOperations(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	sendN(t, b.client(t, "app"), "orders", "a", "b")
	_, sess := b.dial(t)
	cbs := newRPC(t, sess, "$cbs")
	if status, _ := putToken(t, cbs, "jwt", "amqps://localhost/orders", "token-app"); status != 202 {
		t.Fatal(status)
	}
	mgmt := newRPC(t, sess, "orders/$management")
	recv, err := sess.NewReceiver(t.Context(), "orders", &goamqp.ReceiverOptions{SettlementMode: goamqp.ReceiverSettleModeSecond.Ptr(), Credit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var tokens []goamqp.UUID
	for range 2 {
		m, err := recv.Receive(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, goamqp.UUID(dotNetOrder([16]byte(m.DeliveryTag))))
	}
	status, _, body := mgmt.call(t, map[string]any{"operation": "com.microsoft:renew-lock"}, map[string]any{"lock-tokens": tokens})
	if exp, _ := body.(map[string]any)["expirations"].([]time.Time); status != 200 || len(exp) != 2 || !exp[0].After(time.Now()) {
		t.Fatalf("renew-lock: %d %v", status, body)
	}
	status, _, body = mgmt.call(t, map[string]any{"operation": "com.microsoft:peek-message"}, map[string]any{"from-sequence-number": int64(2), "message-count": int32(5)})
	if msgs, _ := body.(map[string]any)["messages"].([]any); status != 200 || len(msgs) != 1 {
		t.Fatalf("peek-message: %d %v", status, body)
	}
	complete := map[string]any{"disposition-status": "completed", "lock-tokens": tokens[:1]}
	if status, desc, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:update-disposition"}, complete); status != 200 {
		t.Fatalf("update-disposition completed: %d %s", status, desc)
	}
	if status, _, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:update-disposition"}, complete); status != 410 {
		t.Fatalf("a second completion: %d, want 410", status)
	}
	reason := "Bad"
	dl := map[string]any{"disposition-status": "suspended", "lock-tokens": tokens[1:], "deadletter-reason": &reason}
	if status, desc, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:update-disposition"}, dl); status != 200 {
		t.Fatalf("update-disposition suspended: %d %s", status, desc)
	}
	if status, _, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:renew-lock"}, map[string]any{}); status != 400 {
		t.Errorf("renew-lock without tokens: %d", status)
	}
	if status, _, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:no-such"}, map[string]any{}); status != 501 {
		t.Errorf("an unknown operation: %d, want 501", status)
	}
	// Session operations on a queue without sessions are refused, not ignored.
	if status, _, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:get-message-sessions"}, map[string]any{}); status != 400 {
		t.Errorf("get-message-sessions on a queue without sessions: %d, want 400", status)
	}
	c, err := b.store.Counts(t.Context(), QueueOf(b.entities.queues["orders"]))
	if err != nil || c.Active != 0 || c.DeadLetter != 1 {
		t.Fatalf("counts after the settlements: %+v %v", c, err)
	}
}

// TestManagementNeedsItsClaimAndRole: $management refuses an attach without a claim, and
// an operation without the receive action.
func TestManagementNeedsItsClaimAndRole(t *testing.T) {
	b := newBroker(t, nil)
	_, sess := b.dial(t)
	if _, err := sess.NewSender(t.Context(), "orders/$management", nil); err == nil || !strings.Contains(err.Error(), "unauthorized-access") {
		t.Fatalf("attach to $management without a claim: %v", err)
	}
	cbs := newRPC(t, sess, "$cbs")
	if status, _ := putToken(t, cbs, "jwt", "amqps://localhost/orders", "token-app"); status != 202 {
		t.Fatal(status)
	}
	mgmt := newRPC(t, sess, "orders/$management")
	status, _, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:peek-message"}, map[string]any{"from-sequence-number": int64(1), "message-count": int32(1)})
	if status != 401 {
		t.Fatalf("peek without the receive action: %d", status)
	}
}
