package directory

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// AddRule checks a rule as PutRule does, but refuses a name taken instead of replacing.
func TestServiceBusAddRule(t *testing.T) {
	b, _ := newServiceBus(t)
	ctx := t.Context()
	if _, _, err := b.PutNamespace(ctx, "rg", "orders", ServiceBusNamespaceSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "events")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutSubscription(ctx, "rg", lanyard.NewServiceBusSubscription("orders", "events", "audit")); err != nil {
		t.Fatal(err)
	}
	r := lanyard.ServiceBusRule{Namespace: "orders", Topic: "EVENTS", Subscription: "audit", Name: "red", FilterType: lanyard.SQLFilter, SQLExpression: "color = 'red'"}
	got, err := b.AddRule(ctx, "rg", r)
	if err != nil || got.Topic != "events" || got.CreatedAt.IsZero() {
		t.Fatalf("AddRule: %+v, %v", got, err)
	}
	r.SQLExpression = "color = 'blue'"
	_, err = b.AddRule(ctx, "rg", r)
	wantErr(t, "AddRule of a name taken", err, lanyard.KindConflict, "Conflict")
	if kept, err := b.GetRule(ctx, "rg", "orders", "events", "audit", "red"); err != nil || kept.SQLExpression != "color = 'red'" {
		t.Errorf("the rule after a refused AddRule: %+v, %v", kept, err)
	}
	_, err = b.AddRule(ctx, "rg", lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "audit", Name: "bad", FilterType: lanyard.SQLFilter, SQLExpression: "color ="})
	wantErr(t, "AddRule with an invalid filter", err, lanyard.KindInvalid, "BadRequest")
	_, err = b.AddRule(ctx, "rg", lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "missing", Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "1=1"})
	wantErr(t, "AddRule on a missing subscription", err, lanyard.KindNotFound, "NotFound")
	sub := lanyard.NewServiceBusSubscription("orders", "events", "fwd")
	sub.ForwardTo = "events"
	_, _, err = b.PutSubscription(ctx, "rg", sub)
	wantErr(t, "PutSubscription forwarding", err, lanyard.KindInvalid, "BadRequest")
	_, err = b.AddRule(ctx, "other", r)
	wantErr(t, "AddRule through another group", err, lanyard.KindNotFound, "ResourceNotFound")
}
