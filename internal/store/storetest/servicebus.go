package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func newServiceBusNamespace(group, name string) lanyard.ServiceBusNamespace {
	return lanyard.ServiceBusNamespace{
		ResourceID:    "/subscriptions/" + subscription + "/resourceGroups/" + group + "/providers/Microsoft.ServiceBus/namespaces/" + name,
		ResourceGroup: group, Name: name, Location: "westeurope", Tags: map[string]string{"app": name}, SKU: "Standard",
		Listen: "127.0.0.1:" + strings.ToLower(name), CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute),
	}
}

func normServiceBusNamespace(n lanyard.ServiceBusNamespace) lanyard.ServiceBusNamespace {
	if len(n.Tags) == 0 {
		n.Tags = nil
	}
	return n
}

func newServiceBusQueue(ns, name string) lanyard.ServiceBusQueue {
	// Non-zero values everywhere, so that a field the backend forgets is seen.
	return lanyard.ServiceBusQueue{
		Namespace: ns, Name: name, LockDuration: 45 * time.Second, MaxDeliveryCount: 7, DefaultMessageTimeToLive: lanyard.Never,
		RequiresSession: true, DeadLetteringOnMessageExpiration: true, RequiresDuplicateDetection: true,
		DuplicateDetectionHistoryTimeWindow: 10 * time.Minute, AutoDeleteOnIdle: 1500 * time.Millisecond, MaxSizeInMegabytes: 2048,
		EnableBatchedOperations: true, ForwardTo: "elsewhere", ForwardDeadLetteredMessagesTo: "dlq-elsewhere",
		CreatedAt: at(3 * time.Minute), UpdatedAt: at(4 * time.Minute),
	}
}

func same2[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	same(t, what, got, want, func(v T) T { return v })
}

