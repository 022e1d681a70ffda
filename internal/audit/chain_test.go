package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/auditline"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)

// appendLine appends e as one line of the sink's JSON-lines format.
func appendLine(buf *bytes.Buffer, e Event) {
	buf.Write(auditline.Append(buf.AvailableBuffer(), e.record()))
}

// chain builds n linked events after (anchorSeq, anchorHash).
func chain(t *testing.T, n int, anchorSeq int64, anchorHash string) []Event {
	t.Helper()
	out := make([]Event, n)
	prev := anchorHash
	for i := range out {
		e := Decided(Decision{Service: "blob", Operation: "PutBlob", PrincipalID: "p1", Action: "a/write", Scope: "/s", Allowed: i%2 == 0,
			Explanation: fmt.Sprintf("explanation %d <&>", i)})
		e.ID = fmt.Sprintf("ev-%d", i)
		e.Time = t0.Add(time.Duration(i) * time.Second)
		e.RequestID = fmt.Sprintf("req-%d", i)
		d, err := json.Marshal(e.detail)
		if err != nil {
			t.Fatal(err)
		}
		e.Details = d
		link(&e, anchorSeq+int64(i)+1, prev)
		prev = e.Hash
		out[i] = e
	}
	return out
}

func wantProblem(t *testing.T, what string, r Report, kind ProblemKind, seq int64) {
	t.Helper()
	if r.OK || r.Problem == nil {
		t.Fatalf("%s: report OK, want a %s problem at seq %d", what, kind, seq)
	}
	if r.Problem.Kind != kind || r.Problem.Seq != seq {
		t.Fatalf("%s: problem %+v, want %s at seq %d", what, r.Problem, kind, seq)
	}
}

func TestChainIntact(t *testing.T) {
	es := chain(t, 5, 0, "")
	head := &lanyard.AuditHead{Seq: 5, Hash: es[4].Hash}
	r := VerifyEvents(es, 0, "", head)
	if !r.OK || r.Checked != 5 || r.FirstSeq != 1 || r.LastSeq != 5 {
		t.Fatalf("intact chain: %+v", r)
	}
}

func TestChainEdited(t *testing.T) {
	for _, field := range []string{"details", "principal", "time", "decision", "kind"} {
		t.Run(field, func(t *testing.T) {
			es := chain(t, 5, 0, "")
			e := &es[2]
			switch field {
			case "details":
				e.Details = bytes.Replace(e.Details, []byte(`"allowed":true`), []byte(`"allowed":false`), 1)
			case "principal":
				e.PrincipalID = "someone-else"
			case "time":
				e.Time = e.Time.Add(time.Microsecond)
			case "decision":
				e.Decision = Denied
			case "kind":
				e.Kind = KindChange
			}
			r := VerifyEvents(es, 0, "", &lanyard.AuditHead{Seq: 5, Hash: es[4].Hash})
			wantProblem(t, "edited "+field, r, Edited, 3)
			if r.Problem.EventID != "ev-2" {
				t.Errorf("problem names %s, want ev-2", r.Problem.EventID)
			}
		})
	}
}

// An editor who also fixes the edited event's hash breaks the next event's link.
func TestChainEditedAndRehashed(t *testing.T) {
	es := chain(t, 5, 0, "")
	es[1].PrincipalID = "forged"
	es[1].Hash = Hash(es[1])
	wantProblem(t, "re-hashed edit", VerifyEvents(es, 0, "", nil), Unlinked, 3)
}

func TestChainDeleted(t *testing.T) {
	es := chain(t, 6, 0, "")
	head := &lanyard.AuditHead{Seq: 6, Hash: es[5].Hash}
	r := VerifyEvents(slices.Delete(slices.Clone(es), 2, 3), 0, "", head)
	wantProblem(t, "deleted in the middle", r, Missing, 4)
	if !strings.Contains(r.Problem.Message, "event seq 3") {
		t.Errorf("message %q does not name the missing event", r.Problem.Message)
	}
	wantProblem(t, "deleted first", VerifyEvents(es[1:], 0, "", head), Missing, 2)
	wantProblem(t, "deleted last", VerifyEvents(es[:5], 0, "", head), Truncated, 6)
	wantProblem(t, "deleted everything", VerifyEvents(nil, 0, "", head), Truncated, 1)
}

func TestChainReordered(t *testing.T) {
	es := chain(t, 5, 0, "")
	swapped := slices.Clone(es)
	swapped[2], swapped[3] = swapped[3], swapped[2]
	wantProblem(t, "swapped", VerifyEvents(swapped, 0, "", nil), Reordered, 4)
	moved := append(slices.Clone(es[:1]), es[2], es[3], es[4], es[1])
	wantProblem(t, "moved to the end", VerifyEvents(moved, 0, "", nil), Reordered, 3)
}

// Retention anchors the chain on the last event it deleted; the rest still verifies, and
// deleting the first kept event shows.
func TestChainRetentionAnchor(t *testing.T) {
	es := chain(t, 8, 0, "")
	anchor := es[2]
	kept := es[3:]
	head := &lanyard.AuditHead{Seq: 8, Hash: es[7].Hash, AnchorSeq: anchor.Seq, AnchorHash: anchor.Hash}
	if r := VerifyEvents(kept, head.AnchorSeq, head.AnchorHash, head); !r.OK || r.FirstSeq != 4 || r.AnchorSeq != 3 {
		t.Fatalf("kept events after retention: %+v", r)
	}
	wantProblem(t, "first kept event deleted", VerifyEvents(kept[1:], head.AnchorSeq, head.AnchorHash, head), Missing, 5)
	wantProblem(t, "wrong anchor", VerifyEvents(kept, head.AnchorSeq, es[1].Hash, head), Unlinked, 4)
	// A trail that continues from an anchor in another process (a rotated log file) takes
	// its first event's predecessor as the anchor.
	var file bytes.Buffer
	for _, e := range kept {
		appendLine(&file, e)
	}
	r, err := VerifyLines(&file)
	if err != nil || !r.OK || r.AnchorSeq != 3 || r.Checked != 5 {
		t.Fatalf("VerifyLines of a rotated file: %+v, %v", r, err)
	}
}

func TestLinesRoundTrip(t *testing.T) {
	es := chain(t, 4, 0, "")
	var file bytes.Buffer
	for _, e := range es {
		appendLine(&file, e)
	}
	lines := strings.Split(strings.TrimSpace(file.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	for i, l := range lines {
		e, err := ParseLine([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if Hash(e) != es[i].Hash || !bytes.Equal(e.Details, es[i].Details) || !e.Time.Equal(es[i].Time) {
			t.Errorf("line %d does not round-trip: %+v", i, e)
		}
	}
	// An edit in the file is found.
	edited := strings.Replace(file.String(), `"principalId":"p1"`, `"principalId":"p2"`, 1)
	r, err := VerifyLines(strings.NewReader(edited))
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, "edited line", r, Edited, 1)
}

// The sink's hand-written encoding agrees with encoding/json's, strings with every kind of
// character included.
func TestLineMatchesEncodingJSON(t *testing.T) {
	es := chain(t, 1, 0, "")
	e := es[0]
	e.PrincipalID = "quote\" back\\ nl\n tab\t ctl\x01 html<>& ls\u2028 ps\u2029 bad\xff é 日本"
	e.RequestID = ""
	e.Hash = Hash(e)
	var buf bytes.Buffer
	appendLine(&buf, e)
	want, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
		t.Fatalf("appendLine:\n%s\nencoding/json:\n%s", got, want)
	}
}
