package directory

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

type sbRecorder struct {
	mu      sync.Mutex
	changes []ServiceBusChange
}

func (r *sbRecorder) record(c ServiceBusChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *sbRecorder) saw(c ServiceBusChange) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.changes {
		if x == c {
			return true
		}
	}
	return false
}

func newServiceBus(t *testing.T) (*ServiceBus, *sbRecorder) {
	t.Helper()
	s, _ := newService(t)
	rec := &sbRecorder{}
	s.OnServiceBusChange = rec.record
	for _, g := range []string{"rg", "rg2"} {
		if _, _, err := s.PutGroup(t.Context(), g, "local", nil); err != nil {
			t.Fatal(err)
		}
	}
	return &ServiceBus{Directory: s, FreeAddress: portsFrom(17000)}, rec
}

// portsFrom hands out loopback addresses with successive ports, as a node's pick would.
func portsFrom(first int) func() (string, error) {
	var mu sync.Mutex
	next := first
	return func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		next++
		return fmt.Sprintf("127.0.0.1:%d", next-1), nil
	}
}

func wantErr(t *testing.T, what string, err error, k lanyard.Kind, code string) {
	t.Helper()
	if lanyard.KindOf(err) != k || lanyard.CodeOf(err) != code {
		t.Errorf("%s: got %v (kind %v, code %q), want kind %v, code %q", what, err, lanyard.KindOf(err), lanyard.CodeOf(err), k, code)
	}
}

func TestServiceBusNamespaceNames(t *testing.T) {
	b, _ := newServiceBus(t)
	ctx := t.Context()
	for _, bad := range []string{"short", "1starts-with-digit", "ends-with-hyphen-", "ends-with-sb", "orders-sb", "orders-SB", "orders-mgmt",
		"has_underscore", "a23456789012345678901234567890123456789012345678901"} {
		_, _, err := b.PutNamespace(ctx, "rg", bad, ServiceBusNamespaceSpec{})
		wantErr(t, "PutNamespace "+bad, err, lanyard.KindInvalid, "BadRequest")
	}
	for _, good := range []string{"orders", "Orders-2", "a2345678901234567890123456789012345678901234567890", "sbx-mgmtx"} {
		if _, _, err := b.PutNamespace(ctx, "rg", good, ServiceBusNamespaceSpec{}); err != nil {
			t.Errorf("PutNamespace %s: %v", good, err)
		}
	}
	_, _, err := b.PutNamespace(ctx, "rg", "skuful", ServiceBusNamespaceSpec{SKU: "Gold"})
	wantErr(t, "PutNamespace with an unknown SKU", err, lanyard.KindInvalid, "BadRequest")
}

func TestServiceBusNamespaces(t *testing.T) {
	b, rec := newServiceBus(t)
	ctx := t.Context()
	n, created, err := b.PutNamespace(ctx, "RG", "orders", ServiceBusNamespaceSpec{Tags: map[string]string{"a": "b"}})
	if err != nil || !created {
		t.Fatalf("PutNamespace: %v, created %v", err, created)
	}
	if n.SKU != "Standard" || n.Location != "local" || n.ResourceGroup != "rg" || n.ResourceID != "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/orders" {
		t.Errorf("namespace: %+v", n)
	}
	if !rec.saw(ServiceBusChange{Namespace: "orders"}) {
		t.Error("the change hook was not told of the namespace")
	}
	n, created, err = b.PutNamespace(ctx, "rg", "ORDERS", ServiceBusNamespaceSpec{SKU: "premium"})
	if err != nil || created || n.SKU != "Premium" || n.Tags["a"] != "b" || n.Name != "orders" {
		t.Errorf("PutNamespace again: %+v, %v, %v", n, created, err)
	}
	// The name is global: another group cannot take it, nor reach it.
	_, _, err = b.PutNamespace(ctx, "rg2", "orders", ServiceBusNamespaceSpec{})
	wantErr(t, "PutNamespace in another group", err, lanyard.KindInvalid, "BadRequest")
	_, err = b.GetNamespace(ctx, "rg2", "orders")
	wantErr(t, "GetNamespace through another group", err, lanyard.KindNotFound, "ResourceNotFound")
	wantErr(t, "DeleteNamespace through another group", b.DeleteNamespace(ctx, "rg2", "orders"), lanyard.KindNotFound, "ResourceNotFound")
	_, _, err = b.PutQueue(ctx, "rg2", lanyard.NewServiceBusQueue("orders", "q"))
	wantErr(t, "PutQueue through another group", err, lanyard.KindNotFound, "ResourceNotFound")
	_, _, err = b.PutNamespace(ctx, "nogroup", "elsewhere", ServiceBusNamespaceSpec{})
	wantErr(t, "PutNamespace in a missing group", err, lanyard.KindNotFound, "ResourceGroupNotFound")

	// Deleting the group deletes the namespace and its entities.
	if _, _, err := b.PutQueue(ctx, "rg", lanyard.NewServiceBusQueue("orders", "q")); err != nil {
		t.Fatal(err)
	}
	if err := b.Directory.DeleteGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	if !rec.saw(ServiceBusChange{Namespace: "orders", Deleted: true}) {
		t.Error("the change hook was not told of the namespace deleted with its group")
	}
	if _, err := b.store().GetServiceBusNamespace(ctx, "orders"); !lanyard.IsNotFound(err) {
		t.Errorf("namespace after its group was deleted: %v", err)
	}
	if _, _, err := b.PutNamespace(ctx, "rg2", "orders", ServiceBusNamespaceSpec{}); err != nil {
		t.Errorf("the name after its group was deleted: %v", err)
	}
	if qs, err := b.ListQueuesPage(ctx, "rg2", "orders", "", 10); err != nil || len(qs) != 0 {
		t.Errorf("queues of the re-created namespace: %v, %v", qs, err)
	}
}

