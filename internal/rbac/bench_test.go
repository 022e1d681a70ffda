package rbac

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	scaleAssignments = 100_000
	scalePrincipals  = 10_000
)

type scaleQuery struct {
	principal, action, scope string
	data                     bool
}

// scaleFixture builds 100,000 assignments over 10,000 principals (10 each) spread over
// one subscription, 100 groups, 1,000 accounts and their containers, and queries that
// hit a mix of allowed and denied decisions.
func scaleFixture() ([]lanyard.RoleAssignment, []scaleQuery) {
	roles := []string{
		requiredRoles["Storage Blob Data Reader"], requiredRoles["Storage Blob Data Contributor"],
		requiredRoles["Reader"], requiredRoles["Contributor"], requiredRoles["Storage Queue Data Contributor"],
		requiredRoles["Azure Service Bus Data Sender"], requiredRoles["Managed Identity Operator"],
	}
	seed := uint32(7)
	rnd := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	scope := func(level int) string {
		g := rnd(100)
		a := fmt.Sprintf("%s/resourceGroups/group%03d/providers/Microsoft.Storage/storageAccounts/acct%04d", sub, g, rnd(1000))
		switch level {
		case 0:
			return sub
		case 1:
			return fmt.Sprintf("%s/resourceGroups/group%03d", sub, g)
		case 2:
			return a
		}
		return fmt.Sprintf("%s/blobServices/default/containers/container%02d", a, rnd(20))
	}
	as := make([]lanyard.RoleAssignment, 0, scaleAssignments)
	for i := 0; i < scaleAssignments; i++ {
		p := i % scalePrincipals
		as = append(as, lanyard.RoleAssignment{
			ID:               fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			Scope:            scope(1 + rnd(3)),
			RoleDefinitionID: roles[rnd(len(roles))],
			PrincipalID:      fmt.Sprintf("%08x-1111-4111-8111-%012x", p, p),
			PrincipalType:    lanyard.PrincipalServicePrincipal,
		})
	}
	var qs []scaleQuery
	for i := 0; i < 4096; i++ {
		a := as[rnd(len(as))]
		qs = append(qs,
			// At (or below) one of its own assignments: usually allowed.
			scaleQuery{a.PrincipalID, blobs + "read", a.Scope + "/blobServices/default/containers/container01/blobs/x", true},
			// Somewhere random: usually denied, with an explanation.
			scaleQuery{a.PrincipalID, blobs + "write", scope(3) + "/blobs/y", true},
		)
	}
	return as, qs
}

var sink Decision

func BenchmarkDecide(b *testing.B) {
	as, qs := scaleFixture()
	e := NewEngine(NewSnapshot(nil, as))
	var allowedQ, deniedQ []scaleQuery
	for _, q := range qs {
		if e.Decide(q.principal, q.action, q.data, q.scope).Allowed {
			allowedQ = append(allowedQ, q)
		} else {
			deniedQ = append(deniedQ, q)
		}
	}
	b.Logf("%d assignments, %d principals; %d allowed and %d denied queries", len(as), scalePrincipals, len(allowedQ), len(deniedQ))
	for _, tc := range []struct {
		name  string
		qs    []scaleQuery
		brief bool
	}{{"allowed", allowedQ, false}, {"denied", deniedQ, false}, {"mixed", qs, false}, {"denied-brief", deniedQ, true}, {"mixed-brief", qs, true}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				q := tc.qs[i%len(tc.qs)]
				sink = e.Evaluate(Request{PrincipalID: q.principal, Action: q.action, DataAction: q.data, Scope: q.scope, Brief: tc.brief})
				i++
			}
		})
	}
}

// BenchmarkSnapshotUpdate measures one incremental change at full scale.
func BenchmarkSnapshotUpdate(b *testing.B) {
	as, _ := scaleFixture()
	s := NewSnapshot(nil, as)
	extra := lanyard.RoleAssignment{ID: "ffffffff-0000-4000-8000-000000000000", Scope: rg,
		RoleDefinitionID: requiredRoles["Reader"], PrincipalID: as[0].PrincipalID, PrincipalType: lanyard.PrincipalServicePrincipal}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.WithAssignment(extra).WithoutAssignment(extra.ID)
	}
}

func BenchmarkNewSnapshot(b *testing.B) {
	as, _ := scaleFixture()
	b.ReportAllocs()
	for b.Loop() {
		_ = NewSnapshot(nil, as)
	}
}

// TestScaleReport states the memory per assignment and the decision latency percentiles
// at 100,000 assignments and 10,000 principals. It is a measurement, not a gate, except for
// a generous ceiling that catches a regression by an order of magnitude.
func TestScaleReport(t *testing.T) {
	if testing.Short() {
		t.Skip("scale measurement")
	}
	as, qs := scaleFixture()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewSnapshot(nil, as)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perAssignment := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(as))
	t.Logf("snapshot of %d assignments: %.0f bytes per assignment of index (the assignment strings are shared with the caller's slice)", len(as), perAssignment)

	e := NewEngine(s)
	var allowed, denied []time.Duration
	for round := 0; round < 50; round++ {
		for _, q := range qs {
			start := time.Now()
			d := e.Decide(q.principal, q.action, q.data, q.scope)
			el := time.Since(start)
			if d.Allowed {
				allowed = append(allowed, el)
			} else {
				denied = append(denied, el)
			}
		}
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[int(float64(len(ds)-1)*p)]
	}
	var brief []time.Duration
	for round := 0; round < 50; round++ {
		for _, q := range qs {
			start := time.Now()
			e.Evaluate(Request{PrincipalID: q.principal, Action: q.action, DataAction: q.data, Scope: q.scope, Brief: true})
			brief = append(brief, time.Since(start))
		}
	}
	t.Logf("every decision as resources make it (brief, %d): p50 %v p99 %v max %v", len(brief), pct(brief, .5), pct(brief, .99), pct(brief, 1))
	t.Logf("allowed decisions (%d): p50 %v p99 %v max %v", len(allowed), pct(allowed, .5), pct(allowed, .99), pct(allowed, 1))
	t.Logf("denied decisions with explanation (%d): p50 %v p99 %v max %v", len(denied), pct(denied, .5), pct(denied, .99), pct(denied, 1))
	if perAssignment > 2048 {
		t.Errorf("%.0f bytes per assignment", perAssignment)
	}
	runtime.KeepAlive(s)
	runtime.KeepAlive(as)
}
