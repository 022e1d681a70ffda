package servicebus

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// TestFilterEvaluationDeadLetter: a message a subscription's filter cannot be evaluated
// for (a type error at run time) goes to that subscription's dead-letter queue when the
// subscription dead-letters on filter evaluation exceptions (the default), whatever its
// other rules select; without the setting the failing rule selects nothing and the others
// still apply.
func TestFilterEvaluationDeadLetter(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	b.entities.subscribe("events", "strict", defaultRule(), sqlRule("high", "priority > 5", ""))
	lenient := b.entities.subscribe("events", "lenient", sqlRule("high", "priority > 5", ""), sqlRule("all", "1=1", ""))
	lenient.DeadLetteringOnFilterEvaluationExceptions = false
	b.entities.mu.Lock()
	b.entities.subs[subKey("events", "lenient")] = lenient
	b.entities.mu.Unlock()
	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for id, priority := range map[string]any{"bad": "high", "good": int64(7)} {
		if err := s.SendMessage(t.Context(), &azservicebus.Message{MessageID: ptr(id), ApplicationProperties: map[string]any{"priority": priority}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := idsOf(drain(t, c, "events", "strict", 1)); got[0] != "good" {
		t.Fatalf("strict's active queue: %v, want good", got)
	}
	dlq, err := c.NewReceiverForSubscription("events", "strict", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close(context.Background())
	dead := receive(t, dlq, 1)
	if len(dead) != 1 || dead[0].MessageID != "bad" || deref(dead[0].DeadLetterReason) != "FilterException" ||
		!strings.Contains(deref(dead[0].DeadLetterErrorDescription), "cannot be evaluated") {
		t.Fatalf("strict's dead-letter queue: %+v", dead)
	}
	if got := idsOf(drain(t, c, "events", "lenient", 2)); got[0] != "bad" || got[1] != "good" {
		t.Fatalf("lenient's active queue: %v, want bad (through its other rule) and good", got)
	}
	ldlq, err := c.NewReceiverForSubscription("events", "lenient", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	defer ldlq.Close(context.Background())
	if left, err := ldlq.PeekMessages(t.Context(), 10, nil); err != nil || len(left) != 0 {
		t.Fatalf("lenient's dead-letter queue holds %d messages (%v), want none", len(left), err)
	}
}