func TestServiceBusQueues(t *testing.T) {
	b, rec := newServiceBus(t)
	ctx := t.Context()
	if _, _, err := b.PutNamespace(ctx, "rg", "orders", ServiceBusNamespaceSpec{}); err != nil {
		t.Fatal(err)
	}
	q, created, err := b.PutQueue(ctx, "rg", lanyard.NewServiceBusQueue("ORDERS", "Incoming"))
	if err != nil || !created {
		t.Fatalf("PutQueue: %v", err)
	}
	if q.Namespace != "orders" || q.LockDuration != time.Minute || q.MaxDeliveryCount != 10 || q.DefaultMessageTimeToLive != lanyard.Never ||
		q.DuplicateDetectionHistoryTimeWindow != 10*time.Minute || q.MaxSizeInMegabytes != 1024 || !q.EnableBatchedOperations || q.CreatedAt.IsZero() {
		t.Errorf("queue defaults: %+v", q)
	}
	if !rec.saw(ServiceBusChange{Namespace: "orders", Entity: "Incoming"}) {
		t.Error("the change hook was not told of the queue")
	}
	bad := map[string]func(*lanyard.ServiceBusQueue){
		"lock duration under 5s": func(q *lanyard.ServiceBusQueue) { q.LockDuration = 4 * time.Second },
		"lock duration over 5m":  func(q *lanyard.ServiceBusQueue) { q.LockDuration = 5*time.Minute + time.Second },
		"max delivery count 0":   func(q *lanyard.ServiceBusQueue) { q.MaxDeliveryCount = 0 },
		"ttl 0":                  func(q *lanyard.ServiceBusQueue) { q.DefaultMessageTimeToLive = 0 },
		"auto-delete under 5m":   func(q *lanyard.ServiceBusQueue) { q.AutoDeleteOnIdle = time.Minute },
		"duplicate window over 7 days": func(q *lanyard.ServiceBusQueue) {
			q.RequiresDuplicateDetection, q.DuplicateDetectionHistoryTimeWindow = true, 8*24*time.Hour
		},
		"size 1000":                     func(q *lanyard.ServiceBusQueue) { q.MaxSizeInMegabytes = 1000 },
		"forward to a missing entity":   func(q *lanyard.ServiceBusQueue) { q.ForwardTo = "missing" },
		"forward to itself":             func(q *lanyard.ServiceBusQueue) { q.ForwardTo = "fresh" },
		"dead letters to a missing one": func(q *lanyard.ServiceBusQueue) { q.ForwardDeadLetteredMessagesTo = "missing" },
	}
	for what, mod := range bad {
		q := lanyard.NewServiceBusQueue("orders", "fresh")
		mod(&q)
		_, _, err := b.PutQueue(ctx, "rg", q)
		wantErr(t, "PutQueue with "+what, err, lanyard.KindInvalid, "BadRequest")
	}
	for _, name := range []string{"", "-starts", "ends.", "has space", "has/slash"} {
		_, _, err := b.PutQueue(ctx, "rg", lanyard.NewServiceBusQueue("orders", name))
		wantErr(t, "PutQueue named "+name, err, lanyard.KindInvalid, "BadRequest")
	}
	// A PUT replaces the settings; requiresSession is fixed.
	q2 := lanyard.NewServiceBusQueue("orders", "incoming")
	q2.LockDuration, q2.ForwardTo = 30*time.Second, ""
	got, created, err := b.PutQueue(ctx, "rg", q2)
	if err != nil || created || got.LockDuration != 30*time.Second || got.Name != "Incoming" || !got.CreatedAt.Equal(q.CreatedAt) {
		t.Errorf("PutQueue again: %+v, %v, %v", got, created, err)
	}
	q2.RequiresSession = true
	_, _, err = b.PutQueue(ctx, "rg", q2)
	wantErr(t, "PutQueue changing requiresSession", err, lanyard.KindInvalid, "BadRequest")
	// Queues and topics share names.
	_, _, err = b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "INCOMING"))
	wantErr(t, "PutTopic named as a queue", err, lanyard.KindConflict, "Conflict")
	if _, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "events")); err != nil {
		t.Fatal(err)
	}
	// Auto-forwarding is refused, not stored unhonoured.
	fwd := lanyard.NewServiceBusQueue("orders", "forwarder")
	fwd.ForwardTo = "events"
	_, _, err = b.PutQueue(ctx, "rg", fwd)
	wantErr(t, "PutQueue forwarding to a topic", err, lanyard.KindInvalid, "BadRequest")
	fwd.ForwardTo, fwd.ForwardDeadLetteredMessagesTo = "", "events"
	_, _, err = b.PutQueue(ctx, "rg", fwd)
	wantErr(t, "PutQueue forwarding dead letters", err, lanyard.KindInvalid, "BadRequest")
	if err := b.DeleteQueue(ctx, "rg", "orders", "INCOMING"); err != nil {
		t.Fatal(err)
	}
	if !rec.saw(ServiceBusChange{Namespace: "orders", Entity: "Incoming", Deleted: true}) {
		t.Error("the change hook was not told of the deleted queue")
	}
	wantErr(t, "DeleteQueue twice", b.DeleteQueue(ctx, "rg", "orders", "incoming"), lanyard.KindNotFound, "NotFound")
	_, err = b.GetQueue(ctx, "rg", "orders", "incoming")
	wantErr(t, "GetQueue of a deleted queue", err, lanyard.KindNotFound, "NotFound")
}

