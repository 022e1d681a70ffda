package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sbDelivery is one message as a gosb drain got it. A message id can be stored twice (a
// send stored but not acknowledged, then retried by the SDK); the sequence number tells
// the copies apart, and the delivery count grows with each lock on one copy. The lock is
// the broker's: its token, and until when it is held.
type sbDelivery struct {
	ID            string    `json:"id"`
	Seq           int64     `json:"seq"`
	DeliveryCount int       `json:"deliveryCount"`
	LockToken     string    `json:"lockToken"`
	LockedUntil   time.Time `json:"lockedUntil"`
	By            string    `json:"-"` // the loop that got it
}

// sbCopy is one stored copy of a message.
type sbCopy struct {
	id  string
	seq int64
}

// sbEvent is one line of gosb's send-loop or drain.
type sbEvent struct {
	Acked          []string    `json:"acked"`
	Failed         []string    `json:"failed"`
	Got            *sbDelivery `json:"got"`
	Completed      *sbDelivery `json:"completed"`
	CompleteFailed *sbDelivery `json:"completeFailed"`
	Error          *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// sbLedger is what the clients were told, as they printed it.
type sbLedger struct {
	mu        sync.Mutex
	attempted map[string]bool
	acked     map[string]bool
	// got holds every delivery of each copy, in the order the test read them; final marks
	// those of the drain after the crashes.
	got       map[sbCopy][]sbDelivery
	gotFinal  map[sbCopy]int
	completed map[sbCopy][]int // the delivery counts of acknowledged completions
	// completedEarly holds the copies completed before the final drain.
	completedEarly map[sbCopy]bool
	// completeFailed holds the copies whose completion was sent but not acknowledged.
	completeFailed map[sbCopy]bool
	final          bool // the final drain is running
	errors         int
	// Running totals, to see the clients make progress.
	nAcked, nCompleted, nCompletedFinal int
}

func newSBLedger() *sbLedger {
	return &sbLedger{attempted: map[string]bool{}, acked: map[string]bool{}, got: map[sbCopy][]sbDelivery{},
		gotFinal: map[sbCopy]int{}, completed: map[sbCopy][]int{}, completedEarly: map[sbCopy]bool{}, completeFailed: map[sbCopy]bool{}}
}

func (l *sbLedger) record(e sbEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range e.Acked {
		l.attempted[id], l.acked[id] = true, true
		l.nAcked++
	}
	for _, id := range e.Failed {
		l.attempted[id] = true
	}
	if d := e.Got; d != nil {
		c := sbCopy{d.ID, d.Seq}
		l.got[c] = append(l.got[c], *d)
		if l.final {
			l.gotFinal[c]++
		}
	}
	if d := e.CompleteFailed; d != nil {
		l.completeFailed[sbCopy{d.ID, d.Seq}] = true
	}
	if d := e.Completed; d != nil {
		c := sbCopy{d.ID, d.Seq}
		l.completed[c] = append(l.completed[c], d.DeliveryCount)
		l.nCompleted++
		if l.final {
			l.nCompletedFinal++
		} else {
			l.completedEarly[c] = true
		}
	}
	if e.Error != nil {
		l.errors++
	}
}

func (l *sbLedger) progress() (acked, completed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked, l.nCompleted
}

// sbLoop is a gosb loop op running as the app; closing its stdin stops it.
type sbLoop struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *bytes.Buffer
	done   chan struct{}

	// acked and completed count its acknowledged sends and completions.
	acked, completed atomic.Int64

	mu   sync.Mutex
	last []string // its last lines, for a failure's message
	// firstErrors are its first lines with an error, for a failure's message: what set
	// off what the last lines show.
	firstErrors []string
}

// lastLines returns what the loop printed last.
func (p *sbLoop) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.firstErrors) == 0 {
		return strings.Join(p.last, "\n")
	}
	return "first errors:\n" + strings.Join(p.firstErrors, "\n") + "\nlast lines:\n" + strings.Join(p.last, "\n")
}

