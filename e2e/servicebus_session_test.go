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
// available.
func TestServiceBusSessionsGo(t *testing.T) {
	s := seedServiceBus(t)
	s.seedSessionQueue(t)
	run := func(args ...string) sbLine {
		return s.runClient(t, "gosb", append([]string{buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", "tasks"}, args...))
	}
	sessionScenario(t, run, func(f string) string { return "-" + f }, "timeout")
}

// TestServiceBusSessionsJavaScript: the same scenario with the unmodified
// @azure/service-bus: acceptSession, acceptNextSession, getSessionState, setSessionState,
// renewSessionLock.
func TestServiceBusSessionsJavaScript(t *testing.T) {
	requireNode(t)
	s := seedServiceBus(t)
	s.seedSessionQueue(t)
	run := func(args ...string) sbLine {
		return s.runClient(t, "servicebus.mjs", append([]string{"node", filepath.Join(nodeClients, "servicebus.mjs"), "--ns", s.fqdn, "--queue", "tasks"}, args...))
	}
	sessionScenario(t, run, func(f string) string { return "--" + f }, "ServiceTimeout")
}
