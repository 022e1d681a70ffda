package storetest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// The store does not hash: it only keeps the chain's order and head. Hashes here are
// random stand-ins.
func fakeHash() string { return hex.EncodeToString(randomHash()) }

// chainAfter returns n events continuing head, every field set; mod adjusts event i.
func chainAfter(head lanyard.AuditHead, n int, mod func(i int, e *lanyard.AuditEvent)) []lanyard.AuditEvent {
	out := make([]lanyard.AuditEvent, n)
	prev := head.Hash
	for i := range out {
		e := lanyard.AuditEvent{
			Seq:         head.Seq + int64(i) + 1,
			ID:          guid(),
			Time:        at(time.Duration(head.Seq+int64(i)+1) * time.Second),
			Kind:        "access.decision",
			RequestID:   guid(),
			PrincipalID: guid(),
			ClientID:    guid(),
			Action:      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
			Decision:    "allowed",
			TokenID:     "uti-" + guid(),
			Details:     []byte(`{"scope":"/subscriptions/x/é","reason":"\"quoted\" <angled> & 100%_done"}`),
			PrevHash:    prev,
		}
		if mod != nil {
			mod(i, &e)
		}
		e.Hash = fakeHash()
		prev = e.Hash
		out[i] = e
	}
	return out
}

func appendChain(t *testing.T, s store.Store, n int, mod func(i int, e *lanyard.AuditEvent)) []lanyard.AuditEvent {
	t.Helper()
	var added []lanyard.AuditEvent
	must(t, "AppendAuditEvents", s.AppendAuditEvents(t.Context(), func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		added = chainAfter(h, n, mod)
		return added, nil
	}))
	return added
}

func normAuditEvent(e lanyard.AuditEvent) lanyard.AuditEvent {
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e
}

func auditSeqs(es []lanyard.AuditEvent) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func wantSeqs(t *testing.T, what string, got []lanyard.AuditEvent, want ...int64) {
	t.Helper()
	if g := auditSeqs(got); fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("%s: got events %v, want %v", what, g, want)
	}
}

// testAudit runs the audit and revocation tests in order on one store: the event test
// needs an empty trail, the concurrency test continues from wherever the head stands.
func testAudit(t *testing.T, s store.Store) {
	t.Run("Events", func(t *testing.T) { testAuditEvents(t, s) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testAuditConcurrency(t, s) })
	t.Run("LargeAppend", func(t *testing.T) { testAuditLargeAppend(t, s) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, s) })
}

func testAuditEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	head, err := s.GetAuditHead(ctx)
	must(t, "GetAuditHead of an empty trail", err)
	if head != (lanyard.AuditHead{}) {
		t.Errorf("head of an empty trail = %+v, want zero", head)
	}

	writer, reader := guid(), guid()
	readerClient := guid()
	first := appendChain(t, s, 3, func(i int, e *lanyard.AuditEvent) {
		if i == 1 {
			e.PrincipalID, e.ClientID, e.Decision = reader, readerClient, "denied"
			e.Action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
		} else {
			e.PrincipalID = writer
		}
	})
	head, err = s.GetAuditHead(ctx)
	must(t, "GetAuditHead", err)
	if head.Seq != 3 || head.Hash != first[2].Hash || head.AnchorSeq != 0 || head.AnchorHash != "" {
		t.Errorf("head after three events = %+v, want seq 3 and the third's hash", head)
	}
	for _, e := range first {
		got, err := s.GetAuditEvent(ctx, e.ID)
		must(t, "GetAuditEvent", err)
		same(t, "GetAuditEvent", got, e, normAuditEvent)
	}
	_, err = s.GetAuditEvent(ctx, guid())
	wantCode(t, "GetAuditEvent of a missing event", err, lanyard.KindNotFound, "AuditEventNotFound")

	// fn runs once, and a batch that does not continue the chain writes nothing.
	calls := 0
	err = s.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		calls++
		es := chainAfter(h, 2, nil)
		es[1].PrevHash = fakeHash()
		return es, nil
	})
	if lanyard.KindOf(err) != lanyard.KindInvalid {
		t.Errorf("append of a broken chain: got %v, want Invalid", err)
	}
	err = s.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		calls++
		es := chainAfter(h, 1, nil)
		es[0].Seq++ // a gap
		return es, nil
	})
	if lanyard.KindOf(err) != lanyard.KindInvalid {
		t.Errorf("append leaving a gap: got %v, want Invalid", err)
	}
	boom := errors.New("sink down")
	err = s.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		calls++
		return chainAfter(h, 1, nil), boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("append whose fn fails: got %v, want fn's error", err)
	}
	if calls != 3 {
		t.Errorf("fn was called %d times for 3 appends, want once each", calls)
	}
	all, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{})
	must(t, "ListAuditEvents", err)
	wantSeqs(t, "events after refused appends", all, 1, 2, 3)
	if len(all) == 3 {
		for i := range all {
			same(t, "listed event", all[i], first[i], normAuditEvent)
		}
	}

	// Filters.
	second := appendChain(t, s, 3, func(i int, e *lanyard.AuditEvent) {
		e.Kind = "token.issued"
		e.Decision = ""
		e.Action = "https://storage.azure.com"
		e.PrincipalID = writer
		if i == 2 {
			e.Kind, e.Action = "management.change", "delete 100%_done"
		}
	})
	filters := []struct {
		name string
		f    lanyard.AuditFilter
		want []int64
	}{
		{"principal id", lanyard.AuditFilter{Principal: writer}, []int64{1, 3, 4, 5, 6}},
		{"principal id in capitals", lanyard.AuditFilter{Principal: toUpper(reader)}, []int64{2}},
		{"client id", lanyard.AuditFilter{Principal: readerClient}, []int64{2}},
		{"action", lanyard.AuditFilter{Action: "MICROSOFT.STORAGE/storageAccounts/blobServices/containers/blobs/write"}, []int64{1, 3}},
		{"action pattern", lanyard.AuditFilter{Action: "microsoft.storage/*/blobs/*"}, []int64{1, 2, 3}},
		{"action pattern suffix", lanyard.AuditFilter{Action: "*/add/action"}, []int64{2}},
		{"percent and underscore are literal", lanyard.AuditFilter{Action: "delete 100%_done"}, []int64{6}},
		{"percent in a pattern is literal", lanyard.AuditFilter{Action: "*1_0%*"}, nil},
		{"decision", lanyard.AuditFilter{Decision: "denied"}, []int64{2}},
		{"kind", lanyard.AuditFilter{Kind: "token.issued"}, []int64{4, 5}},
		{"token", lanyard.AuditFilter{TokenID: second[0].TokenID}, []int64{4}},
		{"request id", lanyard.AuditFilter{RequestID: second[1].RequestID}, []int64{5}},
		{"since", lanyard.AuditFilter{Since: at(3 * time.Second)}, []int64{3, 4, 5, 6}},
		{"until", lanyard.AuditFilter{Until: at(3 * time.Second)}, []int64{1, 2}},
		{"window", lanyard.AuditFilter{Since: at(2 * time.Second), Until: at(5 * time.Second)}, []int64{2, 3, 4}},
		{"after seq", lanyard.AuditFilter{AfterSeq: 4}, []int64{5, 6}},
		{"limit", lanyard.AuditFilter{Limit: 2}, []int64{1, 2}},
		{"after seq and limit", lanyard.AuditFilter{AfterSeq: 2, Limit: 2}, []int64{3, 4}},
		{"combined", lanyard.AuditFilter{Principal: writer, Kind: "access.decision", Decision: "allowed"}, []int64{1, 3}},
		{"nothing", lanyard.AuditFilter{Principal: guid()}, nil},
	}
	for _, f := range filters {
		got, err := s.ListAuditEvents(ctx, f.f)
		must(t, "ListAuditEvents "+f.name, err)
		wantSeqs(t, "ListAuditEvents "+f.name, got, f.want...)
	}

	// Retention deletes a prefix and anchors the chain on the last event it deleted.
	n, err := s.PruneAuditEvents(ctx, at(2*time.Second))
	must(t, "PruneAuditEvents", err)
	if n != 1 {
		t.Errorf("PruneAuditEvents deleted %d events, want 1", n)
	}
	head, err = s.GetAuditHead(ctx)
	must(t, "GetAuditHead after prune", err)
	if head.Seq != 6 || head.Hash != second[2].Hash || head.AnchorSeq != 1 || head.AnchorHash != first[0].Hash {
		t.Errorf("head after prune = %+v, want seq 6 anchored on event 1", head)
	}
	n, err = s.PruneAuditEvents(ctx, at(2*time.Second))
	must(t, "PruneAuditEvents again", err)
	if n != 0 {
		t.Errorf("a second prune deleted %d events, want none", n)
	}
	// An event stamped out of order does not let retention punch a hole: it stops at the
	// first event to keep.
	third := appendChain(t, s, 2, func(i int, e *lanyard.AuditEvent) {
		if i == 0 {
			e.Time = at(time.Second) // older than the cut below, but after newer events
		}
	})
	n, err = s.PruneAuditEvents(ctx, at(4*time.Second))
	must(t, "PruneAuditEvents up to 4s", err)
	if n != 2 {
		t.Errorf("prune up to 4s deleted %d events, want 2 (events 2 and 3)", n)
	}
	all, err = s.ListAuditEvents(ctx, lanyard.AuditFilter{})
	must(t, "ListAuditEvents after prune", err)
	wantSeqs(t, "events after prune", all, 4, 5, 6, 7, 8)
	head, err = s.GetAuditHead(ctx)
	must(t, "GetAuditHead after the second prune", err)
	if head.Seq != 8 || head.Hash != third[1].Hash || head.AnchorSeq != 3 || head.AnchorHash != first[2].Hash {
		t.Errorf("head after the second prune = %+v, want seq 8 anchored on event 3", head)
	}
	// Pruning everything keeps the head, so the chain continues.
	n, err = s.PruneAuditEvents(ctx, at(time.Hour))
	must(t, "PruneAuditEvents of everything", err)
	if n != 5 {
		t.Errorf("pruning everything deleted %d events, want 5", n)
	}
	next := appendChain(t, s, 1, nil)
	if next[0].Seq != 9 || next[0].PrevHash != third[1].Hash {
		t.Errorf("event after pruning everything continues at %d from %q, want 9 from the last hash", next[0].Seq, next[0].PrevHash)
	}
}

