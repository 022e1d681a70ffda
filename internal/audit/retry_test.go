package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/auditline"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// fault is where a flakyStore's append fails.
type fault int

const (
	// beforeFn: the database cannot be reached; nothing is written.
	beforeFn fault = iota
	// afterFn: the batch is built, then the commit fails and the transaction rolls back.
	afterFn
	// afterCommit: the commit succeeds but the caller hears an error (the connection broke
	// while it was answered); the first lookup of whether it was written fails too.
	afterCommit
)

// flakyStore fails its next appends, failures of them, at fault.
type flakyStore struct {
	*sqlstore.Store
	mu         sync.Mutex
	fault      fault
	failures   int
	lookupFail int
}

var errConn = lanyard.Errorf(lanyard.KindUnavailable, "connection reset by peer")

func (f *flakyStore) fail(n int, at fault) {
	f.mu.Lock()
	f.failures, f.fault = n, at
	if at == afterCommit {
		f.lookupFail = n
	}
	f.mu.Unlock()
}

func (f *flakyStore) AppendAuditEvents(ctx context.Context, fn func(lanyard.AuditHead) ([]lanyard.AuditEvent, error)) error {
	f.mu.Lock()
	failing, at := f.failures > 0, f.fault
	if failing {
		f.failures--
	}
	f.mu.Unlock()
	if !failing {
		return f.Store.AppendAuditEvents(ctx, fn)
	}
	switch at {
	case afterFn:
		err := f.Store.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
			if _, err := fn(h); err != nil {
				return nil, err
			}
			return nil, errConn
		})
		return err
	case afterCommit:
		if err := f.Store.AppendAuditEvents(ctx, fn); err != nil {
			return err
		}
		return errConn
	}
	return errConn
}

func (f *flakyStore) GetAuditEvent(ctx context.Context, id string) (lanyard.AuditEvent, error) {
	f.mu.Lock()
	failing := f.lookupFail > 0
	if failing {
		f.lookupFail--
	}
	f.mu.Unlock()
	if failing {
		return lanyard.AuditEvent{}, errConn
	}
	return f.Store.GetAuditEvent(ctx, id)
}