func TestServiceBusTopicsSubscriptionsRules(t *testing.T) {
	b, _ := newServiceBus(t)
	ctx := t.Context()
	if _, _, err := b.PutNamespace(ctx, "rg", "basicns", ServiceBusNamespaceSpec{SKU: "Basic"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("basicns", "events"))
	wantErr(t, "PutTopic in a Basic namespace", err, lanyard.KindInvalid, "BadRequest")
	if _, _, err := b.PutNamespace(ctx, "rg", "orders", ServiceBusNamespaceSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "events")); err != nil {
		t.Fatal(err)
	}
	s, created, err := b.PutSubscription(ctx, "rg", lanyard.NewServiceBusSubscription("orders", "EVENTS", "audit"))
	if err != nil || !created || s.Topic != "events" || s.LockDuration != time.Minute || s.MaxDeliveryCount != 10 {
		t.Fatalf("PutSubscription: %+v, %v", s, err)
	}
	// Azure gives a new subscription the $Default rule, which lets everything through.
	rs, err := b.ListRulesPage(ctx, "rg", "orders", "events", "audit", "", 10)
	if err != nil || len(rs) != 1 || rs[0].Name != "$Default" || rs[0].FilterType != lanyard.SQLFilter || rs[0].SQLExpression != "1=1" {
		t.Errorf("rules of a new subscription: %+v, %v", rs, err)
	}
	// Updating the subscription keeps its rules.
	s2 := lanyard.NewServiceBusSubscription("orders", "events", "audit")
	s2.MaxDeliveryCount = 3
	if _, created, err := b.PutSubscription(ctx, "rg", s2); err != nil || created {
		t.Errorf("PutSubscription again: %v, %v", created, err)
	}
	if rs, _ := b.ListRulesPage(ctx, "rg", "orders", "events", "audit", "", 10); len(rs) != 1 {
		t.Errorf("rules after an update: %+v", rs)
	}
	_, _, err = b.PutSubscription(ctx, "rg", lanyard.NewServiceBusSubscription("orders", "missing", "audit"))
	wantErr(t, "PutSubscription of a missing topic", err, lanyard.KindNotFound, "NotFound")
	_, _, err = b.PutSubscription(ctx, "rg", lanyard.NewServiceBusSubscription("orders", "events", "a23456789012345678901234567890123456789012345678901"))
	wantErr(t, "PutSubscription with a 51-character name", err, lanyard.KindInvalid, "BadRequest")

	for what, r := range map[string]lanyard.ServiceBusRule{
		"no filter type":              {Name: "r"},
		"an empty SQL filter":         {Name: "r", FilterType: lanyard.SQLFilter},
		"an empty correlation filter": {Name: "r", FilterType: lanyard.CorrelationFilter},
		"a reserved name":             {Name: "$mine", FilterType: lanyard.SQLFilter, SQLExpression: "1=1"},
		"an overlong action":          {Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "1=1", Action: string(make([]byte, 1025))},
		"an invalid SQL filter":       {Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "sender == 'x'"},
		"an unknown system property":  {Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "sys.Nope = 1"},
		"a value for a filter":        {Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "sender"},
		"an invalid action":           {Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "1=1", Action: "DELETE sender"},
		"an action on a broker field": {Name: "r", FilterType: lanyard.CorrelationFilter, Correlation: lanyard.ServiceBusCorrelationFilter{To: "x"}, Action: "SET sys.SequenceNumber = 1"},
	} {
		r.Namespace, r.Topic, r.Subscription = "orders", "events", "audit"
		_, _, err := b.PutRule(ctx, "rg", r)
		wantErr(t, "PutRule with "+what, err, lanyard.KindInvalid, "BadRequest")
	}
	// The message names where the expression went wrong, as Azure's does.
	_, _, err = b.PutRule(ctx, "rg", lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "audit", Name: "r",
		FilterType: lanyard.SQLFilter, SQLExpression: "sender = 'x' AND"})
	if want := "There was an error parsing the SQL expression. [Token line=1, column=16,"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("PutRule with a truncated filter: %v; want a message starting %q", err, want)
	}
	// A filter of 1024 two-byte characters is within Azure's limit of 1024 characters.
	wide := lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "audit", Name: "wide", FilterType: lanyard.SQLFilter,
		SQLExpression: "[" + strings.Repeat("é", 1018) + "] = 1"}
	if _, _, err := b.PutRule(ctx, "rg", wide); err != nil {
		t.Errorf("PutRule with a 1024-character filter: %v", err)
	}
	r := lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "AUDIT", Name: "vip", FilterType: lanyard.CorrelationFilter,
		Correlation: lanyard.ServiceBusCorrelationFilter{Properties: map[string]string{"tier": "gold"}}, Action: "SET priority = 'high'"}
	got, created, err := b.PutRule(ctx, "rg", r)
	if err != nil || !created || got.Subscription != "audit" {
		t.Fatalf("PutRule: %+v, %v", got, err)
	}
	_, _, err = b.PutRule(ctx, "rg", lanyard.ServiceBusRule{Namespace: "orders", Topic: "events", Subscription: "missing", Name: "r", FilterType: lanyard.SQLFilter, SQLExpression: "1=1"})
	wantErr(t, "PutRule of a missing subscription", err, lanyard.KindNotFound, "NotFound")
	if err := b.DeleteRule(ctx, "rg", "orders", "events", "audit", "$Default"); err != nil {
		t.Errorf("DeleteRule $Default: %v", err)
	}
	// Deleting the topic deletes its subscriptions and their rules.
	if err := b.DeleteTopic(ctx, "rg", "orders", "events"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "events")); err != nil {
		t.Fatal(err)
	}
	_, err = b.GetSubscription(ctx, "rg", "orders", "events", "audit")
	wantErr(t, "a subscription of a deleted topic", err, lanyard.KindNotFound, "NotFound")
	_, err = b.GetRule(ctx, "rg", "orders", "events", "audit", "vip")
	wantErr(t, "a rule of a deleted topic", err, lanyard.KindNotFound, "NotFound")
}

func TestServiceBusScopes(t *testing.T) {
	b, _ := newServiceBus(t)
	ctx := t.Context()
	if _, _, err := b.PutNamespace(ctx, "rg", "orders", ServiceBusNamespaceSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutQueue(ctx, "rg", lanyard.NewServiceBusQueue("orders", "q")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.PutTopic(ctx, "rg", lanyard.NewServiceBusTopic("orders", "t")); err != nil {
		t.Fatal(err)
	}
	ns := b.NamespaceID("rg", "orders")
	for _, ok := range []string{ns, ns + "/queues/Q", ns + "/topics/t", ns + "/topics/t/subscriptions/any"} {
		if err := b.Directory.CheckScope(ctx, ok); err != nil {
			t.Errorf("CheckScope(%s): %v", ok, err)
		}
	}
	for _, missing := range []string{b.NamespaceID("rg2", "orders"), b.NamespaceID("rg", "other1"), ns + "/queues/none", ns + "/topics/q", ns + "/queues/t"} {
		if err := b.Directory.CheckScope(ctx, missing); !lanyard.IsNotFound(err) {
			t.Errorf("CheckScope(%s) = %v, want NotFound", missing, err)
		}
	}
}
