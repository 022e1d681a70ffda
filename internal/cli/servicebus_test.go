package cli

import (
	"strings"
	"testing"
)

func TestServiceBusCommands(t *testing.T) {
	a := newRealAPI(t)
	a.ok(t, nil, "group", "create", "-n", "demo")
	a.ok(t, nil, "group", "create", "-n", "ops")
	var ns map[string]any
	a.ok(t, &ns, "servicebus", "namespace", "create", "-g", "demo", "-n", "orders-ns")
	if ns["name"] != "orders-ns" || ns["resourceGroup"] != "demo" || ns["provisioningState"] != "Succeeded" ||
		ns["serviceBusEndpoint"] != "https://localhost:17101/" || ns["sku"].(map[string]any)["name"] != "Standard" {
		t.Errorf("namespace create printed %v", ns)
	}
	if _, errOut, code := a.run(t, "servicebus", "namespace", "create", "-g", "ops", "-n", "orders-ns"); code == 0 || !strings.Contains(errOut, "not available") {
		t.Errorf("a taken name: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "servicebus", "namespace", "create", "-g", "demo", "-n", "orders-sb"); code == 0 || !strings.Contains(errOut, "BadRequest") {
		t.Errorf("a name ending in -sb: %d %s", code, errOut)
	}
	var list []map[string]any
	a.ok(t, &list, "servicebus", "namespace", "list")
	if len(list) != 1 {
		t.Errorf("namespace list: %v", list)
	}

	var q map[string]any
	a.ok(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming")
	if q["lockDuration"] != "PT1M" || q["maxDeliveryCount"] != 10.0 || q["defaultMessageTimeToLive"] != "P10675199DT2H48M5.4775807S" || q["requiresSession"] != false {
		t.Errorf("queue create printed %v", q)
	}
	a.ok(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "payments", "--enable-session", "--lock-duration", "PT30S",
		"--max-delivery-count", "5", "--default-message-time-to-live", "P14D", "--enable-dead-lettering-on-message-expiration",
		"--enable-duplicate-detection", "--duplicate-detection-history-time-window", "PT30M")
	if q["lockDuration"] != "PT30S" || q["maxDeliveryCount"] != 5.0 || q["defaultMessageTimeToLive"] != "P14D" || q["requiresSession"] != true ||
		q["deadLetteringOnMessageExpiration"] != true || q["requiresDuplicateDetection"] != true || q["duplicateDetectionHistoryTimeWindow"] != "PT30M" {
		t.Errorf("queue create with settings printed %v", q)
	}
	if _, errOut, code := a.run(t, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "x", "--lock-duration", "60s"); code == 0 || !strings.Contains(errOut, "ISO 8601") {
		t.Errorf("--lock-duration 60s: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "x", "--lock-duration", "PT6M"); code == 0 || !strings.Contains(errOut, "out of range") {
		t.Errorf("--lock-duration PT6M: %d %s", code, errOut)
	}
	// update keeps what it is not told to change (requiresSession, fixed, would refuse a PUT
	// that left it out).
	a.ok(t, &q, "servicebus", "queue", "update", "-g", "demo", "--namespace-name", "orders-ns", "-n", "payments", "--max-delivery-count", "7")
	if q["maxDeliveryCount"] != 7.0 || q["lockDuration"] != "PT30S" || q["requiresSession"] != true || q["defaultMessageTimeToLive"] != "P14D" {
		t.Errorf("queue update printed %v", q)
	}
	if _, errOut, code := a.run(t, "servicebus", "queue", "update", "-g", "demo", "--namespace-name", "orders-ns", "-n", "missing", "--max-delivery-count", "7"); code == 0 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("update of a missing queue: %d %s", code, errOut)
	}
	out, _, code := a.run(t, "servicebus", "queue", "show", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming", "--query", "countDetails.activeMessageCount", "-o", "tsv")
	if code != 0 || out != "0\n" {
		t.Errorf("queue show --query countDetails.activeMessageCount: %d %q", code, out)
	}
	a.ok(t, &list, "servicebus", "queue", "list", "-g", "demo", "--namespace-name", "orders-ns")
	if len(list) != 2 || list[0]["name"] != "incoming" || list[1]["name"] != "payments" {
		t.Errorf("queue list: %v", list)
	}
	out, _, code = a.run(t, "servicebus", "queue", "list", "-g", "demo", "--namespace-name", "orders-ns", "-o", "table")
	if code != 0 || !strings.Contains(out, "LockDuration") || !strings.Contains(out, "PT30S") {
		t.Errorf("queue list -o table: %d %s", code, out)
	}

	var topic, sub, rule map[string]any
	a.ok(t, &topic, "servicebus", "topic", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "events", "--default-message-time-to-live", "P7D", "--enable-ordering")
	if topic["defaultMessageTimeToLive"] != "P7D" || topic["supportOrdering"] != true {
		t.Errorf("topic create printed %v", topic)
	}
	if _, errOut, code := a.run(t, "servicebus", "topic", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming"); code == 0 || !strings.Contains(errOut, "Conflict") {
		t.Errorf("a topic named as a queue: %d %s", code, errOut)
	}
	a.ok(t, &sub, "servicebus", "topic", "subscription", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "-n", "shipping",
		"--lock-duration", "PT2M", "--max-delivery-count", "3")
	if sub["lockDuration"] != "PT2M" || sub["maxDeliveryCount"] != 3.0 {
		t.Errorf("subscription create printed %v", sub)
	}
	a.ok(t, &rule, "servicebus", "topic", "subscription", "rule", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "shipping", "-n", "big", "--filter-sql-expression", "weight > 100", "--action-sql-expression", "SET priority = 'high'")
	if rule["filterType"] != "SqlFilter" || rule["sqlFilter"].(map[string]any)["sqlExpression"] != "weight > 100" || rule["action"].(map[string]any)["sqlExpression"] != "SET priority = 'high'" {
		t.Errorf("rule create printed %v", rule)
	}
	a.ok(t, &rule, "servicebus", "topic", "subscription", "rule", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "shipping", "-n", "vip", "--label", "vip")
	if rule["filterType"] != "CorrelationFilter" || rule["correlationFilter"].(map[string]any)["label"] != "vip" {
		t.Errorf("correlation rule create printed %v", rule)
	}
	if _, errOut, code := a.run(t, "servicebus", "topic", "subscription", "rule", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "shipping", "-n", "mixed", "--label", "vip", "--filter-sql-expression", "1=1"); code == 0 || !strings.Contains(errOut, "--filter-type") {
		t.Errorf("a SQL expression with correlation flags: %d %s", code, errOut)
	}
	a.ok(t, &list, "servicebus", "topic", "subscription", "rule", "list", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "--subscription-name", "shipping")
	var names []string
	for _, r := range list {
		names = append(names, r["name"].(string))
	}
	if strings.Join(names, ",") != "$Default,big,vip" {
		t.Errorf("rules: %v", names)
	}
	_, errOut, code := a.run(t, "servicebus", "topic", "subscription", "rule", "delete", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "shipping", "-n", "$Default")
	if code != 0 || !strings.Contains(errOut, "Deleted rule") {
		t.Errorf("rule delete: %d %s", code, errOut)
	}
	a.ok(t, &sub, "servicebus", "topic", "subscription", "show", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "-n", "shipping")
	_, errOut, code = a.run(t, "servicebus", "topic", "delete", "-g", "demo", "--namespace-name", "orders-ns", "-n", "events")
	if code != 0 || !strings.Contains(errOut, "Deleted topic") {
		t.Errorf("topic delete: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "servicebus", "topic", "subscription", "show", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "-n", "shipping"); code == 0 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("a subscription of a deleted topic: %d %s", code, errOut)
	}
	_, errOut, code = a.run(t, "servicebus", "namespace", "delete", "-g", "demo", "-n", "orders-ns")
	if code != 0 || !strings.Contains(errOut, "Deleted Service Bus namespace") {
		t.Errorf("namespace delete: %d %s", code, errOut)
	}
	_, errOut, _ = a.run(t, "servicebus", "queue", "delete", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming")
	if !strings.Contains(errOut, "Nothing to delete") {
		t.Errorf("queue delete after its namespace: %s", errOut)
	}
}