func testServiceBus(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newServiceBusNamespace("rg-One", "sb-Alpha"), newServiceBusNamespace("RG-two", "sb-beta")
	must(t, "CreateServiceBusNamespace a", s.CreateServiceBusNamespace(ctx, a))
	must(t, "CreateServiceBusNamespace b", s.CreateServiceBusNamespace(ctx, b))
	got, err := s.GetServiceBusNamespace(ctx, "SB-ALPHA")
	must(t, "GetServiceBusNamespace", err)
	same(t, "GetServiceBusNamespace", got, a, normServiceBusNamespace)
	// Names are unique across groups, whatever their case.
	err = s.CreateServiceBusNamespace(ctx, newServiceBusNamespace("rg-three", "SB-alpha"))
	wantCode(t, "CreateServiceBusNamespace with a taken name", err, lanyard.KindConflict, "NameInUse")
	_, err = s.GetServiceBusNamespace(ctx, "sb-gamma")
	wantCode(t, "GetServiceBusNamespace of a missing one", err, lanyard.KindNotFound, "ResourceNotFound")
	list, err := s.ListServiceBusNamespaces(ctx, "rg-one")
	must(t, "ListServiceBusNamespaces", err)
	sameSet(t, "ListServiceBusNamespaces rg-one", list, []lanyard.ServiceBusNamespace{a}, normServiceBusNamespace, func(n lanyard.ServiceBusNamespace) string { return n.Name })
	page, err := s.ListServiceBusNamespacesPage(ctx, "", "", 1)
	must(t, "ListServiceBusNamespacesPage", err)
	if len(page) != 1 || page[0].Name != "sb-Alpha" {
		t.Errorf("first page: %+v", page)
	}
	if page, err = s.ListServiceBusNamespacesPage(ctx, "", "sb-alpha", 10); err != nil || len(page) != 1 || page[0].Name != "sb-beta" {
		t.Errorf("second page: %+v, %v", page, err)
	}
	up, err := s.UpdateServiceBusNamespace(ctx, "sb-alpha", func(n lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error) {
		n.Tags["x"], n.SKU, n.UpdatedAt = "y", "Premium", at(time.Hour)
		return n, nil
	})
	must(t, "UpdateServiceBusNamespace", err)
	if up.Tags["x"] != "y" || up.SKU != "Premium" || !up.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("UpdateServiceBusNamespace: %+v", up)
	}
	// Each namespace has an address of its own.
	dup := newServiceBusNamespace("rg-one", "sb-delta")
	dup.Listen = strings.ToUpper(b.Listen)
	wantCode(t, "CreateServiceBusNamespace on a taken address", s.CreateServiceBusNamespace(ctx, dup), lanyard.KindConflict, "ListenAddressInUse")
	_, err = s.UpdateServiceBusNamespace(ctx, "sb-alpha", func(n lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error) {
		n.Listen = b.Listen
		return n, nil
	})
	wantCode(t, "UpdateServiceBusNamespace onto a taken address", err, lanyard.KindConflict, "ListenAddressInUse")
	moved, err := s.UpdateServiceBusNamespace(ctx, "sb-alpha", func(n lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error) {
		n.Listen = "127.0.0.1:5999"
		return n, nil
	})
	must(t, "UpdateServiceBusNamespace to a free address", err)
	if moved.Listen != "127.0.0.1:5999" {
		t.Errorf("moved namespace listens on %q", moved.Listen)
	}

	// Queues and topics share one name space; names are case-insensitive.
	q := newServiceBusQueue("sb-Alpha", "Orders")
	must(t, "CreateServiceBusQueue", s.CreateServiceBusQueue(ctx, q))
	gq, err := s.GetServiceBusQueue(ctx, "SB-ALPHA", "orders")
	must(t, "GetServiceBusQueue", err)
	same2(t, "GetServiceBusQueue", gq, q)
	// Non-zero values everywhere here too.
	topic := lanyard.ServiceBusTopic{Namespace: "sb-Alpha", Name: "ORDERS", DefaultMessageTimeToLive: time.Hour, RequiresDuplicateDetection: true,
		DuplicateDetectionHistoryTimeWindow: time.Minute, AutoDeleteOnIdle: 2 * time.Hour, MaxSizeInMegabytes: 1024, EnableBatchedOperations: true,
		SupportOrdering: true, CreatedAt: at(0), UpdatedAt: at(0)}
	wantCode(t, "CreateServiceBusTopic named as a queue", s.CreateServiceBusTopic(ctx, topic), lanyard.KindConflict, "Conflict")
	wantCode(t, "CreateServiceBusQueue twice", s.CreateServiceBusQueue(ctx, newServiceBusQueue("sb-alpha", "orders")), lanyard.KindConflict, "Conflict")
	wantCode(t, "CreateServiceBusQueue in a missing namespace", s.CreateServiceBusQueue(ctx, newServiceBusQueue("sb-gamma", "q")), lanyard.KindNotFound, "ResourceNotFound")
	// The same name in another namespace is another queue.
	must(t, "CreateServiceBusQueue in b", s.CreateServiceBusQueue(ctx, newServiceBusQueue("sb-beta", "orders")))
	topic.Name = "events"
	must(t, "CreateServiceBusTopic", s.CreateServiceBusTopic(ctx, topic))
	gt, err := s.GetServiceBusTopic(ctx, "sb-alpha", "EVENTS")
	must(t, "GetServiceBusTopic", err)
	same2(t, "GetServiceBusTopic", gt, topic)
	_, err = s.GetServiceBusTopic(ctx, "sb-alpha", "orders")
	wantCode(t, "GetServiceBusTopic of a queue", err, lanyard.KindNotFound, "NotFound")
	_, err = s.GetServiceBusQueue(ctx, "sb-alpha", "events")
	wantCode(t, "GetServiceBusQueue of a topic", err, lanyard.KindNotFound, "NotFound")

	for _, n := range []string{"q-c", "Q-A", "q-b"} {
		must(t, "CreateServiceBusQueue "+n, s.CreateServiceBusQueue(ctx, newServiceBusQueue("sb-alpha", n)))
	}
	// The path reads as created, whatever case a child's creator spelled it in.
	if got, err := s.GetServiceBusQueue(ctx, "sb-alpha", "q-a"); err != nil || got.Namespace != "sb-Alpha" || got.Name != "Q-A" {
		t.Errorf("a queue created in namespace sb-alpha: %+v, %v", got, err)
	}
	var names []string
	for after := ""; ; {
		qs, err := s.ListServiceBusQueuesPage(ctx, "sb-ALPHA", after, 2)
		must(t, "ListServiceBusQueuesPage", err)
		if len(qs) == 0 {
			break
		}
		for _, q := range qs {
			names = append(names, q.Name)
		}
		after = qs[len(qs)-1].Name
	}
	if strings.Join(names, ",") != "Orders,Q-A,q-b,q-c" {
		t.Errorf("queues by page: %v", names)
	}
	if ts, err := s.ListServiceBusTopicsPage(ctx, "sb-alpha", "", 10); err != nil || len(ts) != 1 || ts[0].Name != "events" {
		t.Errorf("ListServiceBusTopicsPage: %+v, %v", ts, err)
	}

	uq, err := s.UpdateServiceBusQueue(ctx, "sb-alpha", "ORDERS", func(q lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, error) {
		q.MaxDeliveryCount, q.UpdatedAt = 3, at(time.Hour)
		return q, nil
	})
	must(t, "UpdateServiceBusQueue", err)
	if uq.Name != "Orders" || uq.MaxDeliveryCount != 3 || uq.LockDuration != 45*time.Second || !uq.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("UpdateServiceBusQueue: %+v", uq)
	}
	_, err = s.UpdateServiceBusQueue(ctx, "sb-alpha", "missing", func(q lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, error) { return q, nil })
	wantCode(t, "UpdateServiceBusQueue of a missing queue", err, lanyard.KindNotFound, "NotFound")

	// Subscriptions belong to topics, rules to subscriptions.
	sub := lanyard.ServiceBusSubscription{Namespace: "sb-Alpha", Topic: "events", Name: "Audit", LockDuration: time.Minute, MaxDeliveryCount: 10,
		DefaultMessageTimeToLive: lanyard.Never, RequiresSession: true, DeadLetteringOnMessageExpiration: true, DeadLetteringOnFilterEvaluationExceptions: true,
		AutoDeleteOnIdle: lanyard.Never, EnableBatchedOperations: true, ForwardTo: "orders", ForwardDeadLetteredMessagesTo: "orders",
		CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, "CreateServiceBusSubscription", s.CreateServiceBusSubscription(ctx, sub))
	wantCode(t, "CreateServiceBusSubscription twice", s.CreateServiceBusSubscription(ctx, sub), lanyard.KindConflict, "Conflict")
	onQueue := sub
	onQueue.Topic = "orders"
	wantCode(t, "CreateServiceBusSubscription of a queue", s.CreateServiceBusSubscription(ctx, onQueue), lanyard.KindNotFound, "NotFound")
	gs, err := s.GetServiceBusSubscription(ctx, "sb-alpha", "EVENTS", "audit")
	must(t, "GetServiceBusSubscription", err)
	same2(t, "GetServiceBusSubscription", gs, sub)
	// A subscription's name does not collide with a queue's or a topic's.
	must(t, "CreateServiceBusQueue named as a subscription", s.CreateServiceBusQueue(ctx, newServiceBusQueue("sb-alpha", "audit")))
	rule := lanyard.ServiceBusRule{Namespace: "sb-Alpha", Topic: "events", Subscription: "Audit", Name: "$Default", FilterType: lanyard.SQLFilter,
		SQLExpression: "1=1", CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, "CreateServiceBusRule", s.CreateServiceBusRule(ctx, rule))
	corr := rule
	corr.Subscription, corr.Topic = "AUDIT", "EVENTS"
	corr.Name, corr.FilterType, corr.SQLExpression, corr.Action = "vip", lanyard.CorrelationFilter, "", "SET sys.Label = 'vip'"
	corr.Correlation = lanyard.ServiceBusCorrelationFilter{CorrelationID: "c1", MessageID: "m1", To: "to", ReplyTo: "rt", Label: "l", SessionID: "s1",
		ReplyToSessionID: "rs1", ContentType: "application/json", Properties: map[string]string{"tier": "gold"}}
	must(t, "CreateServiceBusRule vip", s.CreateServiceBusRule(ctx, corr))
	gr, err := s.GetServiceBusRule(ctx, "sb-alpha", "events", "audit", "VIP")
	must(t, "GetServiceBusRule", err)
	corr.Subscription, corr.Topic = "Audit", "events"
	same2(t, "GetServiceBusRule", gr, corr)
	orphan := rule
	orphan.Subscription = "missing"
	wantCode(t, "CreateServiceBusRule of a missing subscription", s.CreateServiceBusRule(ctx, orphan), lanyard.KindNotFound, "NotFound")
	if rs, err := s.ListServiceBusRulesPage(ctx, "sb-alpha", "events", "audit", "", 10); err != nil || len(rs) != 2 || rs[0].Name != "$Default" || rs[1].Name != "vip" {
		t.Errorf("ListServiceBusRulesPage: %+v, %v", rs, err)
	}
	if ss, err := s.ListServiceBusSubscriptionsPage(ctx, "sb-alpha", "events", "", 10); err != nil || len(ss) != 1 || ss[0].Name != "Audit" {
		t.Errorf("ListServiceBusSubscriptionsPage: %+v, %v", ss, err)
	}

	// Deleting a subscription deletes its rules; deleting a topic its subscriptions.
	must(t, "DeleteServiceBusRule", s.DeleteServiceBusRule(ctx, "sb-alpha", "events", "audit", "vip"))
	wantCode(t, "DeleteServiceBusRule twice", s.DeleteServiceBusRule(ctx, "sb-alpha", "events", "audit", "vip"), lanyard.KindNotFound, "NotFound")
	must(t, "DeleteServiceBusTopic", s.DeleteServiceBusTopic(ctx, "SB-ALPHA", "Events"))
	_, err = s.GetServiceBusSubscription(ctx, "sb-alpha", "events", "audit")
	wantCode(t, "subscription of a deleted topic", err, lanyard.KindNotFound, "NotFound")
	_, err = s.GetServiceBusRule(ctx, "sb-alpha", "events", "audit", "$Default")
	wantCode(t, "rule of a deleted topic", err, lanyard.KindNotFound, "NotFound")
	// A topic re-created under the name starts without subscriptions.
	must(t, "CreateServiceBusTopic again", s.CreateServiceBusTopic(ctx, topic))
	if ss, err := s.ListServiceBusSubscriptionsPage(ctx, "sb-alpha", "events", "", 10); err != nil || len(ss) != 0 {
		t.Errorf("subscriptions of a re-created topic: %+v, %v", ss, err)
	}
	wantCode(t, "DeleteServiceBusQueue of a topic", s.DeleteServiceBusQueue(ctx, "sb-alpha", "events"), lanyard.KindNotFound, "NotFound")
	must(t, "DeleteServiceBusQueue", s.DeleteServiceBusQueue(ctx, "sb-alpha", "q-b"))

	// Deleting a namespace deletes its entities, and only its own.
	must(t, "DeleteServiceBusNamespace", s.DeleteServiceBusNamespace(ctx, "SB-alpha"))
	wantCode(t, "DeleteServiceBusNamespace twice", s.DeleteServiceBusNamespace(ctx, "sb-alpha"), lanyard.KindNotFound, "ResourceNotFound")
	must(t, "CreateServiceBusNamespace again", s.CreateServiceBusNamespace(ctx, a))
	if qs, err := s.ListServiceBusQueuesPage(ctx, "sb-alpha", "", 10); err != nil || len(qs) != 0 {
		t.Errorf("queues of a re-created namespace: %+v, %v", qs, err)
	}
	if _, err := s.GetServiceBusQueue(ctx, "sb-beta", "orders"); err != nil {
		t.Errorf("the other namespace's queue: %v", err)
	}
}
