package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// seedSessionQueue adds the session-enabled queue "tasks" to s's namespace, with the app
// its Data Owner.
func (s *sbSeed) seedSessionQueue(t *testing.T) {
	t.Helper()
	var q, a map[string]any
	s.inst.cliJSON(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "tasks",
		"--enable-session", "--lock-duration", "PT5S", "--max-delivery-count", "3")
	s.inst.cliJSON(t, &a, "role", "assignment", "create", "-g", "demo", "--assignee", "web",
		"--role", "Azure Service Bus Data Owner", "--scope", q["id"].(string))
}

// seedSessionTopic adds the topic "events" with the session-enabled subscription "tasks"
// and the plain subscription "log", with the app Data Owner of the topic.
func (s *sbSeed) seedSessionTopic(t *testing.T) {
	t.Helper()
	var tp map[string]any
	s.inst.cliJSON(t, &tp, "servicebus", "topic", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "events")
	where := []string{"-g", "demo", "--namespace-name", "orders-ns", "--topic-name", "events"}
	s.inst.cli(t, append([]string{"servicebus", "topic", "subscription", "create", "-n", "tasks", "--enable-session",
		"--lock-duration", "PT5S", "--max-delivery-count", "3"}, where...)...)
	s.inst.cli(t, append([]string{"servicebus", "topic", "subscription", "create", "-n", "log"}, where...)...)
	s.assignAt(t, "Azure Service Bus Data Owner", tp["id"].(string))
}

// subscriptionSessionScenario runs sessionScenario on subscription "tasks" of topic
// "events" (run's entity): sent to the topic, accepted on the subscription. Then a
// message without a session id is accepted, as Service Bus does: "log" gets every
// message, and the copy for "tasks" is in its dead-letter queue with Service Bus's reason.
func subscriptionSessionScenario(t *testing.T, run func(args ...string) sbLine, flag func(string) string, timeoutCode string) {
	t.Helper()
	sessionScenario(t, func(args ...string) sbLine { return run(append(args, flag("sub"), "tasks")...) }, flag, timeoutCode)
	if got := run(flag("op"), "send", flag("n"), "1", flag("body"), "plain"); got.Sent != 1 || got.Error != nil {
		t.Fatalf("send without a session id: %+v %+v", got, got.Error)
	}
	got := run(flag("op"), "receive-delete", flag("sub"), "tasks", flag("dlq"), flag("n"), "1")
	if len(got.Received) != 1 || got.Received[0].Body != "plain-0" || got.Received[0].Reason != "Session id is null." {
		t.Fatalf("the dead-letter queue of tasks: %+v %+v", got, got.Error)
	}
	if got := run(flag("op"), "receive-delete", flag("sub"), "log", flag("n"), "10"); len(got.Received) != 10 {
		t.Fatalf("the plain subscription log: %+v %+v", got, got.Error)
	}
}

// sessionScenario runs the sessions scenario through run (one client operation per call,
// args in the client's flag syntax without the leading dashes' count): sessions a, b and
// c get three messages each, interleaved; b is accepted by name, a then c as the next
// available (oldest first), each in order; b's state survives its receiver; with no
// session left, accepting the next one times out.
func sessionScenario(t *testing.T, run func(args ...string) sbLine, flag func(string) string, timeoutCode string) {
	t.Helper()
	if got := run(flag("op"), "session-send", flag("sessions"), "a,b,c", flag("n"), "3"); got.Sent != 9 {
		t.Fatalf("session-send: %+v", got)
	}
	got := run(flag("op"), "session-receive", flag("session"), "b", flag("n"), "3", flag("state"), "b-done")
	if got.Session != "b" || strings.Join(bodies(got), ",") != "b-0,b-1,b-2" || got.SessionState != "" {
		t.Fatalf("session b: %+v %+v", got, got.Error)
	}
	for _, want := range []string{"a", "c"} {
		got := run(flag("op"), "session-receive", flag("n"), "3")
		if got.Session != want || strings.Join(bodies(got), ",") != want+"-0,"+want+"-1,"+want+"-2" {
			t.Fatalf("next session, want %s: %+v", want, got)
		}
	}
	got = run(flag("op"), "session-receive", flag("session"), "b", flag("n"), "1", flag("wait"), "1s")
	if got.Session != "b" || len(got.Received) != 0 || got.SessionState != "b-done" {
		t.Fatalf("session b again: %+v", got)
	}
	wantSBError(t, "accept next with no session left", run(flag("op"), "session-receive", flag("wait"), "5s"), timeoutCode)
}

// TestServiceBusSessionsGo: the unmodified azservicebus with the app's managed identity
// on a session-enabled queue: AcceptSessionForQueue, AcceptNextSessionForQueue, ordering
// within a session, session state, RenewSessionLock, and CodeTimeout when no session is
// available; then the same on a session-enabled subscription
// (AcceptSessionForSubscription, AcceptNextSessionForSubscription).
func TestServiceBusSessionsGo(t *testing.T) {
	s := seedServiceBus(t)
	s.seedSessionQueue(t)
	s.seedSessionTopic(t)
	run := func(entity string) func(args ...string) sbLine {
		return func(args ...string) sbLine {
			return s.runClient(t, "gosb", append([]string{buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", entity}, args...))
		}
	}
	flag := func(f string) string { return "-" + f }
	sessionScenario(t, run("tasks"), flag, "timeout")
	subscriptionSessionScenario(t, run("events"), flag, "timeout")
}

// TestServiceBusSessionsJavaScript: the same scenarios with the unmodified
// @azure/service-bus: acceptSession, acceptNextSession (of a queue, and of a topic's
// subscription), getSessionState, setSessionState, renewSessionLock.
func TestServiceBusSessionsJavaScript(t *testing.T) {
	requireNode(t)
	s := seedServiceBus(t)
	s.seedSessionQueue(t)
	s.seedSessionTopic(t)
	run := func(entity string) func(args ...string) sbLine {
		return func(args ...string) sbLine {
			return s.runClient(t, "servicebus.mjs", append([]string{"node", filepath.Join(nodeClients, "servicebus.mjs"), "--ns", s.fqdn, "--queue", entity}, args...))
		}
	}
	flag := func(f string) string { return "--" + f }
	sessionScenario(t, run("tasks"), flag, "ServiceTimeout")
	subscriptionSessionScenario(t, run("events"), flag, "ServiceTimeout")
}