// testAuditConcurrency appends from several goroutines: the head's lock must keep the
// chain without gaps or forks.
func testAuditConcurrency(t *testing.T, s store.Store) {
	ctx := t.Context()
	start, err := s.GetAuditHead(ctx)
	must(t, "GetAuditHead", err)
	const writers, batches, size = 4, 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				errs <- s.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
					return chainAfter(h, size, nil), nil
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent AppendAuditEvents", err)
	}
	all, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{AfterSeq: start.Seq})
	must(t, "ListAuditEvents", err)
	if len(all) != writers*batches*size {
		t.Fatalf("%d events, want %d", len(all), writers*batches*size)
	}
	prev := start.Hash
	for i, e := range all {
		if e.Seq != start.Seq+int64(i+1) || e.PrevHash != prev {
			t.Fatalf("event %d: seq %d prev %q, want seq %d prev %q", i, e.Seq, e.PrevHash, start.Seq+int64(i+1), prev)
		}
		prev = e.Hash
	}
}

// testAuditLargeAppend appends more events at once than a busy server's batch (a backend
// may store them in pieces) and reads, filters and prunes across them.
func testAuditLargeAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	start, err := s.GetAuditHead(ctx)
	must(t, "GetAuditHead", err)
	const n = 1300
	rare := guid()
	events := appendChain(t, s, n, func(i int, e *lanyard.AuditEvent) {
		if i%100 == 7 {
			e.ClientID = toUpper(rare)
		}
	})
	seq := func(i int) int64 { return start.Seq + int64(i) + 1 }

	all, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{AfterSeq: start.Seq})
	must(t, "ListAuditEvents", err)
	if len(all) != n {
		t.Fatalf("%d events listed, want %d", len(all), n)
	}
	for i, e := range all {
		if e.Seq != seq(i) || e.Hash != events[i].Hash {
			t.Fatalf("event %d listed as seq %d, want %d", i, e.Seq, seq(i))
		}
	}
	page, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{AfterSeq: seq(509), Limit: 5})
	must(t, "ListAuditEvents across a boundary", err)
	wantSeqs(t, "a page after event 510", page, seq(510), seq(511), seq(512), seq(513), seq(514))
	var want []int64
	for i := 7; i < n; i += 100 {
		want = append(want, seq(i))
	}
	got, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{Principal: rare})
	must(t, "ListAuditEvents by client id", err)
	wantSeqs(t, "events of the rare client", got, want...)
	e, err := s.GetAuditEvent(ctx, events[1111].ID)
	must(t, "GetAuditEvent", err)
	same(t, "GetAuditEvent", e, events[1111], normAuditEvent)

	n0 := int(start.Seq - start.AnchorSeq) // events kept before this test
	pruned, err := s.PruneAuditEvents(ctx, at(time.Duration(seq(600))*time.Second))
	must(t, "PruneAuditEvents", err)
	if pruned != n0+600 {
		t.Errorf("PruneAuditEvents deleted %d events, want %d", pruned, n0+600)
	}
	head, err := s.GetAuditHead(ctx)
	must(t, "GetAuditHead after prune", err)
	if head.AnchorSeq != seq(599) || head.AnchorHash != events[599].Hash || head.Seq != seq(n-1) {
		t.Errorf("head after prune = %+v, want anchored on seq %d", head, seq(599))
	}
	all, err = s.ListAuditEvents(ctx, lanyard.AuditFilter{})
	must(t, "ListAuditEvents after prune", err)
	if len(all) != n-600 || all[0].Seq != seq(600) {
		t.Errorf("after prune: %d events from seq %d, want %d from %d", len(all), all[0].Seq, n-600, seq(600))
	}
	got, err = s.ListAuditEvents(ctx, lanyard.AuditFilter{Principal: rare})
	must(t, "ListAuditEvents by client id after prune", err)
	wantSeqs(t, "events of the rare client after prune", got, want[6:]...)
}

func testRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	principal := guid()
	tok := lanyard.Revocation{ID: guid(), Kind: lanyard.RevokeToken, TokenID: "uti-" + guid(), PrincipalID: principal,
		NotBefore: at(time.Minute), ExpiresAt: at(time.Hour), Reason: "leaked in a log", CreatedBy: "admin", CreatedAt: at(time.Minute)}
	prin := lanyard.Revocation{ID: guid(), Kind: lanyard.RevokePrincipal, PrincipalID: toUpper(guid()),
		NotBefore: at(2 * time.Minute), ExpiresAt: at(25 * time.Hour), Reason: "", CreatedBy: "principal " + principal, CreatedAt: at(2 * time.Minute)}
	must(t, "CreateRevocation token", s.CreateRevocation(ctx, tok))
	must(t, "CreateRevocation principal", s.CreateRevocation(ctx, prin))
	dup := prin
	dup.Reason = "again"
	wantConflict(t, "CreateRevocation with a taken id", s.CreateRevocation(ctx, dup))

	got, err := s.ListRevocations(ctx)
	must(t, "ListRevocations", err)
	same(t, "ListRevocations", got, []lanyard.Revocation{tok, prin}, func(r []lanyard.Revocation) []lanyard.Revocation { return r })

	n, err := s.DeleteExpiredRevocations(ctx, at(59*time.Minute))
	must(t, "DeleteExpiredRevocations before any expiry", err)
	if n != 0 {
		t.Errorf("deleted %d revocations before any expired", n)
	}
	n, err = s.DeleteExpiredRevocations(ctx, at(time.Hour))
	must(t, "DeleteExpiredRevocations", err)
	if n != 1 {
		t.Errorf("deleted %d revocations at the first expiry, want 1", n)
	}
	got, err = s.ListRevocations(ctx)
	must(t, "ListRevocations after expiry", err)
	same(t, "ListRevocations after expiry", got, []lanyard.Revocation{prin}, func(r []lanyard.Revocation) []lanyard.Revocation { return r })
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
