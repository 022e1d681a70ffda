package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sbSeed is a namespace with a queue, and an app whose system-assigned identity starts
// with no role.
type sbSeed struct {
	inst    *instance
	fqdn    string // host:port, what the SDKs take as the fully qualified namespace
	queueID string
}

func seedServiceBus(t *testing.T) *sbSeed {
	t.Helper()
	inst := up(t)
	inst.cli(t, "group", "create", "-n", "demo")
	var ns, q map[string]any
	inst.cliJSON(t, &ns, "servicebus", "namespace", "create", "-g", "demo", "-n", "orders-ns")
	endpoint, _ := ns["serviceBusEndpoint"].(string)
	fqdn := strings.TrimSuffix(strings.TrimPrefix(endpoint, "https://"), "/")
	if !strings.HasPrefix(fqdn, "localhost:") {
		t.Fatalf("namespace endpoint %q: want https://localhost:PORT/", endpoint)
	}
	inst.cliJSON(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "orders",
		"--lock-duration", "PT5S", "--max-delivery-count", "3")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "web", "--system-assigned")
	return &sbSeed{inst: inst, fqdn: fqdn, queueID: q["id"].(string)}
}

// sbLine is one line gosb or servicebus.mjs printed.
type sbLine struct {
	Sent     int `json:"sent"`
	Received []struct {
		Body           string         `json:"body"`
		DeliveryCount  int            `json:"deliveryCount"`
		SequenceNumber int64          `json:"sequenceNumber"`
		Reason         string         `json:"deadLetterReason"`
		Source         string         `json:"deadLetterSource"`
		Locked         bool           `json:"locked"`
		Properties     map[string]any `json:"properties"`
	} `json:"received"`
	Rules []struct {
		Name   string         `json:"name"`
		Filter map[string]any `json:"filter"`
		Action string         `json:"action"`
	} `json:"rules"`
	Peeked       []json.RawMessage `json:"peeked"`
	RenewedLater bool              `json:"renewedLater"`
	Session      string            `json:"session"`
	SessionState string            `json:"sessionState"`
	Receiving    bool              `json:"receiving"`
	Error        *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// gosb runs the azservicebus client as the app, in a fresh process.
func (s *sbSeed) gosb(t *testing.T, args ...string) sbLine {
	t.Helper()
	return s.runClient(t, "gosb", append([]string{buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", "orders"}, args...))
}

// runClient runs a client command line as the app and decodes the one line it prints.
func (s *sbSeed) runClient(t *testing.T, name string, argv []string) sbLine {
	t.Helper()
	out, errOut, err := s.inst.try(append([]string{"app", "run", "-g", "demo", "-n", "web", "--"}, argv...)...)
	var line sbLine
	if jerr := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); jerr != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s\nserver log:\n%s", name, argv[1:], err, out, errOut, s.inst.stderr)
	}
	return line
}

func (s *sbSeed) assign(t *testing.T, role string) string {
	t.Helper()
	var a map[string]any
	s.inst.cliJSON(t, &a, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", role, "--scope", s.queueID)
	return a["id"].(string)
}

func wantSBError(t *testing.T, what string, got sbLine, code string) {
	t.Helper()
	if got.Error == nil || got.Error.Code != code {
		t.Fatalf("%s: got %+v (error %+v), want error %s", what, got, got.Error, code)
	}
}

func bodies(l sbLine) []string {
	var out []string
	for _, m := range l.Received {
		out = append(out, m.Body)
	}
	return out
}

// TestServiceBusQueuesGo: the unmodified azservicebus, with the app's managed identity,
// against a namespace whose roles are enforced: refused without a role, sending with Data
// Sender, receiving with Data Receiver; single and batched sends, PeekLock with complete,
// abandon and dead-letter, the dead-letter queue, max delivery count, lock renewal, a
// lost lock, ReceiveAndDelete, peek; and an open receiver detached within a second of
// its role assignment's removal.
func TestServiceBusQueuesGo(t *testing.T) {
	s := seedServiceBus(t)
	wantSBError(t, "send with no role", s.gosb(t, "-op", "send"), "unauthorized")
	// The refusal is an audit event, as at Blob.
	var denied []map[string]any
	for deadline := time.Now().Add(10 * time.Second); len(denied) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.inst.cliJSON(t, &denied, "audit", "list", "--decision", "denied", "--action", "Microsoft.ServiceBus/namespaces/messages/send/action")
	}
	if len(denied) == 0 || !strings.Contains(fmt.Sprint(denied[0]), "queues/orders") {
		t.Fatalf("no audit event of the refused send link: %v", denied)
	}
	s.assign(t, "Azure Service Bus Data Sender")
	if got := s.gosb(t, "-op", "send", "-n", "2", "-body", "one"); got.Sent != 2 {
		t.Fatalf("send: %+v", got)
	}
	if got := s.gosb(t, "-op", "send-batch", "-n", "3", "-body", "batch"); got.Sent != 3 {
		t.Fatalf("send batch: %+v", got)
	}
	wantSBError(t, "receive with Data Sender only", s.gosb(t, "-op", "receive", "-n", "1"), "unauthorized")
	receiver := s.assign(t, "Azure Service Bus Data Receiver")

	if got := s.gosb(t, "-op", "peek", "-n", "10"); len(got.Peeked) != 5 {
		t.Fatalf("peek: %+v", got)
	}
	got := s.gosb(t, "-op", "receive", "-n", "2", "-settle", "abandon")
	if strings.Join(bodies(got), ",") != "one-0,one-1" || got.Received[0].DeliveryCount != 1 || got.Received[0].SequenceNumber != 1 || !got.Received[0].Locked {
		t.Fatalf("first receive: %+v", got)
	}
	got = s.gosb(t, "-op", "receive", "-n", "5", "-settle", "complete")
	if strings.Join(bodies(got), ",") != "one-0,one-1,batch-0,batch-1,batch-2" || got.Received[0].DeliveryCount != 2 {
		t.Fatalf("receive after abandon: %+v", got)
	}
	if got := s.gosb(t, "-op", "receive", "-n", "1", "-wait", "1s"); len(got.Received) != 0 {
		t.Fatalf("a completed message came back: %+v", got)
	}

	// Dead-lettering by the receiver, and by the broker after max delivery count.
	s.gosb(t, "-op", "send", "-n", "2", "-body", "dl")
	s.gosb(t, "-op", "receive", "-n", "1", "-settle", "deadletter")
	for range 3 {
		s.gosb(t, "-op", "receive", "-n", "1", "-settle", "abandon")
	}
	got = s.gosb(t, "-op", "receive", "-dlq", "-n", "2", "-settle", "complete")
	if len(got.Received) != 2 || got.Received[0].Reason != "Poison" || got.Received[1].Reason != "MaxDeliveryCountExceeded" || got.Received[0].Source != "orders" {
		t.Fatalf("dead-letter queue: %+v", got)
	}

	// Lock renewal, a lock lost, redelivery on lock expiry, receive-and-delete.
	s.gosb(t, "-op", "send", "-n", "1", "-body", "renew")
	if got := s.gosb(t, "-op", "renew"); !got.RenewedLater || len(got.Received) != 1 {
		t.Fatalf("renew: %+v", got)
	}
	s.gosb(t, "-op", "send", "-n", "1", "-body", "late")
	wantSBError(t, "complete after the lock expired", s.gosb(t, "-op", "settle-late", "-wait", "6s"), "locklost")
	got = s.gosb(t, "-op", "receive-delete", "-n", "5")
	if strings.Join(bodies(got), ",") != "late-0" || got.Received[0].Locked {
		t.Fatalf("receive-and-delete after the lock expired: %+v", got)
	}
	if got := s.gosb(t, "-op", "peek", "-n", "10"); len(got.Peeked) != 0 {
		t.Fatalf("after receive-and-delete the queue holds %+v", got)
	}
	var q map[string]any
	s.inst.cliJSON(t, &q, "servicebus", "queue", "show", "-g", "demo", "--namespace-name", "orders-ns", "-n", "orders")
	if counts, _ := q["countDetails"].(map[string]any); counts["activeMessageCount"] != 0.0 || counts["deadLetterMessageCount"] != 0.0 {
		t.Errorf("countDetails: %v", q["countDetails"])
	}

	// An open receiver loses its link within a second of its role's removal.
	lines, done := s.hold(t)
	if l := <-lines; !l.Receiving {
		t.Fatalf("hold: %+v", l)
	}
	s.inst.cli(t, "role", "assignment", "delete", "--ids", receiver)
	removed := time.Now()
	select {
	case l := <-lines:
		if l.Error == nil || l.Error.Code != "unauthorized" {
			t.Fatalf("held receiver after the role's removal: %+v", l)
		}
		t.Logf("receiver detached %v after the role assignment's removal", time.Since(removed).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("the receiver was not detached after its role was removed")
	}
	<-done
}

// hold runs gosb -op hold and streams its lines.
func (s *sbSeed) hold(t *testing.T) (<-chan sbLine, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, lanyardBin, "--home", s.inst.home, "app", "run", "-g", "demo", "-n", "web", "--",
		buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", "orders", "-op", "hold")
	cmd.Env = baseEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines, done := make(chan sbLine, 4), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l sbLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				lines <- l
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { cancel(); <-done })
	return lines, done
}

// nodeSB runs servicebus.mjs (@azure/service-bus) as the app, in a fresh process.
func (s *sbSeed) nodeSB(t *testing.T, args ...string) sbLine {
	t.Helper()
	return s.runClient(t, "servicebus.mjs", append([]string{"node", filepath.Join(nodeClients, "servicebus.mjs"), "--ns", s.fqdn, "--queue", "orders"}, args...))
}

// TestServiceBusQueuesJavaScript: the unmodified @azure/service-bus with the app's managed
// identity: refused without a role, then sends, batches, peeks, PeekLock settlements,
// dead-lettering, lock renewal and receive-and-delete with Data Owner.
func TestServiceBusQueuesJavaScript(t *testing.T) {
	requireNode(t)
	s := seedServiceBus(t)
	wantSBError(t, "send with no role", s.nodeSB(t, "--op", "send"), "UnauthorizedAccess")
	s.assign(t, "Azure Service Bus Data Owner")
	if got := s.nodeSB(t, "--op", "send", "--n", "2", "--body", "one"); got.Sent != 2 {
		t.Fatalf("send: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "send-batch", "--n", "2", "--body", "batch"); got.Sent != 2 {
		t.Fatalf("send batch: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "peek", "--n", "10"); len(got.Peeked) != 4 {
		t.Fatalf("peek: %+v", got)
	}
	got := s.nodeSB(t, "--op", "receive", "--n", "1", "--settle", "abandon")
	if strings.Join(bodies(got), ",") != "one-0" || !got.Received[0].Locked {
		t.Fatalf("receive: %+v", got)
	}
	got = s.nodeSB(t, "--op", "receive", "--n", "1", "--settle", "deadletter")
	if strings.Join(bodies(got), ",") != "one-0" || got.Received[0].DeliveryCount != 1 {
		t.Fatalf("receive after abandon: %+v", got)
	}
	got = s.nodeSB(t, "--op", "receive", "--dlq", "--n", "5", "--settle", "complete")
	if strings.Join(bodies(got), ",") != "one-0" || got.Received[0].Reason != "Poison" || got.Received[0].Source != "orders" {
		t.Fatalf("dead-letter queue: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "renew"); !got.RenewedLater || strings.Join(bodies(got), ",") != "one-1" {
		t.Fatalf("renew: %+v", got)
	}
	got = s.nodeSB(t, "--op", "receive-delete", "--n", "5")
	if strings.Join(bodies(got), ",") != "batch-0,batch-1" {
		t.Fatalf("receive-and-delete: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "peek", "--n", "10"); len(got.Peeked) != 0 {
		t.Fatalf("left in the queue: %+v", got)
	}
}

// TestServiceBusSchedulingDeferralGo: the unmodified azservicebus with the app's managed
// identity: ScheduleMessages (Data Sender) and CancelScheduledMessages, the scheduled
// count in countDetails, a scheduled message arriving after its time; DeferMessage,
// ReceiveDeferredMessages with abandon (it stays deferred) and complete; and duplicate
// sends dropped on a queue that detects them.
func TestServiceBusSchedulingDeferralGo(t *testing.T) {
	s := seedServiceBus(t)
	var dedup map[string]any
	s.inst.cliJSON(t, &dedup, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "orders-ns", "-n", "dedup",
		"--enable-duplicate-detection", "--duplicate-detection-history-time-window", "PT10M")
	s.assign(t, "Azure Service Bus Data Sender")
	s.inst.cli(t, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", "Azure Service Bus Data Owner", "--scope", dedup["id"].(string))
	far := s.gosbRaw(t, "-op", "schedule", "-n", "2", "-in", "1h", "-body", "far")
	if strings.TrimSpace(far) != `{"scheduled":[1,2]}` {
		t.Fatalf("schedule: %s", far)
	}
	due := time.Now().Add(2 * time.Second)
	if near := s.gosbRaw(t, "-op", "schedule", "-n", "1", "-in", "2s", "-body", "near"); strings.TrimSpace(near) != `{"scheduled":[3]}` {
		t.Fatalf("schedule: %s", near)
	}
	countDetails := func() map[string]any {
		var q map[string]any
		s.inst.cliJSON(t, &q, "servicebus", "queue", "show", "-g", "demo", "--namespace-name", "orders-ns", "-n", "orders")
		c, _ := q["countDetails"].(map[string]any)
		return c
	}
	if c := countDetails(); c["scheduledMessageCount"] != 3.0 || c["activeMessageCount"] != 0.0 {
		t.Fatalf("countDetails with 3 scheduled: %v", c)
	}
	if got := s.gosbRaw(t, "-op", "cancel", "-seqs", "1"); strings.TrimSpace(got) != `{"cancelled":1}` {
		t.Fatalf("cancel: %s", got)
	}
	wantSBError(t, "receive-deferred with Data Sender only", s.gosb(t, "-op", "receive-deferred", "-seqs", "3"), "unauthorized")
	s.assign(t, "Azure Service Bus Data Receiver")
	if got := s.gosb(t, "-op", "peek", "-n", "10"); len(got.Peeked) != 2 || !strings.Contains(string(got.Peeked[0]), `"state":"scheduled"`) {
		t.Fatalf("peek: %+v", got)
	}

	got := s.gosb(t, "-op", "receive", "-n", "1", "-wait", "30s", "-settle", "defer")
	if strings.Join(bodies(got), ",") != "near-0" || got.Received[0].SequenceNumber != 3 || time.Now().Before(due) {
		t.Fatalf("the scheduled message: %+v (due %v, now %v)", got, due, time.Now())
	}
	if got := s.gosb(t, "-op", "receive", "-n", "1", "-wait", "1s"); len(got.Received) != 0 {
		t.Fatalf("a deferred or scheduled message was received: %+v", got)
	}
	got = s.gosb(t, "-op", "receive-deferred", "-seqs", "3", "-settle", "abandon")
	if strings.Join(bodies(got), ",") != "near-0" || !got.Received[0].Locked || got.Received[0].DeliveryCount != 2 {
		t.Fatalf("receive-deferred: %+v", got)
	}
	got = s.gosb(t, "-op", "receive-deferred", "-seqs", "3", "-settle", "complete")
	if strings.Join(bodies(got), ",") != "near-0" || got.Received[0].DeliveryCount != 3 {
		t.Fatalf("receive-deferred after abandon: %+v", got)
	}
	if got := s.gosb(t, "-op", "receive-deferred", "-seqs", "3"); got.Error == nil {
		t.Fatalf("receive-deferred of a completed message: %+v", got)
	}
	s.gosbRaw(t, "-op", "cancel", "-seqs", "2")
	if c := countDetails(); c["scheduledMessageCount"] != 0.0 || c["activeMessageCount"] != 0.0 {
		t.Fatalf("countDetails at the end: %v", c)
	}

	// Duplicate detection: message ids d-0 and d-1, sent twice.
	for range 2 {
		if got := s.gosb(t, "-queue", "dedup", "-op", "send", "-n", "2", "-body", "d"); got.Sent != 2 {
			t.Fatalf("send to dedup: %+v", got)
		}
	}
	got = s.gosb(t, "-queue", "dedup", "-op", "receive-delete", "-n", "10", "-wait", "2s")
	if strings.Join(bodies(got), ",") != "d-0,d-1" {
		t.Fatalf("dedup holds %v, want d-0,d-1 once each", bodies(got))
	}
}

// gosbRaw runs gosb as gosb does and returns its output line as printed.
func (s *sbSeed) gosbRaw(t *testing.T, args ...string) string {
	t.Helper()
	argv := append([]string{"app", "run", "-g", "demo", "-n", "web", "--", buildClient(t, "gosb"), "-ns", s.fqdn, "-queue", "orders"}, args...)
	out, errOut, err := s.inst.try(argv...)
	if err != nil || strings.Contains(out, `"error"`) {
		t.Fatalf("gosb %v: %v\nstdout: %s\nstderr: %s", args, err, out, errOut)
	}
	return out
}

// TestServiceBusSchedulingDeferralJavaScript: the unmodified @azure/service-bus:
// scheduleMessages and cancelScheduledMessages, a scheduled message arriving,
// deferMessage, and receiveDeferredMessages with abandon and complete through
// $management (rhea's SDK takes the lock token from the answer's map).
func TestServiceBusSchedulingDeferralJavaScript(t *testing.T) {
	requireNode(t)
	s := seedServiceBus(t)
	s.assign(t, "Azure Service Bus Data Owner")
	raw := func(args ...string) string {
		t.Helper()
		argv := append([]string{"app", "run", "-g", "demo", "-n", "web", "--", "node", filepath.Join(nodeClients, "servicebus.mjs"), "--ns", s.fqdn, "--queue", "orders"}, args...)
		out, errOut, err := s.inst.try(argv...)
		if err != nil || strings.Contains(out, `"error"`) {
			t.Fatalf("servicebus.mjs %v: %v\nstdout: %s\nstderr: %s", args, err, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	if got := raw("--op", "schedule", "--n", "2", "--in", "3600", "--body", "far"); got != `{"scheduled":[1,2]}` {
		t.Fatalf("schedule: %s", got)
	}
	due := time.Now().Add(2 * time.Second)
	if got := raw("--op", "schedule", "--n", "1", "--in", "2", "--body", "near"); got != `{"scheduled":[3]}` {
		t.Fatalf("schedule: %s", got)
	}
	if got := raw("--op", "cancel", "--seqs", "1,2"); got != `{"cancelled":2}` {
		t.Fatalf("cancel: %s", got)
	}
	var got sbLine
	for deadline := time.Now().Add(30 * time.Second); len(got.Received) == 0 && time.Now().Before(deadline); {
		got = s.nodeSB(t, "--op", "receive", "--n", "1", "--settle", "defer")
	}
	if strings.Join(bodies(got), ",") != "near-0" || got.Received[0].SequenceNumber != 3 || time.Now().Before(due) {
		t.Fatalf("the scheduled message: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "receive", "--n", "1"); len(got.Received) != 0 {
		t.Fatalf("a deferred message was received: %+v", got)
	}
	got = s.nodeSB(t, "--op", "receive-deferred", "--seqs", "3", "--settle", "abandon")
	if strings.Join(bodies(got), ",") != "near-0" || !got.Received[0].Locked {
		t.Fatalf("receive-deferred: %+v", got)
	}
	got = s.nodeSB(t, "--op", "receive-deferred", "--seqs", "3", "--settle", "complete")
	if strings.Join(bodies(got), ",") != "near-0" {
		t.Fatalf("receive-deferred after abandon: %+v", got)
	}
	if got := s.nodeSB(t, "--op", "peek", "--n", "10"); len(got.Peeked) != 0 {
		t.Fatalf("left in the queue: %+v", got)
	}
}
