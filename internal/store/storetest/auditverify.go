package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// appendsMeanwhile is a store whose ListAuditEvents first waits until the trail has grown
// past what it saw last: every page a verification reads is read after more events were
// appended, as on a busy server, without depending on timing.
type appendsMeanwhile struct {
	store.AuditEvents
	mu   sync.Mutex
	seen int64
}

func (a *appendsMeanwhile) ListAuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		h, err := a.AuditEvents.GetAuditHead(ctx)
		if err != nil {
			return nil, err
		}
		if h.Seq > a.seen {
			a.seen = h.Seq
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return a.AuditEvents.ListAuditEvents(ctx, f)
}

func (a *appendsMeanwhile) GetAuditHead(ctx context.Context) (lanyard.AuditHead, error) {
	h, err := a.AuditEvents.GetAuditHead(ctx)
	if err == nil {
		a.mu.Lock()
		a.seen = max(a.seen, h.Seq)
		a.mu.Unlock()
	}
	return h, err
}

// testAuditVerifyUnderLoad verifies the trail while a recorder appends to it continuously:
// verification checks the trail up to the head it read first and must find it intact every
// time, and still find an edited event.
func testAuditVerifyUnderLoad(t *testing.T, s store.Store) {
	ctx := t.Context()
	rec := audit.New(audit.Options{Store: s, Policy: audit.FailClosed, BatchSize: 50})
	defer rec.Close()
	event := func(i int) audit.Event {
		return audit.Issued(audit.TokenIssued{Protocol: "imds", PrincipalID: guid(), ClientID: guid(),
			Resource: "https://storage.azure.com", TokenID: fmt.Sprintf("uti-%d", i), IssuedAt: base, ExpiresAt: base.Add(time.Hour)})
	}
	// More than a page of verification before the load starts.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if err := rec.Record(ctx, event(w*1000+i)); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()

	load, cancel := context.WithCancel(ctx)
	var loadErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; load.Err() == nil; i++ {
			if err := rec.Record(load, event(10000+i)); err != nil && load.Err() == nil {
				loadErr = err
				return
			}
		}
	}()
	stopLoad := func() {
		cancel()
		<-done
		if loadErr != nil {
			t.Fatalf("Record under load: %v", loadErr)
		}
	}
	defer stopLoad()

	busy := &appendsMeanwhile{AuditEvents: s}
	for run := range 6 {
		rep, err := audit.VerifyStore(ctx, busy)
		must(t, "VerifyStore under load", err)
		if !rep.OK || rep.Checked < 1200 {
			t.Fatalf("run %d: VerifyStore under load: %+v, want intact", run, rep)
		}
	}

	// An edited event is still found, with appends going on after it.
	var edited int64
	must(t, "append an edited event", s.AppendAuditEvents(ctx, func(h lanyard.AuditHead) ([]lanyard.AuditEvent, error) {
		e := event(-1)
		e.ID, e.Time, e.Seq, e.PrevHash = guid(), base, h.Seq+1, h.Hash
		e.Details = []byte(`{"resource":"https://storage.azure.com"}`)
		e.Hash = audit.Hash(e)
		e.Details = []byte(`{"resource":"https://vault.azure.net"}`)
		edited = e.Seq
		return []lanyard.AuditEvent{{Seq: e.Seq, ID: e.ID, Time: e.Time, Kind: string(e.Kind), PrincipalID: e.PrincipalID,
			ClientID: e.ClientID, Action: e.Action, TokenID: e.TokenID, Details: e.Details, PrevHash: e.PrevHash, Hash: e.Hash}}, nil
	}))
	rep, err := audit.VerifyStore(ctx, busy)
	must(t, "VerifyStore of an edited trail under load", err)
	if rep.OK || rep.Problem.Kind != audit.Edited || rep.Problem.Seq != edited {
		t.Errorf("VerifyStore of a trail edited at seq %d: %+v, want it found", edited, rep)
	}
}