// startSBLoop runs gosb with args as the app web of group demo, feeding its lines to l.
func startSBLoop(t *testing.T, inst *instance, fqdn, name string, l *sbLedger, args ...string) *sbLoop {
	t.Helper()
	argv := append([]string{"--home", inst.home, "app", "run", "-g", "demo", "-n", "web", "--", buildClient(t, "gosb"), "-ns", fqdn, "-queue", "orders"}, args...)
	p := &sbLoop{name: name, cmd: exec.Command(lanyardBin, argv...), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = baseEnv()
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e sbEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Errorf("%s printed %q: %v", name, sc.Text(), err)
				continue
			}
			if e.Got != nil {
				e.Got.By = name
			}
			l.record(e)
			p.acked.Add(int64(len(e.Acked)))
			if e.Completed != nil {
				p.completed.Add(1)
			}
			p.mu.Lock()
			p.last = append(p.last[max(0, len(p.last)-4):], sc.Text())
			if e.Error != nil && len(p.firstErrors) < 3 {
				p.firstErrors = append(p.firstErrors, sc.Text())
			}
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop closes the loop's stdin and waits for it to end, killing it after 30s.
func (p *sbLoop) stop(t *testing.T) {
	t.Helper()
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 30s of its stdin closing\n%s", p.name, p.stderr)
	}
}