// sameTrail checks that the sink's lines are the store's events, line for line, and that
// both verify with n events.
func sameTrail(t *testing.T, s interface {
	ListAuditEvents(context.Context, lanyard.AuditFilter) ([]lanyard.AuditEvent, error)
}, file []byte, n int) {
	t.Helper()
	recs, err := s.ListAuditEvents(t.Context(), lanyard.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, r := range recs {
		want = auditline.Append(want, r)
	}
	if len(recs) != n {
		t.Fatalf("the store holds %d events, want %d", len(recs), n)
	}
	if !bytes.Equal(file, want) {
		got, exp := bytes.SplitAfter(file, []byte("\n")), bytes.SplitAfter(want, []byte("\n"))
		i := 0
		for i < min(len(got), len(exp)) && bytes.Equal(got[i], exp[i]) {
			i++
		}
		t.Fatalf("the sink does not hold the store's events: %d lines against %d, first difference at line %d", len(got), len(exp), i+1)
	}
	rep, err := VerifyLines(bytes.NewReader(file))
	if err != nil || !rep.OK || rep.Checked != n {
		t.Fatalf("VerifyLines: %+v, %v", rep, err)
	}
}

// Transient store failures, wherever they strike, lose no event, number none twice and
// write none twice: the file and the store hold the same trail, line for line.
func TestRecorderRetriesTransientFailures(t *testing.T) {
	for _, at := range []struct {
		name  string
		fault fault
	}{{"unreachable", beforeFn}, {"commit fails", afterFn}, {"commit outcome lost", afterCommit}} {
		t.Run(at.name, func(t *testing.T) {
			s := &flakyStore{Store: openStore(t)}
			sink := &FileSink{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
			defer sink.Close()
			r := New(Options{Store: s, Sink: sink, BatchSize: 10, Linger: -1, Retries: 6, RetryBackoff: time.Millisecond})
			defer r.Close()
			const rounds, per = 5, 20
			for round := range rounds {
				s.fail(3, at.fault)
				for i := range per {
					_ = r.Record(t.Context(), issued(round*per+i))
				}
				if err := r.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			st := r.Stats()
			if st.Written != rounds*per || st.Dropped != 0 || st.Retries == 0 || !st.Healthy {
				t.Fatalf("stats %+v, want all %d written after retries", st, rounds*per)
			}
			rep, err := VerifyStore(t.Context(), s)
			if err != nil || !rep.OK || rep.Checked != rounds*per {
				t.Fatalf("VerifyStore: %+v, %v", rep, err)
			}
			file, err := os.ReadFile(sink.Path)
			if err != nil {
				t.Fatal(err)
			}
			sameTrail(t, s, file, rounds*per)
		})
	}
}

// Failures that outlast the retries drop the batch (best-effort) or refuse its requests
// (fail-closed), counted; the events after them continue the chain where the store stands.
func TestRecorderDropsAfterRetries(t *testing.T) {
	for _, policy := range []Policy{BestEffort, FailClosed} {
		t.Run(string(policy), func(t *testing.T) {
			s := &flakyStore{Store: openStore(t)}
			sink := &FileSink{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
			defer sink.Close()
			r := New(Options{Store: s, Sink: sink, Policy: policy, Linger: -1, Retries: 2, RetryBackoff: time.Millisecond})
			defer r.Close()
			record := func(n int) error {
				var errs []error
				for i := range n {
					errs = append(errs, r.Record(t.Context(), issued(i)))
				}
				if err := r.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				return errors.Join(errs...)
			}
			if err := record(2); err != nil {
				t.Fatal(err)
			}
			s.fail(1<<30, afterFn)
			err := record(3)
			if policy == FailClosed && lanyard.CodeOf(err) != "AuditUnavailable" {
				t.Errorf("fail-closed Record with the store down: %v, want AuditUnavailable", err)
			}
			if policy == BestEffort && err != nil {
				t.Errorf("best-effort Record with the store down: %v", err)
			}
			st := r.Stats()
			if st.Dropped != 3 || st.Written != 2 || st.Failures == 0 || st.Retries == 0 || st.Healthy {
				t.Fatalf("stats %+v, want 3 dropped after retries", st)
			}
			s.fail(0, beforeFn)
			if policy == FailClosed {
				time.Sleep(probeInterval) // the breaker lets a request through once a second
			}
			if err := record(4); err != nil {
				t.Fatal(err)
			}
			rep, err := VerifyStore(t.Context(), s)
			if err != nil || !rep.OK || rep.Checked != 6 {
				t.Fatalf("VerifyStore: %+v, %v", rep, err)
			}
			file, err := os.ReadFile(sink.Path)
			if err != nil {
				t.Fatal(err)
			}
			sameTrail(t, s, file, 6)
		})
	}
}

// prunesMeanwhile prunes the trail between verification's reading of the head and of the
// events, once.
type prunesMeanwhile struct {
	*sqlstore.Store
	once   sync.Once
	before time.Time
}

func (p *prunesMeanwhile) ListAuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error) {
	var err error
	p.once.Do(func() { _, err = p.Store.PruneAuditEvents(ctx, p.before) })
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return p.Store.ListAuditEvents(ctx, f)
}

// Retention pruning while verification runs is not taken for a deletion.
func TestVerifyStoreWhilePruned(t *testing.T) {
	s := openStore(t)
	r := New(Options{Store: s})
	for i := range 6 {
		e := issued(i)
		e.Time = t0.Add(time.Duration(i) * time.Hour)
		_ = r.Record(t.Context(), e)
	}
	r.Close()
	rep, err := VerifyStore(t.Context(), &prunesMeanwhile{Store: s, before: t0.Add(3 * time.Hour)})
	if err != nil || !rep.OK || rep.Checked != 3 || rep.AnchorSeq != 3 {
		t.Fatalf("VerifyStore while pruned: %+v, %v", rep, err)
	}
}

// A commit whose outcome was lost on the last attempt is looked up: the events are in the
// store, so they are written to the file too, and not counted as dropped.
func TestRecorderLastAttemptCommitted(t *testing.T) {
	s := &flakyStore{Store: openStore(t)}
	sink := &FileSink{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	defer sink.Close()
	r := New(Options{Store: s, Sink: sink, Linger: -1, Retries: -1})
	defer r.Close()
	s.fail(1, afterCommit)
	s.lookupFail = 0
	_ = r.Record(t.Context(), issued(1))
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Written != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want the event written", st)
	}
	file, err := os.ReadFile(sink.Path)
	if err != nil {
		t.Fatal(err)
	}
	sameTrail(t, s, file, 1)
}
