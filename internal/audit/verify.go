package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/lanyard-id/lanyard/internal/auditline"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// ProblemKind says how the chain is broken.
type ProblemKind string

const (
	// Edited: the event's content no longer matches its hash.
	Edited ProblemKind = "edited"
	// Missing: events are absent before this one (deleted).
	Missing ProblemKind = "missing"
	// Reordered: the event is not where its sequence number puts it.
	Reordered ProblemKind = "reordered"
	// Unlinked: the event does not name the hash of the one before it: one of the two was
	// replaced, or edited and re-hashed.
	Unlinked ProblemKind = "unlinked"
	// Truncated: events are absent at the end of the trail (deleted), or the trail ends
	// elsewhere than its head says.
	Truncated ProblemKind = "truncated"
)

// Problem is the first place the chain breaks.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Seq     int64       `json:"seq"`
	EventID string      `json:"eventId,omitempty"`
	Message string      `json:"message"`
}

// Report is the outcome of a verification.
type Report struct {
	OK        bool     `json:"ok"`
	Checked   int      `json:"checked"`
	AnchorSeq int64    `json:"anchorSeq"` // the chain was checked from the event after it
	FirstSeq  int64    `json:"firstSeq,omitempty"`
	LastSeq   int64    `json:"lastSeq,omitempty"`
	Problem   *Problem `json:"problem,omitempty"`
}

// checker walks events in the order given, stopping at the first problem.
type checker struct {
	lastSeq  int64
	lastHash string
	lastID   string
	anchored bool
	report   Report
}

// newChecker starts after the anchor; a checker built with anchored false takes the
// first event's own predecessor as the anchor (a log file kept by someone else's rotation).
func newChecker(anchorSeq int64, anchorHash string, anchored bool) *checker {
	return &checker{lastSeq: anchorSeq, lastHash: anchorHash, anchored: anchored, report: Report{AnchorSeq: anchorSeq}}
}

// add checks e; present, when not nil, tells whether an event with a given seq appears
// later in the input (to tell a reordering from a deletion).
func (c *checker) add(e Event, present func(seq int64) bool) bool {
	if c.report.Problem != nil {
		return false
	}
	if !c.anchored {
		c.lastSeq, c.lastHash, c.anchored = e.Seq-1, e.PrevHash, true
		c.report.AnchorSeq = c.lastSeq
	}
	c.report.Checked++
	fail := func(k ProblemKind, format string, args ...any) bool {
		c.report.Problem = &Problem{Kind: k, Seq: e.Seq, EventID: e.ID, Message: fmt.Sprintf(format, args...)}
		return false
	}
	if Hash(e) != e.Hash {
		return fail(Edited, "event %s (seq %d) was edited: its content does not match its hash", e.ID, e.Seq)
	}
	want := c.lastSeq + 1
	switch {
	case e.Seq < want:
		return fail(Reordered, "event %s (seq %d) comes after event seq %d: the trail is out of order", e.ID, e.Seq, c.lastSeq)
	case e.Seq > want && present != nil && present(want):
		return fail(Reordered, "event %s (seq %d) comes before event seq %d: the trail is out of order", e.ID, e.Seq, want)
	case e.Seq > want:
		return fail(Missing, "%s before event %s (seq %d) %s missing: deleted", seqRange(want, e.Seq-1), e.ID, e.Seq, areIs(want, e.Seq-1))
	case e.PrevHash != c.lastHash:
		return fail(Unlinked, "event %s (seq %d) does not follow the event before it (seq %d): one of them was replaced, or edited and re-hashed", e.ID, e.Seq, c.lastSeq)
	}
	if c.report.FirstSeq == 0 {
		c.report.FirstSeq = e.Seq
	}
	c.lastSeq, c.lastHash, c.lastID = e.Seq, e.Hash, e.ID
	c.report.LastSeq = e.Seq
	return true
}

