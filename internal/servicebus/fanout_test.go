package servicebus

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// TestTopicFanOut: what is sent to a topic (one by one and in a batch) reaches exactly the
// subscriptions whose rules select it: SQL filters over system and application
// properties (LIKE, IN, EXISTS, IS NULL, arithmetic), correlation filters, $Default; a
// rule's action changes that subscription's copy only; a subscription without rules, or
// a message no rule selects, gets nothing.
func TestTopicFanOut(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	e := b.entities
	e.subscribe("events", "big-red", sqlRule("r", "color = 'red' AND quantity * 2 > 2 + 4", ""))
	e.subscribe("events", "orders", sqlRule("label", "sys.Label LIKE 'ord%'", ""), sqlRule("region", "region IN ('eu', 'us')", ""))
	e.subscribe("events", "urgent", sqlRule("r", "EXISTS(priority) AND note IS NULL AND sys.ContentType = 'application/json'", ""))
	e.subscribe("events", "audit", lanyard.ServiceBusRule{Name: "c", FilterType: lanyard.CorrelationFilter,
		Correlation: lanyard.ServiceBusCorrelationFilter{CorrelationID: "corr-1", Properties: map[string]string{"kind": "audit"}}})
	e.subscribe("events", "all", defaultRule(), sqlRule("tag", "color = 'red'", "SET tagged = 'yes'; REMOVE color; SET sys.To = 'routed'"))
	e.subscribe("events", "none")

	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	msgs := []*azservicebus.Message{
		{MessageID: ptr("m1"), ApplicationProperties: map[string]any{"color": "red", "quantity": int64(4)}},
		{MessageID: ptr("m2"), ApplicationProperties: map[string]any{"color": "red", "quantity": int32(3)}},
		{MessageID: ptr("m3"), Subject: ptr("order-created"), ApplicationProperties: map[string]any{"region": "asia"}},
		{MessageID: ptr("m4"), ApplicationProperties: map[string]any{"region": "eu", "priority": 1}, ContentType: ptr("application/json")},
		{MessageID: ptr("m5"), ApplicationProperties: map[string]any{"priority": 1, "note": "n"}, ContentType: ptr("application/json")},
		{MessageID: ptr("m6"), CorrelationID: ptr("corr-1"), ApplicationProperties: map[string]any{"kind": "audit"}},
		{MessageID: ptr("m7"), CorrelationID: ptr("corr-1"), ApplicationProperties: map[string]any{"kind": "other"}},
	}
	for _, m := range msgs[:4] {
		if err := s.SendMessage(t.Context(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := s.NewMessageBatch(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs[4:] {
		if err := batch.AddMessage(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SendMessageBatch(t.Context(), batch, nil); err != nil {
		t.Fatal(err)
	}

	want := map[string][]string{
		"big-red": {"m1"},
		"orders":  {"m3", "m4"},
		"urgent":  {"m4"},
		"audit":   {"m6"},
	}
	for sub, ids := range want {
		got := drain(t, c, "events", sub, len(ids))
		if g := idsOf(got); !slices.Equal(g, ids) {
			t.Errorf("%s received %v, want %v", sub, g, ids)
		}
	}
	// "all": every message once through $Default, and a copy of each red one changed
	// by the tag rule's action.
	got := drain(t, c, "events", "all", len(msgs)+2)
	tagged := 0
	for _, m := range got {
		if m.ApplicationProperties["RuleName"] == nil {
			if m.ApplicationProperties["tagged"] != nil || m.To != nil {
				t.Errorf("the $Default copy of %s was changed: %+v", m.MessageID, m.ApplicationProperties)
			}
			continue
		}
		tagged++
		if m.ApplicationProperties["RuleName"] != "tag" || m.ApplicationProperties["tagged"] != "yes" ||
			m.ApplicationProperties["color"] != nil || m.To == nil || *m.To != "routed" || m.ApplicationProperties["quantity"] == nil {
			t.Errorf("the tag rule's copy of %s: to %v, properties %+v", m.MessageID, m.To, m.ApplicationProperties)
		}
	}
	if tagged != 2 {
		t.Errorf("%d copies changed by the tag rule, want 2", tagged)
	}
	drain(t, c, "events", "none", 0)

	// A topic whose subscriptions select nothing accepts and drops.
	e.subscribe("quiet", "never", sqlRule("r", "1=0", ""))
	e.mu.Lock()
	e.topics["quiet"] = true
	e.mu.Unlock()
	sendN(t, c, "quiet", "dropped")
	drain(t, c, "quiet", "never", 0)
}

func idsOf(ms []*azservicebus.ReceivedMessage) []string {
	out := ids(ms)
	slices.Sort(out)
	return out
}

// TestSubscriptionReceivers: a subscription is a queue to its receivers: its own lock
// duration and max delivery count, its dead-letter queue, peek, defer, renew, receive
// and delete; a rule added applies to the next send at once.
func TestSubscriptionReceivers(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	b.entities.subscribe("events", "work", defaultRule())
	c := b.client(t, "app")
	sendN(t, c, "events", "a", "b", "c")

	r, err := c.NewReceiverForSubscription("events", "work", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(t.Context())
	got := receive(t, r, 3)
	if len(got) != 3 {
		t.Fatalf("received %d", len(got))
	}
	if err := r.RenewMessageLock(t.Context(), got[0], nil); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if err := r.DeferMessage(t.Context(), got[1], nil); err != nil {
		t.Fatal(err)
	}
	deferred, err := r.ReceiveDeferredMessages(t.Context(), []int64{*got[1].SequenceNumber}, nil)
	if err != nil || len(deferred) != 1 || string(deferred[0].Body) != "b" {
		t.Fatalf("receive deferred: %v %v", deferred, err)
	}
	if err := r.CompleteMessage(t.Context(), deferred[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := r.CompleteMessage(t.Context(), got[0], nil); err != nil {
		t.Fatal(err)
	}
	// The subscription's max delivery count (2) dead-letters "c".
	if err := r.AbandonMessage(t.Context(), got[2], nil); err != nil {
		t.Fatal(err)
	}
	again := receive(t, r, 1)
	if len(again) != 1 || again[0].DeliveryCount != 2 {
		t.Fatalf("redelivery: %+v", again)
	}
	if err := r.AbandonMessage(t.Context(), again[0], nil); err != nil {
		t.Fatal(err)
	}
	dl, err := c.NewReceiverForSubscription("events", "work", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter, ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(t.Context())
	dead := receive(t, dl, 1)
	if len(dead) != 1 || string(dead[0].Body) != "c" || dead[0].DeadLetterReason == nil || *dead[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("dead-lettered: %+v", dead)
	}
	if src := dead[0].DeadLetterSource; src == nil || *src != "events/Subscriptions/work" {
		t.Errorf("dead-letter source %v", src)
	}

	// A rule replacing $Default applies to the next send.
	if err := b.entities.DeleteRule(t.Context(), "", "", "events", "work", "$Default"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.entities.AddRule(t.Context(), "", lanyard.ServiceBusRule{Topic: "events", Subscription: "work", Name: "only-x",
		FilterType: lanyard.SQLFilter, SQLExpression: "sys.MessageId = 'x'"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	for _, id := range []string{"y", "x"} {
		if err := s.SendMessage(t.Context(), &azservicebus.Message{MessageID: ptr(id)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := drain(t, c, "events", "work", 1); got[0].MessageID != "x" {
		t.Fatalf("after the rule change: %v", ids(got))
	}

	// Counts, as countDetails reads them, are the subscription's.
	if n, err := b.store.Counts(t.Context(), QueueOf(subscriptionAsQueue(b.entities.subs["events/work"]))); err != nil || n.Active != 0 || n.DeadLetter != 0 {
		t.Fatalf("counts: %+v %v", n, err)
	}
}

// TestTopicScheduleAndDuplicates: a topic schedules (and cancels) in each subscription,
// and its duplicate detection drops a message for all of them.
func TestTopicScheduleAndDuplicates(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	tp := lanyard.NewServiceBusTopic("orders-ns", "events")
	tp.RequiresDuplicateDetection = true
	b.entities.topic = map[string]lanyard.ServiceBusTopic{"events": tp}
	b.entities.subscribe("events", "a", defaultRule())
	b.entities.subscribe("events", "b", defaultRule())
	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	for range 2 {
		if err := s.SendMessage(t.Context(), &azservicebus.Message{MessageID: ptr("same")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	seqs, err := s.ScheduleMessages(t.Context(), []*azservicebus.Message{{MessageID: ptr("later")}, {MessageID: ptr("cancelled")}}, time.Now().Add(time.Hour), nil)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("schedule: %v %v", seqs, err)
	}
	if err := s.CancelScheduledMessages(t.Context(), seqs[1:], nil); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"a", "b"} {
		r, err := c.NewReceiverForSubscription("events", sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		peeked, err := r.PeekMessages(t.Context(), 10, nil)
		_ = r.Close(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range peeked {
			got = append(got, m.MessageID)
		}
		if !slices.Equal(got, []string{"same", "later"}) || peeked[1].State != azservicebus.MessageStateScheduled || *peeked[1].SequenceNumber != seqs[0] {
			t.Errorf("%s holds %v", sub, got)
		}
	}
}

// TestASubscriptionGoneDetachesItsLinks: deleting a subscription detaches its receivers.
func TestASubscriptionGoneDetachesItsLinks(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionReceive)
	b.entities.subscribe("events", "work", defaultRule())
	r, err := b.client(t, "app").NewReceiverForSubscription("events", "work", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, _ = r.ReceiveMessages(ctx, 1, nil)
	cancel()
	b.entities.mu.Lock()
	delete(b.entities.subs, "events/work")
	b.entities.mu.Unlock()
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := r.ReceiveMessages(ctx, 1, nil); err == nil || !strings.Contains(err.Error(), "amqp:not-found") {
		t.Fatalf("receive from a deleted subscription: %v", err)
	}
}

// A copy expires by the message's time to live, or sooner by its subscription's default;
// a scheduled one counts from its time.
func TestExpiryFor(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for _, tc := range []struct {
		what    string
		msg     messaging.Message
		ttl     time.Duration
		expires time.Time
	}{
		{"no ttl anywhere", messaging.Message{}, lanyard.Never, time.Time{}},
		{"the subscription's", messaging.Message{}, time.Minute, at(time.Minute)},
		{"the message's, sooner", messaging.Message{ExpiresAt: at(time.Second)}, time.Minute, at(time.Second)},
		{"the subscription's, sooner", messaging.Message{ExpiresAt: at(time.Hour)}, time.Minute, at(time.Minute)},
		{"scheduled", messaging.Message{ScheduledAt: at(time.Hour)}, time.Minute, at(time.Hour + time.Minute)},
	} {
		if got := expiryFor(tc.msg, tc.ttl, now); !got.Equal(tc.expires) {
			t.Errorf("%s: %v, want %v", tc.what, got, tc.expires)
		}
	}
}
