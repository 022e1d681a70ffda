package servicebus

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/sbfilter"
)

// FuzzAddRuleBody: any add-rule body either is refused with a 4xx/501 answer or gives a
// rule whose enumerate-rules description encodes.
func FuzzAddRuleBody(f *testing.F) {
	for _, body := range []amqp.Map{
		{{Key: "rule-name", Value: "r"}, {Key: "rule-description", Value: amqp.Map{{Key: "sql-filter", Value: amqp.Map{{Key: "expression", Value: "a = 1"}}},
			{Key: "sql-rule-action", Value: amqp.Map{{Key: "expression", Value: "SET b = 2"}}}}}},
		{{Key: "rule-name", Value: "c"}, {Key: "rule-description", Value: amqp.Map{{Key: "correlation-filter", Value: amqp.Map{
			{Key: "correlation-id", Value: "x"}, {Key: "label", Value: nil}, {Key: "properties", Value: amqp.Map{{Key: "k", Value: "v"}}}}}}}},
	} {
		raw, err := amqp.Marshal(body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	q := subscriptionAsQueue(lanyard.NewServiceBusSubscription("ns", "t", "s"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, _, err := amqp.Unmarshal(raw)
		body, ok := v.(amqp.Map)
		if err != nil || !ok {
			return
		}
		r, resp, bad := ruleOf(q, body)
		if bad {
			if resp.status < 400 || resp.status > 501 {
				t.Fatalf("a refusal with status %d", resp.status)
			}
			return
		}
		if r.Name == "" || r.Topic != "t" || r.Subscription != "s" {
			t.Fatalf("rule %+v", r)
		}
		if _, err := amqp.Marshal(describeRule(r)); err != nil {
			t.Fatalf("describe %+v: %v", r, err)
		}
	})
}

// FuzzRuleActionCopy: for any message, the copy an action makes decodes, carries the
// action's change and keeps the body and the properties the action left alone.
func FuzzRuleActionCopy(f *testing.F) {
	m := &amqp.Message{Properties: &amqp.Properties{MessageID: "m1", To: "x", Subject: "s"}, Data: [][]byte{[]byte("body")}}
	m.ApplicationProperties.Set("keep", int32(7))
	m.ApplicationProperties.Set("drop", "gone")
	seed, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	action, err := sbfilter.ParseAction("SET tagged = 'yes'; REMOVE drop; SET sys.To = 'routed'")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := amqp.UnmarshalMessage(raw)
		if err != nil {
			return
		}
		now := time.Unix(1_700_000_000, 0)
		before := propertiesOf(m, messaging.Message{Raw: raw}, now)
		after := before
		if err := action.Apply(&after); err != nil {
			return
		}
		enc, err := rewrite(m, before, after)
		if err != nil {
			return // a message whose own values do not encode again (the store keeps what was sent)
		}
		got, err := amqp.UnmarshalMessage(enc)
		if err != nil {
			t.Fatalf("the copy does not decode: %v", err)
		}
		if got.Properties == nil || got.Properties.To != "routed" {
			t.Fatalf("sys.To of the copy: %+v", got.Properties)
		}
		if v, _ := got.ApplicationProperties.Get("tagged"); v != "yes" {
			t.Fatalf("tagged = %v", v)
		}
		if _, ok := got.ApplicationProperties.Get("drop"); ok {
			t.Fatal("drop was not removed")
		}
		if len(got.Data) != len(m.Data) || got.HasValue != m.HasValue || len(got.Sequence) != len(m.Sequence) {
			t.Fatal("the body changed")
		}
		for _, kv := range m.ApplicationProperties {
			if k, ok := kv.Key.(string); ok && k != "drop" && k != "tagged" {
				if _, ok := got.ApplicationProperties.Get(k); !ok && userHas(after, k) {
					t.Fatalf("property %q was lost", k)
				}
			}
		}
	})
}

func userHas(p sbfilter.Properties, k string) bool { _, ok := p.User[k]; return ok }
