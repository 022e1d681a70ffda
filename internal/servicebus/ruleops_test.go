package servicebus

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// TestRuleOperations: add-rule, remove-rule and enumerate-rules on a subscription's
// $management node, with the maps and described types the rule managers use; a rule
// added applies to the next send.
func TestRuleOperations(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allowAt("listener", actionReceive, "topics/events/subscriptions/work")
	b.entities.subscribe("events", "work", defaultRule())
	_, sess := b.dial(t)
	cbs := newRPC(t, sess, "$cbs")
	if status, _ := putToken(t, cbs, "jwt", "amqps://localhost/events/Subscriptions/work", "token-listener"); status != 202 {
		t.Fatal(status)
	}
	mgmt := newRPC(t, sess, "events/Subscriptions/work/$management")
	call := func(op string, body map[string]any) (int32, string, any) {
		return mgmt.call(t, map[string]any{"operation": "com.microsoft:" + op}, body)
	}
	sqlDesc := func(expr string) map[string]any {
		return map[string]any{"sql-filter": map[string]any{"expression": expr}}
	}
	if status, desc, _ := call("add-rule", map[string]any{"rule-name": "red", "rule-description": map[string]any{
		"sql-filter": map[string]any{"expression": "color = 'red'"}, "sql-rule-action": map[string]any{"expression": "SET seen = 1"}}}); status != 200 {
		t.Fatalf("add-rule: %d %s", status, desc)
	}
	if status, desc, _ := call("add-rule", map[string]any{"rule-name": "vip", "rule-description": map[string]any{
		"correlation-filter": map[string]any{"correlation-id": "c1", "label": nil, "properties": map[string]any{"tier": "gold"}}}}); status != 200 {
		t.Fatalf("add-rule with a correlation filter: %d %s", status, desc)
	}
	if status, _, _ := call("add-rule", map[string]any{"rule-name": "red", "rule-description": sqlDesc("1=1")}); status != 409 {
		t.Errorf("add-rule of a name taken: %d, want 409", status)
	}
	if status, _, _ := call("add-rule", map[string]any{"rule-name": "bad", "rule-description": sqlDesc("color =")}); status != 400 {
		t.Errorf("add-rule with a bad filter: %d, want 400", status)
	}
	if status, _, _ := call("add-rule", map[string]any{"rule-name": "nofilter", "rule-description": map[string]any{}}); status != 400 {
		t.Errorf("add-rule without a filter: %d, want 400", status)
	}
	if status, _, _ := call("add-rule", map[string]any{"rule-name": "int", "rule-description": map[string]any{
		"correlation-filter": map[string]any{"properties": map[string]any{"n": int64(5)}}}}); status != 501 {
		t.Errorf("add-rule with a correlation property that is not a string: %d, want 501", status)
	}

	status, _, body := call("enumerate-rules", map[string]any{"top": int32(10), "skip": int32(0)})
	rules, _ := body.(map[string]any)["rules"].([]any)
	if status != 200 || len(rules) != 3 {
		t.Fatalf("enumerate-rules: %d %v", status, body)
	}
	got := map[string]described{}
	for _, r := range rules {
		d := describedOf(r.(map[string]any)["rule-description"])
		if d.Descriptor != uint64(0x0000013700000004) || len(d.Value) < 4 {
			t.Fatalf("a rule description: %#v", r)
		}
		got[d.Value[2].(string)] = d
	}
	filterOf := func(name string) (described, described) {
		f := got[name].Value
		return describedOf(f[0]), describedOf(f[1])
	}
	if f, a := filterOf("$Default"); f.Descriptor != uint64(0x1370000007) || a.Descriptor != uint64(0x13700000005) {
		t.Errorf("$Default: filter %#v, action %#v", f, a)
	}
	if f, a := filterOf("red"); f.Descriptor != uint64(0x1370000006) || f.Value[0] != "color = 'red'" ||
		a.Descriptor != uint64(0x13700000006) || a.Value[0] != "SET seen = 1" {
		t.Errorf("red: filter %#v, action %#v", f, a)
	}
	if f, _ := filterOf("vip"); f.Descriptor != uint64(0x1370000009) || f.Value[0] != "c1" || f.Value[8].(map[string]any)["tier"] != "gold" {
		t.Errorf("vip: filter %#v", f)
	}
	if status, _, body := call("enumerate-rules", map[string]any{"top": int32(1), "skip": int32(1)}); status != 200 || len(body.(map[string]any)["rules"].([]any)) != 1 {
		t.Errorf("enumerate-rules top 1 skip 1: %d %v", status, body)
	}
	if status, _, _ := call("enumerate-rules", map[string]any{"top": int32(10), "skip": int32(3)}); status != 204 {
		t.Errorf("enumerate-rules past the end: %d, want 204", status)
	}

	if status, desc, _ := call("remove-rule", map[string]any{"rule-name": "$Default"}); status != 200 {
		t.Fatalf("remove-rule: %d %s", status, desc)
	}
	if status, _, _ := call("remove-rule", map[string]any{"rule-name": "$Default"}); status != 404 {
		t.Errorf("remove-rule of a missing rule: %d, want 404", status)
	}

	// Now only red messages reach the subscription, changed by the action.
	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	for _, color := range []string{"blue", "red"} {
		if err := s.SendMessage(t.Context(), &azservicebus.Message{MessageID: ptr(color), ApplicationProperties: map[string]any{"color": color}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	m := drain(t, b.client(t, "listener"), "events", "work", 1)[0]
	if m.MessageID != "red" || m.ApplicationProperties["seen"] != int64(1) || m.ApplicationProperties["RuleName"] != "red" {
		t.Fatalf("after the rule changes: %s %+v", m.MessageID, m.ApplicationProperties)
	}
}

// TestRuleOperationsNeedListen: a rule manager needs the receive action at the
// subscription (Service Bus's Listen), not at another one; rules belong to subscriptions.
func TestRuleOperationsNeedListen(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allowAt("other", actionReceive, "topics/events/subscriptions/other")
	b.entities.subscribe("events", "work", defaultRule())
	b.entities.subscribe("events", "other", defaultRule())
	_, sess := b.dial(t)
	cbs := newRPC(t, sess, "$cbs")
	if status, _ := putToken(t, cbs, "jwt", "amqps://localhost/events", "token-other"); status != 202 {
		t.Fatal(status)
	}
	for _, node := range []string{"events/Subscriptions/work/$management", "events/$management"} {
		mgmt := newRPC(t, sess, node)
		status, desc, _ := mgmt.call(t, map[string]any{"operation": "com.microsoft:add-rule"},
			map[string]any{"rule-name": "r", "rule-description": map[string]any{"sql-filter": map[string]any{"expression": "1=1"}}})
		if node == "events/$management" && status != 400 || node != "events/$management" && status != 401 {
			t.Errorf("add-rule on %s: %d %s", node, status, desc)
		}
	}
}

// TestTopicRoles: sending to a topic needs the send action at the topic; receiving from
// a subscription the receive action at the topic or the subscription; a role on one
// subscription does not reach another; a claim on the topic covers its subscriptions.
func TestTopicRoles(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allowAt("publisher", actionSend, "topics/events")
	b.auth.allowAt("reader", actionReceive, "topics/events/subscriptions/a")
	b.auth.allowAt("all", actionReceive, "topics/events")
	b.entities.subscribe("events", "a", defaultRule())
	b.entities.subscribe("events", "b", defaultRule())
	sendN(t, b.client(t, "publisher"), "events", "one")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	refused := func(c *azservicebus.Client, sub string) error {
		r, err := c.NewReceiverForSubscription("events", sub, nil)
		if err != nil {
			return err
		}
		defer r.Close(context.Background())
		_, err = r.ReceiveMessages(ctx, 1, nil)
		return err
	}
	if err := refused(b.client(t, "reader"), "b"); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("a reader of a receiving from b: %v", err)
	}
	drain(t, b.client(t, "reader"), "events", "a", 1)
	drain(t, b.client(t, "all"), "events", "b", 1)
	s, err := b.client(t, "reader").NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(ctx, &azservicebus.Message{}, nil); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("a reader sending: %v", err)
	}
	s, err = b.client(t, "publisher").NewSender("events/Subscriptions/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(ctx, &azservicebus.Message{}, nil); err == nil || !strings.Contains(err.Error(), "not-allowed") {
		t.Errorf("sending to a subscription: %v", err)
	}
}

// described is a described list as go-amqp decodes it (its type is internal to it).
type described struct {
	Descriptor any
	Value      []any
}

func describedOf(v any) described {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || !rv.FieldByName("Descriptor").IsValid() {
		return described{}
	}
	list, _ := rv.FieldByName("Value").Interface().([]any)
	return described{Descriptor: rv.FieldByName("Descriptor").Interface(), Value: list}
}
