package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func issued(n int) Event {
	return Issued(TokenIssued{Protocol: "appservice", PrincipalID: fmt.Sprintf("p%d", n), ClientID: "c", Resource: "https://storage.azure.com",
		TokenID: fmt.Sprintf("uti-%d", n), IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)})
}

// Under best-effort, every event reaches the store and the sink in one order, with one
// chain, and the request id of the context.
func TestRecorderWritesStoreAndSink(t *testing.T) {
	s := openStore(t)
	sink := &FileSink{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	r := New(Options{Store: s, Sink: sink})
	trace := reqctx.StartTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx := reqctx.With(t.Context(), &reqctx.Info{ID: "req-42", Trace: trace})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Record(ctx, issued(i)); err != nil {
				t.Errorf("Record: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	if st := r.Stats(); st.Written != 200 || st.Dropped != 0 || !st.Healthy {
		t.Fatalf("stats %+v, want 200 written", st)
	}
	rep, err := VerifyStore(t.Context(), s)
	if err != nil || !rep.OK || rep.Checked != 200 {
		t.Fatalf("VerifyStore: %+v, %v", rep, err)
	}
	f, err := os.Open(sink.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frep, err := VerifyLines(f)
	if err != nil || !frep.OK || frep.Checked != 200 || frep.AnchorSeq != 0 {
		t.Fatalf("VerifyLines: %+v, %v", frep, err)
	}
	recs, err := s.ListAuditEvents(t.Context(), lanyard.AuditFilter{Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].RequestID != "req-42" || recs[0].Kind != string(KindTokenIssued) {
		t.Fatalf("first stored event: %+v, %v", recs, err)
	}
	// The caller's trace id is in the details, beside the kind's own record.
	var d struct {
		TraceID  string `json:"traceId"`
		Resource string `json:"resource"`
	}
	if err := json.Unmarshal(recs[0].Details, &d); err != nil || d.TraceID != trace.TraceID || d.Resource != "https://storage.azure.com" {
		t.Fatalf("details %s: %v", recs[0].Details, err)
	}
}

func TestWithTraceID(t *testing.T) {
	for _, tc := range []struct{ in, id, want string }{
		{`{"a":1}`, "abc", `{"traceId":"abc","a":1}`},
		{`{}`, "abc", `{"traceId":"abc"}`},
		{`{"a":1}`, "", `{"a":1}`},
		{`null`, "abc", `null`},
	} {
		if got := string(withTraceID([]byte(tc.in), tc.id)); got != tc.want {
			t.Errorf("withTraceID(%s, %q) = %s, want %s", tc.in, tc.id, got, tc.want)
		}
	}
}

// failingSink fails while broken is set.
type failingSink struct {
	mu     sync.Mutex
	broken bool
	buf    bytes.Buffer
}

func (f *failingSink) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return 0, errors.New("disk full")
	}
	return f.buf.Write(p)
}

func (f *failingSink) set(broken bool) {
	f.mu.Lock()
	f.broken = broken
	f.mu.Unlock()
}

// Under fail-closed, a sink that cannot be written refuses the request. The sink is written
// after the store commits, so the event stays in the store and its line is kept: once the
// sink heals, it gets that line before the next, and the two hold the same trail.
func TestRecorderFailClosed(t *testing.T) {
	s := openStore(t)
	sink := &failingSink{broken: true}
	r := New(Options{Store: s, Sink: sink, Policy: FailClosed, WriteTimeout: 2 * time.Second, RetryBackoff: time.Millisecond})
	defer r.Close()
	err := r.Record(t.Context(), issued(1))
	if !errors.Is(err, ErrUnavailable) && lanyard.CodeOf(err) != "AuditUnavailable" {
		t.Fatalf("Record with a broken sink: %v, want AuditUnavailable", err)
	}
	if lanyard.KindOf(err) != lanyard.KindUnavailable {
		t.Errorf("kind %v, want Unavailable", lanyard.KindOf(err))
	}
	if err := r.Ready(); err == nil {
		t.Error("Ready after a failed write: nil, want the breaker open")
	}
	head, _ := s.GetAuditHead(t.Context())
	if head.Seq != 1 || sink.buf.Len() != 0 {
		t.Fatalf("after a failed sink write: head %+v, sink %q; want the event in the store only", head, sink.buf.String())
	}
	// While the sink owes that line, the store takes nothing more: the next request (let
	// through once the breaker's interval has passed) is refused and not recorded.
	time.Sleep(probeInterval)
	if err := r.Record(t.Context(), issued(3)); lanyard.CodeOf(err) != "AuditUnavailable" {
		t.Fatalf("Record while the sink is still broken: %v, want AuditUnavailable", err)
	}
	if head, _ := s.GetAuditHead(t.Context()); head.Seq != 1 {
		t.Fatalf("a request refused while the sink was down was recorded: head %+v", head)
	}
	sink.set(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = r.Record(t.Context(), issued(2))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Record after the sink healed: %v", err)
	}
	if err := r.Ready(); err != nil {
		t.Errorf("Ready after a good write: %v", err)
	}
	recs, _ := s.ListAuditEvents(t.Context(), lanyard.AuditFilter{})
	if len(recs) != 2 || recs[0].TokenID != "uti-1" || recs[1].TokenID != "uti-2" {
		t.Fatalf("after healing: store %+v", recs)
	}
	sameTrail(t, s, sink.buf.Bytes(), 2)
}

// Under best-effort, a full queue drops and counts instead of waiting.
func TestRecorderBestEffortDrops(t *testing.T) {
	s := &flakyStore{Store: openStore(t), failures: 1 << 30}
	r := New(Options{Store: s, Sink: &failingSink{}, QueueSize: 1, BatchSize: 1, Retries: 2, RetryBackoff: time.Millisecond})
	start := time.Now()
	for i := range 500 {
		if err := r.Record(context.Background(), issued(i)); err != nil {
			t.Fatalf("best-effort Record failed: %v", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("500 best-effort records took %v with a broken store: they must not wait", d)
	}
	r.Close()
	st := r.Stats()
	if st.Dropped != 500 || st.Written != 0 || st.Failures == 0 || st.Healthy {
		t.Fatalf("stats %+v, want all 500 dropped", st)
	}
}

// Retention prunes on start and the chain still verifies from its anchor.
func TestRecorderRetention(t *testing.T) {
	s := openStore(t)
	now := t0.Add(100 * 24 * time.Hour)
	r := New(Options{Store: s, Now: func() time.Time { return now }})
	for i := range 4 {
		e := issued(i)
		e.Time = t0.Add(time.Duration(i) * 24 * time.Hour) // days 0..3
		if err := r.Record(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	// Days 0 and 1 are older than 98 days before now.
	r = New(Options{Store: s, Retention: 98 * 24 * time.Hour, Now: func() time.Time { return now }})
	r.Close()
	head, _ := s.GetAuditHead(t.Context())
	if head.AnchorSeq != 2 || head.Seq != 4 {
		t.Fatalf("head after retention %+v, want anchored at 2", head)
	}
	rep, err := VerifyStore(t.Context(), s)
	if err != nil || !rep.OK || rep.Checked != 2 || rep.FirstSeq != 3 {
		t.Fatalf("VerifyStore after retention: %+v, %v", rep, err)
	}
}

// A file sink follows its path: rotated away, it starts a new file; its directory gone,
// it fails (and heals once the directory is back).
func TestFileSinkFollowsItsPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.jsonl")
	s := &FileSink{Path: path}
	defer s.Close()
	write := func(line string) error { _, err := s.Write([]byte(line + "\n")); return err }
	if err := write("one"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := write("two"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two\n" {
		t.Fatalf("after rotation the file holds %q, want the new line only", b)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := write("three"); err == nil {
		t.Fatal("a write to a path under a regular file succeeded")
	}
	_ = os.Remove(dir)
	_ = os.Mkdir(dir, 0o700)
	if err := write("four"); err != nil {
		t.Fatalf("after healing: %v", err)
	}
}

// An event edited, then one deleted, through a second handle on the SQLite file is found.
func TestVerifyStoreFindsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := New(Options{Store: s})
	for i := range 5 {
		_ = r.Record(t.Context(), issued(i))
	}
	r.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vault := func(l string) string {
		return strings.Replace(l, "https://storage.azure.com", "https://vault.azure.net", 1)
	}
	tamper(t, db, 2, vault)
	rep, err := VerifyStore(t.Context(), s)
	if err != nil || rep.OK || rep.Problem.Kind != Edited || rep.Problem.Seq != 2 {
		t.Fatalf("after an edit: %+v, %v", rep, err)
	}
	tamper(t, db, 2, func(l string) string {
		return strings.Replace(l, "https://vault.azure.net", "https://storage.azure.com", 1)
	})
	tamper(t, db, 4, nil)
	rep, err = VerifyStore(t.Context(), s)
	if err != nil || rep.OK || rep.Problem.Kind != Missing || rep.Problem.Seq != 5 {
		t.Fatalf("after a deletion: %+v, %v", rep, err)
	}
	tamper(t, db, 5, nil)
	rep, _ = VerifyStore(t.Context(), s)
	if rep.OK || rep.Problem.Kind != Truncated || rep.Problem.Seq != 4 {
		t.Fatalf("after deleting the tail: %+v", rep)
	}
}

// tamper rewrites, behind the store's back, the stored line of event seq with edit, or
// deletes it when edit is nil.
func tamper(t *testing.T, db *sql.DB, seq int64, edit func(line string) string) {
	t.Helper()
	prefix := fmt.Sprintf(`{"seq":%d,`, seq)
	var first int64
	var body string
	if err := db.QueryRow(`SELECT first_seq, events FROM audit_segments WHERE first_seq <= ? AND last_seq >= ?`, seq, seq).Scan(&first, &body); err != nil {
		t.Fatalf("find event %d: %v", seq, err)
	}
	lines := strings.SplitAfter(body, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if edit == nil {
				lines = append(lines[:i], lines[i+1:]...)
			} else {
				lines[i] = edit(l)
			}
			if _, err := db.Exec(`UPDATE audit_segments SET events = ? WHERE first_seq = ?`, strings.Join(lines, ""), first); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("event %d is not in its segment", seq)
}

// TestFlush: once Flush returns, every event recorded before it is in the store, long
// before the batching delay would have written it.
func TestFlush(t *testing.T) {
	st := openStore(t)
	r := New(Options{Store: st, Policy: BestEffort, Linger: time.Hour})
	defer r.Close()
	for i := range 3 {
		if err := r.Record(t.Context(), issued(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := st.ListAuditEvents(ctx, lanyard.AuditFilter{})
	if err != nil || len(events) != 3 {
		t.Fatalf("%d events written after Flush (%v), want 3", len(events), err)
	}
}

// Invalid UTF-8 from a caller (say, an unverified token's claims) is stored as JSON can
// carry it, and the event still verifies in the store and in the sink.
func TestRecorderInvalidUTF8(t *testing.T) {
	s := openStore(t)
	sink := &FileSink{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	r := New(Options{Store: s, Sink: sink})
	e := issued(1)
	e.PrincipalID, e.RequestID = "bad\xff\xfeid", "req\xc3"
	if err := r.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	rep, err := VerifyStore(t.Context(), s)
	if err != nil || !rep.OK || rep.Checked != 1 {
		t.Fatalf("VerifyStore: %+v, %v", rep, err)
	}
	f, err := os.Open(sink.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rep, err := VerifyLines(f); err != nil || !rep.OK || rep.Checked != 1 {
		t.Fatalf("VerifyLines: %+v, %v", rep, err)
	}
	got, err := s.ListAuditEvents(t.Context(), lanyard.AuditFilter{})
	if err != nil || len(got) != 1 || got[0].PrincipalID != "bad\uFFFDid" {
		t.Fatalf("stored %+v, %v", got, err)
	}
}
