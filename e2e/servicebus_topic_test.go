package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// seedTopic adds topic events to the namespace of seedServiceBus, with subscriptions
// whose $Default rule is replaced by rules (name: filter flags), and returns its id.
func seedTopic(t *testing.T, s *sbSeed, subs map[string][]string) string {
	t.Helper()
	var tp map[string]any
	s.inst.cliJSON(t, &tp, "servicebus", "topic", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "events")
	for sub, rule := range subs {
		where := []string{"-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events"}
		s.inst.cli(t, append([]string{"servicebus", "topic", "subscription", "create", "-n", sub, "--max-delivery-count", "3"}, where...)...)
		if rule == nil {
			continue
		}
		where = append(where, "--subscription-name", sub)
		s.inst.cli(t, append([]string{"servicebus", "topic", "subscription", "rule", "delete", "-n", "$Default"}, where...)...)
		s.inst.cli(t, append(append([]string{"servicebus", "topic", "subscription", "rule", "create", "-n", "r"}, where...), rule...)...)
	}
	return tp["id"].(string)
}

func (s *sbSeed) assignAt(t *testing.T, role, scope string) {
	t.Helper()
	var a map[string]any
	s.inst.cliJSON(t, &a, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", role, "--scope", scope)
}

// TestServiceBusTopicsGo: the unmodified azservicebus with the app's managed identity
// sends one batch to a topic with three subscriptions (a SQL filter, a correlation
// filter, a SQL filter with an action); each subscription's receiver gets exactly its
// messages, the action's change included; a role on one subscription does not reach
// another, one on the topic reaches them all.
func TestServiceBusTopicsGo(t *testing.T) {
	s := seedServiceBus(t)
	topicID := seedTopic(t, s, map[string][]string{
		"red":    {"--filter-sql-expression", "color = 'red' AND quantity > 2"},
		"audit":  {"--correlation-id", "audit-1"},
		"tagged": {"--filter-sql-expression", "EXISTS(region) AND region LIKE 'e%'", "--action-sql-expression", "SET tagged = 'yes'"},
	})
	topic := func(args ...string) sbLine {
		return s.runClient(t, "gosb", append([]string{buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", "events"}, args...))
	}
	props := `[{"color":"red","quantity":3},{"color":"red","quantity":1},{"region":"eu"},{"$correlationId":"audit-1"},{"color":"blue","region":"us"}]`
	wantSBError(t, "publish with no role", topic("-op", "publish", "-props", props), "unauthorized")
	s.assignAt(t, "Azure Service Bus Data Sender", topicID)
	s.assignAt(t, "Azure Service Bus Data Receiver", topicID+"/subscriptions/red")
	if got := topic("-op", "publish", "-props", props); got.Sent != 5 {
		t.Fatalf("publish: %+v", got)
	}
	// countDetails of a subscription come from its messages.
	var sub map[string]any
	s.inst.cliJSON(t, &sub, "servicebus", "topic", "subscription", "show", "-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events", "-n", "tagged")
	if counts, _ := sub["countDetails"].(map[string]any); counts["activeMessageCount"] != 1.0 || sub["messageCount"] != 1.0 {
		t.Errorf("countDetails of tagged: %v", sub)
	}
	if got := topic("-op", "receive", "-sub", "red", "-n", "5", "-wait", "2s"); strings.Join(bodies(got), ",") != "m-0" {
		t.Fatalf("red: %+v", got)
	}
	wantSBError(t, "receive from audit with a role on red only", topic("-op", "receive", "-sub", "audit"), "unauthorized")
	s.assignAt(t, "Azure Service Bus Data Receiver", topicID)
	if got := topic("-op", "receive", "-sub", "audit", "-n", "5", "-wait", "2s"); strings.Join(bodies(got), ",") != "m-3" {
		t.Fatalf("audit: %+v", got)
	}
	got := topic("-op", "receive", "-sub", "tagged", "-n", "5", "-wait", "2s")
	if strings.Join(bodies(got), ",") != "m-2" || got.Received[0].Properties["tagged"] != "yes" || got.Received[0].Properties["RuleName"] != "r" {
		t.Fatalf("tagged: %+v", got)
	}
	for _, sub := range []string{"red", "audit", "tagged"} {
		if got := topic("-op", "peek", "-sub", sub, "-n", "10"); len(got.Peeked) != 0 {
			t.Errorf("left in %s: %+v", sub, got)
		}
	}
}

// TestServiceBusTopicsJavaScript: the unmodified @azure/service-bus with the app's
// managed identity: its rule manager (createRuleManager) lists, removes and adds rules
// with Listen rights on the subscription only; a batch published to the topic reaches
// the subscription through those rules; the app's receiver is refused on a subscription
// it has no role on.
func TestServiceBusTopicsJavaScript(t *testing.T) {
	requireNode(t)
	s := seedServiceBus(t)
	topicID := seedTopic(t, s, map[string][]string{"js": nil, "other": nil})
	topic := func(args ...string) sbLine {
		return s.runClient(t, "servicebus.mjs", append([]string{"node", filepath.Join(nodeClients, "servicebus.mjs"), "--ns", s.fqdn, "--queue", "events"}, args...))
	}
	wantSBError(t, "list rules with no role", topic("--op", "list-rules", "--sub", "js"), "UnauthorizedAccess")
	s.assignAt(t, "Azure Service Bus Data Receiver", topicID+"/subscriptions/js")
	if got := topic("--op", "list-rules", "--sub", "js"); len(got.Rules) != 1 || got.Rules[0].Name != "$Default" || got.Rules[0].Filter["sqlExpression"] != "1=1" {
		t.Fatalf("list-rules: %+v", got)
	}
	if got := topic("--op", "remove-rule", "--sub", "js", "--rule", "$Default"); got.Error != nil {
		t.Fatalf("remove-rule: %+v", got.Error)
	}
	if got := topic("--op", "add-rule", "--sub", "js", "--rule", "red", "--sql", "color = 'red'", "--action", "SET seen = 'js'"); got.Error != nil {
		t.Fatalf("add-rule: %+v", got.Error)
	}
	if got := topic("--op", "add-rule", "--sub", "js", "--rule", "corr", "--correlation-id", "c-9"); got.Error != nil {
		t.Fatalf("add-rule with a correlation filter: %+v", got.Error)
	}
	wantSBError(t, "add-rule of a name taken", topic("--op", "add-rule", "--sub", "js", "--rule", "red", "--sql", "1=1"), "MessagingEntityAlreadyExists")
	got := topic("--op", "list-rules", "--sub", "js")
	if len(got.Rules) != 2 || got.Rules[0].Name != "corr" || got.Rules[0].Filter["correlationId"] != "c-9" ||
		got.Rules[1].Name != "red" || got.Rules[1].Filter["sqlExpression"] != "color = 'red'" || got.Rules[1].Action != "SET seen = 'js'" {
		t.Fatalf("list-rules after the changes: %+v", got)
	}
	s.assignAt(t, "Azure Service Bus Data Sender", topicID)
	if got := topic("--op", "publish", "--props", `[{"color":"red"},{"color":"blue"},{"$correlationId":"c-9"}]`); got.Sent != 3 {
		t.Fatalf("publish: %+v", got)
	}
	got = topic("--op", "receive", "--sub", "js", "--n", "5")
	if strings.Join(bodies(got), ",") != "m-0,m-2" || got.Received[0].Properties["seen"] != "js" || got.Received[0].Properties["RuleName"] != "red" {
		t.Fatalf("js: %+v", got)
	}
	wantSBError(t, "receive from other", topic("--op", "receive", "--sub", "other"), "UnauthorizedAccess")
}
