package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServiceBusResources drives the Service Bus resources through the CLI against a
// running server: a namespace, a queue with az's flags, a topic with a subscription and a
// rule, a Data Sender role assigned at the queue, and the namespace's deletion taking the
// entities and the assignment with it.
func TestServiceBusResources(t *testing.T) {
	inst := up(t)
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cli(t, "identity", "create", "-g", "demo", "-n", "id1")
	var ns, q, sub map[string]any
	inst.cliJSON(t, &ns, "servicebus", "namespace", "create", "-g", "demo", "-n", "orders-ns")
	if ns["provisioningState"] != "Succeeded" || ns["type"] != "Microsoft.ServiceBus/Namespaces" {
		t.Errorf("namespace: %v", ns)
	}
	inst.cliJSON(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming",
		"--lock-duration", "PT30S", "--max-delivery-count", "5", "--default-message-time-to-live", "P14D", "--enable-session",
		"--enable-dead-lettering-on-message-expiration", "--enable-duplicate-detection", "--duplicate-detection-history-time-window", "PT10M")
	if q["lockDuration"] != "PT30S" || q["maxDeliveryCount"] != 5.0 || q["defaultMessageTimeToLive"] != "P14D" || q["requiresSession"] != true {
		t.Errorf("queue: %v", q)
	}
	inst.cli(t, "servicebus", "topic", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "events")
	inst.cliJSON(t, &sub, "servicebus", "topic", "subscription", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "-n", "audit")
	inst.cli(t, "servicebus", "topic", "subscription", "rule", "create", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "audit", "-n", "vip", "--filter-sql-expression", "tier = 'gold'")
	rules := inst.cli(t, "servicebus", "topic", "subscription", "rule", "list", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events",
		"--subscription-name", "audit", "--query", "[].name", "-o", "tsv")
	if rules != "$Default\nvip\n" {
		t.Errorf("rules: %q", rules)
	}

	queueID := strings.TrimSpace(inst.cli(t, "servicebus", "queue", "show", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming", "--query", "id", "-o", "tsv"))
	inst.cli(t, "role", "assignment", "create", "--assignee", "id1", "-g", "demo", "--role", "Azure Service Bus Data Sender", "--scope", queueID)
	if _, errOut, err := inst.try("role", "assignment", "create", "--assignee", "id1", "-g", "demo", "--role", "Azure Service Bus Data Sender",
		"--scope", strings.Replace(queueID, "/queues/incoming", "/queues/missing", 1)); err == nil || !strings.Contains(errOut, "NotFound") {
		t.Errorf("an assignment at a missing queue: %v %s", err, errOut)
	}
	if got := inst.cli(t, "role", "assignment", "list", "--assignee", "id1", "-g", "demo", "--query", "[].scope", "-o", "tsv"); strings.TrimSpace(got) != queueID {
		t.Errorf("assignments: %q", got)
	}
	inst.cli(t, "servicebus", "namespace", "delete", "-g", "demo", "-n", "orders-ns")
	if got := inst.cli(t, "role", "assignment", "list", "--assignee", "id1", "-g", "demo", "--query", "[].scope", "-o", "tsv"); strings.TrimSpace(got) != "" {
		t.Errorf("assignments after the namespace was deleted: %q", got)
	}
	if _, errOut, err := inst.try("servicebus", "queue", "show", "-g", "demo", "--namespace-name", "orders-ns", "-n", "incoming"); err == nil || !strings.Contains(errOut, "ResourceNotFound") {
		t.Errorf("a queue of a deleted namespace: %v %s", err, errOut)
	}
}

// TestServiceBusARMSDK: the unmodified @azure/arm-servicebus (the Go armservicebus is not
// on the module proxy) deploys a namespace, queues, a topic, a subscription and a rule as
// an app with a Contributor role and its managed identity, and tears them down.
func TestServiceBusARMSDK(t *testing.T) {
	requireNode(t)
	inst := up(t)
	sub := inst.state.SubscriptionID
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "deployer", "--system-assigned", "--role", "Contributor", "--scope", "/subscriptions/"+sub)
	out, errOut, err := inst.try("app", "run", "-g", "demo", "-n", "deployer", "--", "node", filepath.Join(nodeClients, "servicebusarm.mjs"),
		"--endpoint", inst.state.APIURL, "--subscription", sub, "--group", "demo", "--namespace", "sdk-orders")
	if err != nil {
		t.Fatalf("servicebusarm.mjs: %v\n%s%s\nserver log:\n%s", err, out, errOut, inst.stderr)
	}
	want := `{"namespace":{"name":"sdk-orders","provisioningState":"Succeeded","sku":"Standard","endpoint":"https://localhost:PORT/"},` +
		`"available":false,` +
		`"queue":{"name":"orders","lockDuration":"PT30S","maxDeliveryCount":5,"defaultMessageTimeToLive":"P14D","requiresSession":true,"deadLettering":true,"active":0,"createdAt":true},` +
		`"defaults":{"lockDuration":"PT1M","maxDeliveryCount":10,"ttl":"P10675199DT2H48M5.4775807S"},` +
		`"got":"orders","queues":["defaults","orders"],"rules":["$Default"],"rule":"tier = 'gold'",` +
		`"invalid":"400 BadRequest","afterDelete":"404","namespaces":[]}`
	// The namespace's endpoint names its listener's port, a free one.
	got := regexp.MustCompile(`"endpoint":"https://localhost:\d+/"`).ReplaceAllString(strings.TrimSpace(out), `"endpoint":"https://localhost:PORT/"`)
	if got != want {
		t.Errorf("servicebusarm.mjs printed\n%s\nwant\n%s", out, want)
	}
}
