package messagingtest

import (
	"errors"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// publishTests are the rules of Publish, run by Run.
var publishTests = []struct {
	name string
	fn   func(t *testing.T, e env)
}{
	{"PublishFanOut", testPublishFanOut},
	{"PublishAllOrNone", testPublishAllOrNone},
	{"PublishDuplicates", testPublishDuplicates},
	{"PublishScheduled", testPublishScheduled},
	{"PublishArrivals", testPublishArrivals},
	{"DeleteTopic", testDeleteTopic},
	{"PublishSessions", testPublishSessions},
	{"PublishDeadLetter", testPublishDeadLetter},
}

func topic(name string) messaging.Queue { return messaging.Queue{Namespace: "ns1", Name: name} }

func subscription(topic, name string) messaging.Queue { return queue(topic + "/Subscriptions/" + name) }

// pub is a publication of id with one copy per queue, each raw "<id>@<queue>".
func pub(id string, qs ...messaging.Queue) messaging.Publication {
	p := messaging.Publication{MessageID: id}
	for _, q := range qs {
		p.Copies = append(p.Copies, messaging.Copy{Queue: q, Message: messaging.Message{Raw: []byte(id + "@" + q.Name), MessageID: id}})
	}
	return p
}

func (e env) publish(t *testing.T, tq messaging.Queue, pubs ...messaging.Publication) []int64 {
	t.Helper()
	seqs, err := e.s.Publish(e.ctx, tq, pubs)
	if err != nil {
		t.Fatalf("Publish(%s): %v", tq.Name, err)
	}
	if len(seqs) != len(pubs) {
		t.Fatalf("Publish(%s) returned %d sequence numbers for %d publications", tq.Name, len(seqs), len(pubs))
	}
	return seqs
}

// expectRaws takes everything available in q and checks the bodies and numbers.
func (e env) expectRaws(t *testing.T, q messaging.Queue, seqs []int64, raws ...string) {
	t.Helper()
	got := e.receive(t, q, messaging.Active, messaging.ReceiveAndDelete, 100)
	if len(got) != len(raws) {
		t.Fatalf("%s holds %d messages (%v), want %d", q.Name, len(got), seqsOf(got), len(raws))
	}
	for i, m := range got {
		if string(m.Raw) != raws[i] || m.SequenceNumber != seqs[i] {
			t.Fatalf("%s's message %d: %q #%d, want %q #%d", q.Name, i, m.Raw, m.SequenceNumber, raws[i], seqs[i])
		}
	}
}

// Each publication takes one number from the topic, shared by its copies; each copy keeps
// its own encoding; a subscription gets only its copies; a publication without copies is
// numbered and dropped.
func testPublishFanOut(t *testing.T, e env) {
	tq, a, b, c := topic("t1"), subscription("t1", "a"), subscription("t1", "b"), subscription("t1", "c")
	seqs := e.publish(t, tq, pub("m1", a, b), pub("m2", b), pub("m3"), pub("m4", a, b))
	expectSeqs(t, "first publish", seqs, []int64{1, 2, 3, 4})
	expectSeqs(t, "second publish", e.publish(t, tq, pub("m5", b)), []int64{5})
	e.expectRaws(t, a, []int64{1, 4}, "m1@"+a.Name, "m4@"+a.Name)
	e.expectRaws(t, b, []int64{1, 2, 4, 5}, "m1@"+b.Name, "m2@"+b.Name, "m4@"+b.Name, "m5@"+b.Name)
	e.expectNone(t, c, messaging.Active)
	// Two copies for one queue (two rules with actions) take two numbers.
	two := pub("m6", a, b, a)
	two.Copies[2].Message.Raw = []byte("m6@again")
	expectSeqs(t, "a publication with two copies for a", e.publish(t, tq, two, pub("m7", a)), []int64{6, 8})
	e.expectRaws(t, a, []int64{6, 7, 8}, "m6@"+a.Name, "m6@again", "m7@"+a.Name)
	e.expectRaws(t, b, []int64{6}, "m6@"+b.Name)
	// A subscription's copies follow a queue's rules once stored: lock, dead-letter.
	e.publish(t, tq, pub("m9", a))
	m := e.lock(t, a, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, a, m.LockToken, "r", "d", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.receive(t, a, messaging.DeadLetter, messaging.ReceiveAndDelete, 10); len(got) != 1 || got[0].SequenceNumber != 9 {
		t.Fatalf("dead-lettered copy: %v", seqsOf(got))
	}
	// A queue's numbering is its own.
	expectSeqs(t, "a queue beside the topic", e.send(t, queue("q1"), "x"), []int64{1})
}

// A publication the store refuses stores nothing and takes no number.
func testPublishAllOrNone(t *testing.T, e env) {
	tq, a := topic("t1"), subscription("t1", "a")
	bad := pub("m2", a)
	bad.Copies[0].Message.Raw = nil
	_, err := e.s.Publish(e.ctx, tq, []messaging.Publication{pub("m1", a), bad})
	expectErr(t, "Publish with an empty copy", err, messaging.ErrInvalid)
	foreign := pub("m3", messaging.Queue{Namespace: "ns2", Name: "t1/Subscriptions/a"})
	_, err = e.s.Publish(e.ctx, tq, []messaging.Publication{pub("m1", a), foreign})
	expectErr(t, "Publish with a copy for another namespace", err, messaging.ErrInvalid)
	_, err = e.s.Publish(e.ctx, tq, nil)
	expectErr(t, "Publish of nothing", err, messaging.ErrInvalid)
	_, err = e.s.Publish(e.ctx, messaging.Queue{Namespace: "ns1"}, []messaging.Publication{pub("m1", a)})
	expectErr(t, "Publish to no topic", err, messaging.ErrInvalid)
	e.expectNone(t, a, messaging.Active)
	expectSeqs(t, "after refusals", e.publish(t, tq, pub("m4", a)), []int64{1})
}

// Duplicate detection is the topic's: a duplicate reaches no subscription.
func testPublishDuplicates(t *testing.T, e env) {
	tq, a, b := topic("t1"), subscription("t1", "a"), subscription("t1", "b")
	tq.DuplicateDetectionWindow = 10 * time.Minute
	expectSeqs(t, "first", e.publish(t, tq, pub("x", a, b), pub("y", a)), []int64{1, 2})
	e.clock.Advance(5 * time.Minute)
	expectSeqs(t, "duplicates", e.publish(t, tq, pub("x", a, b), pub("z", b), pub("z", a)), []int64{0, 3, 0})
	expectSeqs(t, "no id", e.publish(t, tq, pub("", a), pub("", a)), []int64{4, 5})
	e.clock.Advance(5 * time.Minute)
	expectSeqs(t, "after the window", e.publish(t, tq, pub("x", a)), []int64{6})
	e.expectRaws(t, a, []int64{1, 2, 4, 5, 6}, "x@"+a.Name, "y@"+a.Name, "@"+a.Name, "@"+a.Name, "x@"+a.Name)
	e.expectRaws(t, b, []int64{1, 3}, "x@"+b.Name, "z@"+b.Name)
}

// A scheduled copy waits for its time, in every subscription.
func testPublishScheduled(t *testing.T, e env) {
	tq, a, b := topic("t1"), subscription("t1", "a"), subscription("t1", "b")
	p := pub("later", a, b)
	at := e.clock.Now().Add(time.Minute)
	for i := range p.Copies {
		p.Copies[i].Message.ScheduledAt = at
	}
	expectSeqs(t, "scheduled", e.publish(t, tq, p), []int64{1})
	for _, q := range []messaging.Queue{a, b} {
		e.expectNone(t, q, messaging.Active)
		if c := e.counts(t, q); c.Scheduled != 1 {
			t.Fatalf("Counts(%s) = %+v, want 1 scheduled", q.Name, c)
		}
	}
	if err := e.s.CancelScheduled(e.ctx, a, []int64{1}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.expectNone(t, a, messaging.Active) // cancelled there
	e.expectRaws(t, b, []int64{1}, "later@"+b.Name)
}

// A publication wakes the receivers of the subscriptions it reached, only those.
func testPublishArrivals(t *testing.T, e env) {
	tq, a, b := topic("t1"), subscription("t1", "a"), subscription("t1", "b")
	wa, wb := e.s.Arrivals(a, messaging.Active), e.s.Arrivals(b, messaging.Active)
	e.publish(t, tq, pub("m1", a))
	select {
	case <-wa:
	case <-time.After(10 * time.Second):
		t.Fatal("a publication to a did not signal a's arrivals")
	}
	select {
	case <-wb:
		t.Fatal("a publication to a signalled b's arrivals")
	default:
	}
}

// Deleting a topic deletes its subscriptions' messages and its numbering, nothing else.
func testDeleteTopic(t *testing.T, e env) {
	tq, a := topic("t1"), subscription("t1", "a")
	e.publish(t, tq, pub("m1", a), pub("m2", a))
	m := e.lock(t, a, messaging.Active)
	if err := e.s.DeadLetter(e.ctx, a, m.LockToken, "r", "d", nil); err != nil {
		t.Fatal(err)
	}
	neighbours := []messaging.Queue{queue("t1-x"), queue("t10"), queue("t0"), queue("t"), subscription("t10", "a")}
	for _, q := range neighbours {
		e.send(t, q, "keep")
	}
	if err := e.s.DeleteQueue(e.ctx, tq.Namespace, tq.Name); err != nil {
		t.Fatal(err)
	}
	e.expectCounts(t, a, 0, 0)
	expectSeqs(t, "numbering after deletion", e.publish(t, tq, pub("m3", a)), []int64{1})
	for _, q := range neighbours {
		e.expectCounts(t, q, 1, 0)
	}
}

// A copy keeps its message's session id: a session-enabled subscription's receivers find
// it in its session, and only there.
func testPublishSessions(t *testing.T, e env) {
	tq, a := topic("t1"), subscription("t1", "a")
	p1, p2 := pub("m1", a), pub("m2", a)
	p1.Copies[0].Message.SessionID = "s1"
	p2.Copies[0].Message.SessionID = "s2"
	seqs := e.publish(t, tq, p1, p2)
	lock, err := e.s.AcceptSession(e.ctx, a, "s2")
	if err != nil {
		t.Fatalf("AcceptSession(s2): %v", err)
	}
	got, err := e.s.ReceiveSession(e.ctx, a, lock, messaging.ReceiveAndDelete, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].SequenceNumber != seqs[1] || got[0].SessionID != "s2" {
		t.Fatalf("session s2 of %s gave %v, want #%d with session id s2", a.Name, seqsOf(got), seqs[1])
	}
}

// A copy with a dead-letter reason is stored in its queue's dead-letter queue at once,
// scheduled or not, under its publication's number, with its reason and description;
// the publication's other copies are stored as usual.
func testPublishDeadLetter(t *testing.T, e env) {
	tq, a, b := topic("t1"), subscription("t1", "a"), subscription("t1", "b")
	p := pub("m1", a, b)
	p.Copies[0].DeadLetterReason, p.Copies[0].DeadLetterDescription = "Session id is null.", "no session"
	p.Copies[0].Message.ScheduledAt = e.clock.Now().Add(time.Hour)
	arrived := e.s.Arrivals(a, messaging.DeadLetter)
	seqs := e.publish(t, tq, p)
	select {
	case <-arrived:
	default:
		t.Fatal("a dead-lettered copy did not signal its dead-letter queue's arrivals")
	}
	if got := e.receive(t, a, messaging.Active, messaging.ReceiveAndDelete, 10); len(got) != 0 {
		t.Fatalf("%s's active queue holds %v, want nothing", a.Name, seqsOf(got))
	}
	got := e.receive(t, a, messaging.DeadLetter, messaging.ReceiveAndDelete, 10)
	if len(got) != 1 || got[0].SequenceNumber != seqs[0] || got[0].DeadLetterReason != "Session id is null." ||
		got[0].DeadLetterDescription != "no session" || string(got[0].Raw) != "m1@"+a.Name {
		t.Fatalf("%s's dead-letter queue: %+v, want m1 #%d with its reason", a.Name, got, seqs[0])
	}
	e.expectRaws(t, b, seqs, "m1@"+b.Name)
	bad := pub("m2", a)
	bad.Copies[0].DeadLetterDescription = "a description without a reason"
	if _, err := e.s.Publish(e.ctx, tq, []messaging.Publication{bad}); !errors.Is(err, messaging.ErrInvalid) {
		t.Fatalf("Publish of a description without a reason: %v, want ErrInvalid", err)
	}
}
