package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// testRoleAssignmentPages checks ListRoleAssignmentsPage: every matching assignment once
// across pages, pages no longer than asked, filters applied in the store.
func testRoleAssignmentPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	sub := "/subscriptions/" + subscription
	rgA, rgAB, rgUnder := groupScope("rg-A"), groupScope("rg-AB"), groupScope("rg_A")
	child := rgA + "/providers/Microsoft.Storage/storageAccounts/acct"
	scopes := []string{"/", sub, rgA, strings.ToUpper(rgA), rgAB, rgUnder, child}
	p1, p2 := guid(), guid()

	var all []lanyard.RoleAssignment
	for i := range 40 {
		p := p1
		if i%3 == 0 {
			p = p2
		}
		a := newRoleAssignment(scopes[i%len(scopes)], guid(), p)
		if i%2 == 0 {
			a.ID = strings.ToUpper(a.ID) // ids are paged case-insensitively
		}
		must(t, "CreateRoleAssignment", s.CreateRoleAssignment(ctx, a))
		all = append(all, a)
	}

	// walk pages through f with limit, checking each page, and returns what it saw.
	walk := func(what string, f store.RoleAssignmentFilter, limit int, between func(page int)) []lanyard.RoleAssignment {
		t.Helper()
		var got []lanyard.RoleAssignment
		seen := map[string]bool{}
		after := ""
		for n := 0; ; n++ {
			page, err := s.ListRoleAssignmentsPage(ctx, after, limit, f)
			must(t, what, err)
			if len(page) > limit {
				t.Fatalf("%s: page %d has %d assignments, limit %d", what, n, len(page), limit)
			}
			for _, a := range page {
				if seen[assignmentID(a)] {
					t.Fatalf("%s: assignment %s listed twice", what, a.ID)
				}
				seen[assignmentID(a)] = true
			}
			got = append(got, page...)
			if len(page) < limit {
				return got
			}
			if n > len(all) {
				t.Fatalf("%s: pages do not end", what)
			}
			// The key is compared case-insensitively, whatever case the caller kept.
			after = strings.ToUpper(page[len(page)-1].ID)
			if n%2 == 1 {
				after = strings.ToLower(after)
			}
			if between != nil {
				between(n)
			}
		}
	}
	matching := func(keep func(lanyard.RoleAssignment) bool) []lanyard.RoleAssignment {
		var out []lanyard.RoleAssignment
		for _, a := range all {
			if keep(a) {
				out = append(out, a)
			}
		}
		return out
	}
	under := func(a lanyard.RoleAssignment, scope string) bool {
		return strings.HasPrefix(strings.ToLower(a.Scope), strings.ToLower(scope)+"/")
	}
	in := func(a lanyard.RoleAssignment, scopes ...string) bool {
		for _, s := range scopes {
			if strings.EqualFold(a.Scope, s) {
				return true
			}
		}
		return false
	}

	for _, limit := range []int{1, 7, 40, 1000} {
		got := walk(fmt.Sprintf("every assignment, limit %d", limit), store.RoleAssignmentFilter{}, limit, nil)
		sameSet(t, fmt.Sprintf("every assignment, limit %d", limit), got, all, normRoleAssignment, assignmentID)
	}
	if page, err := s.ListRoleAssignmentsPage(ctx, "", 0, store.RoleAssignmentFilter{}); err != nil || len(page) != 0 {
		t.Errorf("ListRoleAssignmentsPage with limit 0 = %d assignments, %v; want none", len(page), err)
	}

	filters := []struct {
		name string
		f    store.RoleAssignmentFilter
		want []lanyard.RoleAssignment
	}{
		{"principal", store.RoleAssignmentFilter{PrincipalID: strings.ToUpper(p2)},
			matching(func(a lanyard.RoleAssignment) bool { return a.PrincipalID == p2 })},
		{"at or above rg-A", store.RoleAssignmentFilter{Scopes: []string{"/", sub, strings.ToLower(rgA)}},
			matching(func(a lanyard.RoleAssignment) bool { return in(a, "/", sub, rgA) })},
		{"at, above or below rg-A", store.RoleAssignmentFilter{Scopes: []string{"/", sub, rgA}, Below: strings.ToUpper(rgA)},
			matching(func(a lanyard.RoleAssignment) bool { return in(a, "/", sub, rgA) || under(a, rgA) })},
		{"below the subscription", store.RoleAssignmentFilter{Below: sub},
			matching(func(a lanyard.RoleAssignment) bool { return under(a, sub) })},
		{"below the root", store.RoleAssignmentFilter{Below: "/"},
			matching(func(a lanyard.RoleAssignment) bool { return a.Scope != "/" })},
		{"principal at rg-A", store.RoleAssignmentFilter{PrincipalID: p1, Scopes: []string{rgA}},
			matching(func(a lanyard.RoleAssignment) bool { return a.PrincipalID == p1 && in(a, rgA) })},
		{"nothing", store.RoleAssignmentFilter{PrincipalID: guid()}, nil},
	}
	for _, tc := range filters {
		if tc.name != "nothing" && len(tc.want) == 0 {
			t.Fatalf("%s: the fixture matches nothing", tc.name)
		}
		got := walk(tc.name, tc.f, 3, nil)
		sameSet(t, tc.name, got, tc.want, normRoleAssignment, assignmentID)
	}

	// Deleting assignments already listed, and creating one, between pages skips none of
	// the others: the walk resumes after a key, not at an offset.
	var fresh lanyard.RoleAssignment
	got := walk("while deleting", store.RoleAssignmentFilter{}, 5, func(n int) {
		if n != 0 {
			return
		}
		page, err := s.ListRoleAssignmentsPage(ctx, "", 5, store.RoleAssignmentFilter{})
		must(t, "ListRoleAssignmentsPage", err)
		for _, a := range page[:3] {
			must(t, "DeleteRoleAssignment", s.DeleteRoleAssignment(ctx, a.ID))
		}
		fresh = newRoleAssignment(sub, guid(), p1)
		fresh.ID = "ffffffff-ffff-4fff-bfff-ffffffffffff" // sorts last
		must(t, "CreateRoleAssignment", s.CreateRoleAssignment(ctx, fresh))
	})
	sameSet(t, "while deleting", got, append(all, fresh), normRoleAssignment, assignmentID)
}