// TestServiceBusCrash kills `lanyard up` with SIGKILL at random moments while the
// unmodified azservicebus sends (one by one and in batches) and receives in PeekLock with
// completion, starts it again on the same data folder and ports each time, lets the
// clients recover, then drains the queue. Every send the server acknowledged was received
// at least once; no stored message whose completion the server acknowledged was
// delivered again, nor locked while another lock on it was held; what the queue's
// countDetails show before the final drain is what the drain found; and the Prometheus
// counter of sent messages moves with sends.
// LANYARD_FAULTS_LONG=1 runs 40 kills instead of 4. It logs the figures
// docs/benchmarks.md records.
func TestServiceBusCrash(t *testing.T) {
	kills := 4
	if os.Getenv("LANYARD_FAULTS_LONG") != "" {
		kills = 40
	}
	n := newCrashNode(t, "--servicebus-addr", "127.0.0.1:0")
	inst := n.inst
	inst.cli(t, "group", "create", "-n", "demo")
	var ns, q map[string]any
	inst.cliJSON(t, &ns, "servicebus", "namespace", "create", "-g", "demo", "-n", "crash-ns")
	endpoint, _ := ns["serviceBusEndpoint"].(string)
	fqdn := strings.TrimSuffix(strings.TrimPrefix(endpoint, "https://"), "/")
	// A short lock, so messages locked when the node died come back soon; deliveries
	// enough that none is dead-lettered for the crashes.
	inst.cliJSON(t, &q, "servicebus", "queue", "create", "-g", "demo", "--namespace-name", "crash-ns", "-n", "orders",
		"--lock-duration", "PT5S", "--max-delivery-count", "100")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "web", "--system-assigned")
	inst.cli(t, "role", "assignment", "create", "-g", "demo", "--assignee", "web", "--role", "Azure Service Bus Data Owner", "--scope", q["id"].(string))

	ledger := newSBLedger()
	loops := []*sbLoop{
		startSBLoop(t, inst, fqdn, "sender a", ledger, "-op", "send-loop", "-body", "a", "-n", "1000000", "-batch", "1", "-pause", "5ms"),
		startSBLoop(t, inst, fqdn, "sender b", ledger, "-op", "send-loop", "-body", "b", "-n", "1000000", "-batch", "8", "-pause", "20ms"),
		startSBLoop(t, inst, fqdn, "receiver", ledger, "-op", "drain", "-n", "16"),
	}
	clientLogs := func() string {
		var b strings.Builder
		for _, p := range loops {
			b.WriteString(p.name + ":\n" + p.lastLines() + "\n" + p.stderr.String())
		}
		return b.String()
	}
	// progressed waits until the senders had a send and the receiver a completion
	// acknowledged since the call: the clients work against this process.
	progressed := func(what string) {
		t.Helper()
		acked, completed := ledger.progress()
		deadline := time.Now().Add(30 * time.Second)
		for {
			a, c := ledger.progress()
			if a > acked && c > completed {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no send and completion acknowledged within 30s\n%s\nserver log:\n%s", what, clientLogs(), n.inst.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	var ready []time.Duration
	progressed("before the first kill")
	for range kills {
		time.Sleep(time.Duration(200+rng.IntN(2300)) * time.Millisecond)
		killed := time.Now()
		n.inst.kill()
		n.restart(t)
		ready = append(ready, time.Since(killed))
		progressed("after a restart")
	}
	time.Sleep(500 * time.Millisecond)
	for _, p := range loops {
		p.stop(t)
	}

	// What remains, by the management plane, then by a drain that outlasts the locks the
	// last crash and the stopped receiver left.
	remaining := queueCounts(t, n.inst, "crash-ns", "orders")
	ledger.mu.Lock()
	ledger.final = true
	ledger.mu.Unlock()
	final := startSBLoop(t, n.inst, fqdn, "final drain", ledger, "-op", "drain", "-n", "64", "-idle", "7s")
	<-final.done

	v := ledger.check(t, 5*time.Second)
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	if int64(len(ledger.gotFinal)) != remaining.active || ledger.nCompletedFinal != len(ledger.gotFinal) {
		t.Errorf("countDetails before the final drain: %d active; the drain received %d stored messages and completed %d",
			remaining.active, len(ledger.gotFinal), ledger.nCompletedFinal)
	}
	if remaining.deadLetter != 0 {
		t.Errorf("countDetails before the final drain: %d dead-lettered", remaining.deadLetter)
	}
	if left := queueCounts(t, n.inst, "crash-ns", "orders"); left.active != 0 || left.deadLetter != 0 {
		t.Errorf("countDetails after the final drain: %+v", left)
	}
	slices.Sort(ready)
	t.Logf("Service Bus crash loop: seed %d, %d SIGKILLs (kill to ready p50 %s, max %s); acknowledged %d sends of %d attempted, %d completions; %d copies received, %d of them more than once, %d by the final drain; %d client errors; lost %d, delivered after completion %d, phantom %d, overlapping locks %d, vanished %d",
		seed, kills, ready[len(ready)/2].Round(time.Millisecond), ready[len(ready)-1].Round(time.Millisecond), len(ledger.acked), len(ledger.attempted), len(ledger.completed), len(ledger.got), v.duplicates, len(ledger.gotFinal), ledger.errors, v.lost, v.again, v.phantom, v.overlapping, v.vanished)
	if len(ledger.acked) == 0 || len(ledger.completed) == 0 {
		t.Errorf("the clients had nothing acknowledged (%d sends, %d completions): the test proves nothing", len(ledger.acked), len(ledger.completed))
	}

	// The metrics of the restarted node count what it accepts, and its depth gauge and the
	// queue's countDetails agree.
	s := &sbSeed{inst: n.inst, fqdn: fqdn}
	sentSeries := `lanyard_servicebus_messages_sent_total{entity="orders",namespace="crash-ns"}`
	before := scrape(t, n.inst)[sentSeries]
	if got := s.gosb(t, "-op", "send", "-n", "3", "-body", "after"); got.Sent != 3 {
		t.Fatalf("send after the crashes: %+v", got)
	}
	after := scrape(t, n.inst)
	if after[sentSeries]-before != 3 {
		t.Errorf("%s went from %v to %v over 3 sends", sentSeries, before, after[sentSeries])
	}
	if c := queueCounts(t, n.inst, "crash-ns", "orders"); c.active != 3 || after[`lanyard_servicebus_active_messages{entity="orders",namespace="crash-ns"}`] != 3 {
		t.Errorf("after 3 sends: countDetails %+v, active gauge %v", c, after[`lanyard_servicebus_active_messages{entity="orders",namespace="crash-ns"}`])
	}
}

type sbCounts struct{ active, deadLetter int64 }

// queueCounts reads a queue's countDetails with `lanyard servicebus queue show`.
func queueCounts(t *testing.T, inst *instance, namespace, queue string) sbCounts {
	t.Helper()
	var q struct {
		CountDetails struct {
			Active     *int64 `json:"activeMessageCount"`
			DeadLetter *int64 `json:"deadLetterMessageCount"`
		} `json:"countDetails"`
	}
	inst.cliJSON(t, &q, "servicebus", "queue", "show", "-g", "demo", "--namespace-name", namespace, "-n", queue)
	if q.CountDetails.Active == nil || q.CountDetails.DeadLetter == nil {
		t.Fatalf("queue show: no countDetails")
	}
	return sbCounts{*q.CountDetails.Active, *q.CountDetails.DeadLetter}
}

// sbVerdict counts what sbLedger.check found: violations (lost, again, phantom,
// overlapping, vanished) and copies received more than once (duplicates, which at-least-once
// delivery allows).
type sbVerdict struct{ lost, again, phantom, overlapping, vanished, duplicates int }

// check verifies the ledger once the clients are done, reporting each kind of violation's
// first few: every acknowledged send was received; nothing received that no sender sent; no
// copy completed twice or delivered again after its completion was acknowledged, nor
// received by the final drain after a completion before it; none received that left the
// queue without a completion sent for it; and no two locks on one copy overlapped (the
// broker took a lock, lockDuration before its end, only once the previous one had ended:
// the loops never give a lock back early, only complete or let it expire; the broker's
// clock is this machine's for every node).
func (l *sbLedger) check(t *testing.T, lockDuration time.Duration) sbVerdict {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var v sbVerdict
	violation := func(kind *int, format string, args ...any) {
		t.Helper()
		if *kind++; *kind <= 10 {
			t.Errorf(format, args...)
		}
	}
	receivedIDs := map[string]int{}
	for c, ds := range l.got {
		receivedIDs[c.id]++
		if !l.attempted[c.id] {
			violation(&v.phantom, "received %s (sequence number %d), which no sender sent", c.id, c.seq)
		}
		if len(ds) > 1 {
			v.duplicates++
		}
		locks := slices.SortedFunc(slices.Values(ds), func(a, b sbDelivery) int { return a.LockedUntil.Compare(b.LockedUntil) })
		for i := 1; i < len(locks); i++ {
			a, b := locks[i-1], locks[i]
			// AMQP timestamps are milliseconds: allow one.
			if b.LockToken == a.LockToken || b.LockedUntil.Add(-lockDuration).Before(a.LockedUntil.Add(-time.Millisecond)) {
				violation(&v.overlapping, "%s (sequence number %d): locked for %s (token %s, until %s, delivery count %d) while %s held it (token %s, until %s, delivery count %d)",
					c.id, c.seq, b.By, b.LockToken, b.LockedUntil.Format(time.StampMilli), b.DeliveryCount, a.By, a.LockToken, a.LockedUntil.Format(time.StampMilli), a.DeliveryCount)
			}
		}
		completions := l.completed[c]
		if len(completions) == 0 {
			// Only a completion removes a message here: one whose acknowledgement was lost
			// (the node died after committing it) may be gone.
			if !l.completeFailed[c] {
				violation(&v.vanished, "%s (sequence number %d) was received, never completed, and never received again", c.id, c.seq)
			}
			continue
		}
		if len(completions) > 1 {
			violation(&v.again, "%s (sequence number %d) was completed %d times, at delivery counts %v", c.id, c.seq, len(completions), completions)
		}
		k := slices.Min(completions)
		counts := map[int]int{}
		for _, d := range ds {
			counts[d.DeliveryCount]++
			// A delivery after the acknowledged completion carries a higher count: each
			// lock counts one, and a lock is on disk before its message goes out.
			if d.DeliveryCount > k {
				violation(&v.again, "%s (sequence number %d) was delivered again (delivery count %d) after its completion at delivery count %d was acknowledged", c.id, c.seq, d.DeliveryCount, k)
			}
		}
		if counts[k] != 1 && len(completions) == 1 {
			t.Errorf("%s (sequence number %d): %d deliveries at delivery count %d, the one completed", c.id, c.seq, counts[k], k)
		}
	}
	for id := range l.acked {
		if receivedIDs[id] == 0 {
			violation(&v.lost, "acknowledged send %s was never received", id)
		}
	}
	for c := range l.completedEarly {
		if l.gotFinal[c] > 0 {
			violation(&v.again, "%s (sequence number %d): completed during the crashes, received again by the final drain", c.id, c.seq)
		}
	}
	return v
}
