package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// sbNodes is two nodes on one PostgreSQL database serving one namespace, each at the
// namespace's port on its own host: node 1 on 127.0.0.1, node 2 on 127.0.0.2
// (serviceBus.bindHost), so both run on this one machine.
type sbNodes struct {
	c         *cluster
	fqdns     [2]string // what the SDKs take as the namespace, to reach node 1 or node 2
	queueID   string
	principal string // the app's system-assigned identity
	owner     string // its Data Owner assignment at the queue
}

const sbReceiveAction = "Microsoft.ServiceBus/namespaces/messages/receive/action"

// seedServiceBusNodes starts the two nodes and creates, through node 1, a namespace with
// the queue orders (5 s locks, deliveries enough that none is dead-lettered for a crash)
// and the app web whose identity is Data Owner of the queue; it returns once node 2 serves
// the namespace and allows the app.
func seedServiceBusNodes(t *testing.T) *sbNodes {
	t.Helper()
	c := newClusterWith(t, 2, func(i int, cfg map[string]any) {
		sb := map[string]string{"defaultListen": "127.0.0.1:0"} // not 5671, which another run may hold
		if i == 1 {
			sb["bindHost"] = "127.0.0.2"
			// Fixed ports, so that node 2 started again after a kill is where its clients
			// (and their managed-identity endpoint) left it.
			cfg["listen"] = map[string]string{"api": "127.0.0.1:" + freePort(t), "msi": "127.0.0.1:" + freePort(t), "blob": "127.0.0.1:" + freePort(t)}
		}
		cfg["serviceBus"] = sb
	})
	n1 := c.nodes[0]
	n1.cli(t, "group", "create", "-n", "demo")
	var ns, q, a map[string]any
	n1.cliJSON(t, &ns, "servicebus", "namespace", "create", "-g", "demo", "-n", "nodes-ns")
	endpoint, _ := ns["serviceBusEndpoint"].(string)
	fqdn := strings.TrimSuffix(strings.TrimPrefix(endpoint, "https://"), "/")
	_, port, err := net.SplitHostPort(fqdn)
	if err != nil {
		t.Fatalf("namespace endpoint %q: %v", endpoint, err)
	}
	n1.cliJSON(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "nodes-ns", "-n", "orders",
		"--lock-duration", "PT5S", "--max-delivery-count", "100")
	n1.cli(t, "app", "create", "-g", "demo", "-n", "web", "--system-assigned")
	n1.cliJSON(t, &a, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", "Azure Service Bus Data Owner", "--scope", q["id"].(string))
	s := &sbNodes{c: c, fqdns: [2]string{fqdn, net.JoinHostPort("127.0.0.2", port)}, queueID: q["id"].(string),
		principal: a["principalId"].(string), owner: a["id"].(string)}
	eventually(t, "node 2 serves the namespace created through node 1", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", s.fqdns[1], time.Second)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
	s.awaitAllowed(t, 1)
	return s
}

// awaitAllowed waits until node decides the app may receive from the queue.
func (s *sbNodes) awaitAllowed(t *testing.T, node int) {
	t.Helper()
	eventually(t, fmt.Sprintf("node %d allows the app", node+1), func() (bool, string) {
		return s.c.check(t, node, s.principal, sbReceiveAction, s.queueID)
	})
}

// TestServiceBusTwoNodes: the unmodified azservicebus sends and receives through both
// nodes of a cluster on PostgreSQL, one sender and one PeekLock receiver (completing each
// message) on each, competing for one queue; node 2 is killed with SIGKILL mid-stream and
// started again, its clients recovering on their own, while node 1's keep going. Then
// both nodes drain the queue. Every send either node acknowledged was received at least
// once; no message whose completion was acknowledged was delivered again; no message was
// locked for one receiver while another's lock on it held (a lock taken on one node holds
// on both, and through a node's crash); and the queue's countDetails before the final
// drain are what it found. LANYARD_FAULTS_LONG=1 kills node 2 ten times instead of once.
func TestServiceBusTwoNodes(t *testing.T) {
	kills := 1
	if os.Getenv("LANYARD_FAULTS_LONG") != "" {
		kills = 10
	}
	s := seedServiceBusNodes(t)
	n1, n2 := s.c.nodes[0], s.c.nodes[1]
	ledger := newSBLedger()
	sender1 := startSBLoop(t, n1, s.fqdns[0], "sender on node 1", ledger, "-op", "send-loop", "-body", "a", "-n", "1000000", "-batch", "1", "-pause", "5ms")
	sender2 := startSBLoop(t, n2, s.fqdns[1], "sender on node 2", ledger, "-op", "send-loop", "-body", "b", "-n", "1000000", "-batch", "8", "-pause", "20ms")
	receiver1 := startSBLoop(t, n1, s.fqdns[0], "receiver on node 1", ledger, "-op", "drain", "-n", "16")
	receiver2 := startSBLoop(t, n2, s.fqdns[1], "receiver on node 2", ledger, "-op", "drain", "-n", "16")
	loops := []*sbLoop{sender1, sender2, receiver1, receiver2}
	logs := func() string {
		var b strings.Builder
		for _, p := range loops {
			b.WriteString(p.name + ":\n" + p.lastLines() + "\n" + p.stderr.String())
		}
		for i, n := range s.c.nodes {
			fmt.Fprintf(&b, "node %d log:\n%s\n", i+1, n.stderr)
		}
		return b.String()
	}
	// progressed waits until each of these loops had a send or a completion acknowledged
	// since the call.
	progressed := func(what string, these ...*sbLoop) {
		t.Helper()
		was := make([]int64, len(these))
		for i, p := range these {
			was[i] = p.acked.Load() + p.completed.Load()
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			all := true
			for i, p := range these {
				all = all && p.acked.Load()+p.completed.Load() > was[i]
			}
			if all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not every client had something acknowledged within 30s\n%s", what, logs())
			}
		}
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	var back []time.Duration
	progressed("both nodes serving", loops...)
	for range kills {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		killed := time.Now()
		n2.kill()
		progressed("node 1 alone", sender1, receiver1)
		s.c.restart(t, 1)
		progressed("node 2 started again", sender2, receiver2)
		back = append(back, time.Since(killed))
	}
	time.Sleep(300 * time.Millisecond)
	for _, p := range loops {
		p.stop(t)
	}

	// What remains, by the management plane, then drained through both nodes, outlasting
	// the locks the killed node's receiver held.
	remaining := queueCounts(t, n1, "nodes-ns", "orders")
	ledger.mu.Lock()
	ledger.final = true
	ledger.mu.Unlock()
	finals := []*sbLoop{
		startSBLoop(t, n1, s.fqdns[0], "final drain on node 1", ledger, "-op", "drain", "-n", "64", "-idle", "7s"),
		startSBLoop(t, n2, s.fqdns[1], "final drain on node 2", ledger, "-op", "drain", "-n", "64", "-idle", "7s"),
	}
	for _, p := range finals {
		<-p.done
	}

	v := ledger.check(t, 5*time.Second)
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	if int64(len(ledger.gotFinal)) != remaining.active || ledger.nCompletedFinal != len(ledger.gotFinal) {
		t.Errorf("countDetails before the final drain: %d active; the drains received %d stored messages and completed %d",
			remaining.active, len(ledger.gotFinal), ledger.nCompletedFinal)
	}
	if remaining.deadLetter != 0 {
		t.Errorf("countDetails before the final drain: %d dead-lettered", remaining.deadLetter)
	}
	// One queue, not one per node: each node's receiver got messages sent through the other.
	crossed := map[string]int{}
	for c, ds := range ledger.got {
		for _, d := range ds {
			crossed[d.By+" "+c.id[:1]]++
		}
	}
	if crossed["receiver on node 1 b"] == 0 || crossed["receiver on node 2 a"] == 0 {
		t.Errorf("no message crossed nodes: received through node 1 %d sent through node 2, through node 2 %d sent through node 1",
			crossed["receiver on node 1 b"], crossed["receiver on node 2 a"])
	}
	if left := queueCounts(t, n2, "nodes-ns", "orders"); left.active != 0 || left.deadLetter != 0 {
		t.Errorf("countDetails after the final drain: %+v", left)
	}
	slices.Sort(back)
	t.Logf("Service Bus on two nodes: seed %d, %d SIGKILLs of node 2 (kill to its clients' next acknowledgements p50 %s, max %s); acknowledged %d sends of %d attempted (node 1 %d, node 2 %d), %d completions (node 1 %d, node 2 %d); %d copies received, %d of them more than once, %d by the final drains; %d client errors; lost %d, delivered after completion %d, phantom %d, overlapping locks %d, vanished %d; deliveries across nodes %d (node 2's sends on node 1) and %d (node 1's on node 2)",
		seed, kills, back[len(back)/2].Round(time.Millisecond), back[len(back)-1].Round(time.Millisecond),
		len(ledger.acked), len(ledger.attempted), sender1.acked.Load(), sender2.acked.Load(),
		len(ledger.completed), receiver1.completed.Load(), receiver2.completed.Load(),
		len(ledger.got), v.duplicates, len(ledger.gotFinal), ledger.errors, v.lost, v.again, v.phantom, v.overlapping, v.vanished, crossed["receiver on node 1 b"], crossed["receiver on node 2 a"])
}

// TestServiceBusTwoNodesDetach: @azure/service-bus sends through node 2 and receives
// through node 1; then an azservicebus receiver holding a link on node 2 is detached when,
// through node 1, its role assignment is deleted, its principal's tokens are revoked, its
// identity is disabled, its role's definition no longer allows receiving, its queue is
// deleted, or its identity is (with its app): node 2 follows the store's change feed and
// rechecks its links four times a second. Each delay is logged (bench/propagation measures
// the feed); the bound is only a failure deadline.
func TestServiceBusTwoNodesDetach(t *testing.T) {
	requireNode(t)
	s := seedServiceBusNodes(t)
	n1 := s.c.nodes[0]
	held := &sbSeed{inst: s.c.nodes[1], fqdn: s.fqdns[1]}

	// @azure/service-bus too reaches either node by its address: what it sends through
	// node 2, it receives through node 1.
	if got := held.nodeSB(t, "--op", "send-batch", "--n", "3", "--body", "js"); got.Sent != 3 {
		t.Fatalf("send-batch through node 2: %+v", got)
	}
	if got := (&sbSeed{inst: n1, fqdn: s.fqdns[0]}).nodeSB(t, "--op", "receive", "--n", "3", "--settle", "complete"); strings.Join(bodies(got), ",") != "js-0,js-1,js-2" {
		t.Fatalf("receive through node 1: %+v", got)
	}
	// detached holds a receiver on node 2, makes change through node 1, and waits for the
	// receiver's error: want is the SDK's code, or (azservicebus gives amqp:not-found no
	// code) the AMQP condition in its message.
	detached := func(what, want string, change func()) {
		t.Helper()
		lines, done := held.hold(t)
		select {
		case l := <-lines:
			if !l.Receiving {
				t.Fatalf("%s: hold on node 2: %+v", what, l)
			}
		case <-done:
			t.Fatalf("%s: hold on node 2 ended before receiving", what)
		}
		// Timed from the change's start: the link may go before the CLI call returns.
		at := time.Now()
		change()
		call := time.Since(at)
		select {
		case l := <-lines:
			if l.Error == nil || l.Error.Code != want && !strings.Contains(l.Error.Message, "Condition: "+want+",") {
				t.Fatalf("%s: the receiver on node 2 got %+v (error %+v), want error %s", what, l, l.Error, want)
			}
			t.Logf("%s through node 1: receiver on node 2 detached %v after the change began (the CLI call took %v)", what, time.Since(at).Round(time.Millisecond), call.Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatalf("%s through node 1: the receiver on node 2 was not detached within 10s\nnode 2 log:\n%s", what, s.c.nodes[1].stderr)
		}
		<-done
	}

	detached("role assignment deleted", "unauthorized", func() { n1.cli(t, "role", "assignment", "delete", "--ids", s.owner) })
	// From here on the app receives through a custom role, changed below.
	role := func(dataAction string) string {
		return `{"Name":"Queue Reader","DataActions":["` + dataAction + `"],"AssignableScopes":["/subscriptions/` + n1.state.SubscriptionID + `"]}`
	}
	n1.cli(t, "role", "definition", "create", "--role-definition", role(sbReceiveAction))
	n1.cli(t, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", "Queue Reader", "--scope", s.queueID)
	s.awaitAllowed(t, 1)

	detached("principal's tokens revoked", "unauthorized", func() {
		n1.cli(t, "token", "revoke", "--principal", s.principal, "--reason", "test")
	})

	detached("identity disabled", "unauthorized", func() {
		n1.cli(t, "identity", "update", "--principal", s.principal, "--enabled", "false")
	})
	n1.cli(t, "identity", "update", "--principal", s.principal, "--enabled", "true")

	detached("role definition changed", "unauthorized", func() {
		n1.cli(t, "role", "definition", "update", "--role-definition", role("Microsoft.ServiceBus/namespaces/messages/send/action"))
	})

	// The queue's deletion takes the assignments at its scope with it; one at the
	// namespace's still allows, so what detaches the link is the queue being gone.
	n1.cli(t, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", "Azure Service Bus Data Receiver",
		"--scope", strings.TrimSuffix(s.queueID, "/queues/orders"))
	detached("queue deleted", "amqp:not-found", func() {
		n1.cli(t, "servicebus", "queue", "delete", "-g", "demo", "--namespace-name", "nodes-ns", "-n", "orders")
	})

	n1.cli(t, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "nodes-ns", "-n", "orders")
	detached("app and its identity deleted", "unauthorized", func() {
		n1.cli(t, "app", "delete", "-g", "demo", "-n", "web")
	})
}