// finish checks the end of the chain against the head, when there is one.
func (c *checker) finish(head *lanyard.AuditHead) Report {
	if c.report.Problem == nil && head != nil {
		switch {
		case head.Seq > c.lastSeq:
			c.report.Problem = &Problem{Kind: Truncated, Seq: c.lastSeq + 1,
				Message: fmt.Sprintf("%s at the end of the trail %s missing: deleted", seqRange(c.lastSeq+1, head.Seq), areIs(c.lastSeq+1, head.Seq))}
		case head.Seq < c.lastSeq || head.Hash != c.lastHash:
			c.report.Problem = &Problem{Kind: Truncated, Seq: c.lastSeq, EventID: c.lastID,
				Message: fmt.Sprintf("the trail ends at seq %d but its head names seq %d: events were added or replaced behind the writer's back", c.lastSeq, head.Seq)}
		}
	}
	c.report.OK = c.report.Problem == nil
	return c.report
}

func seqRange(from, to int64) string {
	if from == to {
		return fmt.Sprintf("event seq %d", from)
	}
	return fmt.Sprintf("events seq %d to %d", from, to)
}

func areIs(from, to int64) string {
	if from == to {
		return "is"
	}
	return "are"
}

// VerifyEvents checks events in the order given, from the anchor (anchorSeq, anchorHash),
// against head when it is not nil.
func VerifyEvents(events []Event, anchorSeq int64, anchorHash string, head *lanyard.AuditHead) Report {
	c := newChecker(anchorSeq, anchorHash, true)
	checkAll(c, events)
	return c.finish(head)
}

func checkAll(c *checker, events []Event) {
	seqs := make(map[int64]int, len(events))
	for i, e := range events {
		seqs[e.Seq] = i
	}
	for i, e := range events {
		present := func(seq int64) bool { j, ok := seqs[seq]; return ok && j > i }
		if !c.add(e, present) {
			return
		}
	}
}

// verifyPage is how many events VerifyStore reads at a time.
const verifyPage = 1000

// VerifyStore checks the trail in s as it stood when the call began: from the head's
// anchor, in sequence order, up to the head read first. Events appended meanwhile are not
// checked (a busy server appends while this pages), so a trail being written verifies.
// Retention pruning meanwhile moves the anchor past the first events; the check then
// starts again from the new head, a few times at most.
func VerifyStore(ctx context.Context, s store.AuditEvents) (Report, error) {
	for try := 0; ; try++ {
		head, err := s.GetAuditHead(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		rep, err := verifyUpTo(ctx, s, head)
		if err != nil || rep.OK || try == 2 {
			return rep, err
		}
		// Events missing may be retention's doing: check again only when the anchor moved.
		now, err := s.GetAuditHead(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		if now.AnchorSeq == head.AnchorSeq {
			return rep, nil
		}
	}
}

// verifyUpTo checks the events from head's anchor to head.Seq.
func verifyUpTo(ctx context.Context, s store.AuditEvents, head lanyard.AuditHead) (Report, error) {
	c := newChecker(head.AnchorSeq, head.AnchorHash, true)
	after := int64(0)
	for {
		page, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{AfterSeq: after, Limit: verifyPage})
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		for _, r := range page {
			if r.Seq > head.Seq {
				// Appended after the head was read: not part of what is checked.
				return c.finish(&head), nil
			}
			// Listed by seq, so a lower seq after a higher one cannot happen here; a gap is
			// a deletion.
			if !c.add(FromRecord(r), nil) {
				return c.finish(&head), nil
			}
		}
		if len(page) < verifyPage {
			return c.finish(&head), nil
		}
		after = page[len(page)-1].Seq
	}
}

// VerifyLines checks a JSON-lines copy of the trail, as the sink writes it. A file has no
// head: its first event's predecessor is taken as the anchor, so a file that starts after
// rotation verifies, and a deletion at its very end cannot be seen.
func VerifyLines(r io.Reader) (Report, error) {
	var events []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), auditline.MaxLine)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		e, err := ParseLine(sc.Bytes())
		if err != nil {
			return Report{}, fmt.Errorf("audit: line %d: %w", n, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: read lines: %w", err)
	}
	c := newChecker(0, "", false)
	checkAll(c, events)
	return c.finish(nil), nil
}
