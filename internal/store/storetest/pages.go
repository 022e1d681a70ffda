package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// pages describes one keyset-paged list for the checks below.
type pages[T any] struct {
	name string
	list func(group, after string, limit int) ([]T, error)
	key  func(T) string // what the caller passes as after: the last item's
	id   func(T) string // what tells items apart, for sameSet
	norm func(T) T
}

// walk lists every page of group with limit, checking each page, and returns what it saw.
// between, when set, runs once, after the first page, with that page.
func (p pages[T]) walk(t *testing.T, what, group string, limit, most int, between func(first []T)) []T {
	t.Helper()
	var got []T
	seen := map[string]bool{}
	after := ""
	for n := 0; ; n++ {
		page, err := p.list(group, after, limit)
		must(t, what, err)
		if len(page) > limit {
			t.Fatalf("%s: page %d has %d items, limit %d", what, n, len(page), limit)
		}
		for _, v := range page {
			if seen[p.id(v)] {
				t.Fatalf("%s: %s listed twice", what, p.id(v))
			}
			seen[p.id(v)] = true
		}
		got = append(got, page...)
		if len(page) < limit {
			return got
		}
		if n > most {
			t.Fatalf("%s: pages do not end", what)
		}
		// The key is compared case-insensitively, whatever case the caller kept.
		after = strings.ToUpper(p.key(page[len(page)-1]))
		if n%2 == 1 {
			after = strings.ToLower(after)
		}
		if between != nil && n == 0 {
			between(page)
		}
	}
}

// whileChanging walks the whole list in pages of 5 while, after the first page, one item
// of that page and one not yet listed are deleted and last and first are created: every
// item kept is listed once, the one deleted ahead is not, and last (created ahead) is.
func (p pages[T]) whileChanging(t *testing.T, all []T, remove, create func(T) error, last, first T) {
	t.Helper()
	var gone []T
	got := p.walk(t, "while changing", "", 5, len(all)+2, func(page []T) {
		rest := without(all, p.id, page...)
		gone = []T{page[0], page[3], rest[len(rest)/2]}
		for _, v := range gone {
			must(t, "delete", remove(v))
		}
		must(t, "create last", create(last))
		must(t, "create first", create(first)) // before the walk's place
	})
	sameSet(t, p.name+" while changing", got, append(without(all, p.id, gone[2]), last), p.norm, p.id)
}

// check walks the list with several limits, unfiltered and by each group in want (""
// for all), expecting want[group] exactly.
func (p pages[T]) check(t *testing.T, want map[string][]T) {
	t.Helper()
	all := want[""]
	for _, group := range slices.Sorted(maps.Keys(want)) {
		for _, limit := range []int{1, 3, len(all), 1000} {
			if limit < 1 {
				continue
			}
			what := fmt.Sprintf("%s(%q), limit %d", p.name, group, limit)
			got := p.walk(t, what, group, limit, len(all)+1, nil)
			sameSet(t, what, got, want[group], p.norm, p.id)
		}
	}
	if page, err := p.list("", "", 0); err != nil || len(page) != 0 {
		t.Errorf("%s with limit 0 = %d items, %v; want none", p.name, len(page), err)
	}
}

// mixedCase spells name in one of three cases, by i.
func mixedCase(name string, i int) string {
	switch i % 3 {
	case 0:
		return strings.ToUpper(name)
	case 1:
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return name
}

// without returns xs less those whose id is in gone.
func without[T any](xs []T, id func(T) string, gone ...T) []T {
	var out []T
	for _, x := range xs {
		if !slices.ContainsFunc(gone, func(g T) bool { return id(g) == id(x) }) {
			out = append(out, x)
		}
	}
	return out
}

// pageGroups are the groups the paged fixtures spread over, and one that holds nothing.
var pageGroups = []string{"rg-One", "RG-two", "rg-Three"}

// byGroup indexes items by group as the lists are asked for them: "" for all, and each
// of pageGroups in another case than it was created in.
func byGroup[T any](all []T, groupOf func(T) string) map[string][]T {
	want := map[string][]T{"": all, "rg-none": nil}
	for i, g := range pageGroups {
		asked := strings.ToUpper(g)
		if i%2 == 1 {
			asked = strings.ToLower(g)
		}
		for _, v := range all {
			if strings.EqualFold(groupOf(v), g) {
				want[asked] = append(want[asked], v)
			}
		}
	}
	return want
}

// testGroupPages checks ListGroupsPage.
func testGroupPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []lanyard.ResourceGroup
	for i := range 23 {
		g := newGroup(mixedCase(fmt.Sprintf("rg-page-%02d", i), i))
		must(t, "CreateGroup", s.CreateGroup(ctx, g))
		all = append(all, g)
	}
	p := pages[lanyard.ResourceGroup]{
		name: "ListGroupsPage",
		list: func(_, after string, limit int) ([]lanyard.ResourceGroup, error) {
			return s.ListGroupsPage(ctx, after, limit)
		},
		key:  func(g lanyard.ResourceGroup) string { return g.Name },
		id:   groupName,
		norm: normGroup,
	}
	p.check(t, map[string][]lanyard.ResourceGroup{"": all})

	// Groups deleted and created between pages: none of the others repeats or goes missing.
	last, first := newGroup("ZZ-page-Last"), newGroup("AA-page-First")
	p.whileChanging(t, all, func(g lanyard.ResourceGroup) error { return s.DeleteGroup(ctx, g.Name) }, func(g lanyard.ResourceGroup) error { return s.CreateGroup(ctx, g) }, last, first)
}

// testIdentityPages checks ListUserAssignedIdentitiesPage.
func testIdentityPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []lanyard.Identity
	for i := range 24 {
		g := pageGroups[i%len(pageGroups)]
		name := mixedCase(fmt.Sprintf("id-%02d", i), i/3)
		if i < len(pageGroups) {
			name = mixedCase("shared", i) // one name in every group: paged by resource id
		}
		id := newIdentity(lanyard.UserAssigned, g, name)
		must(t, "CreateIdentity", s.CreateIdentity(ctx, id))
		all = append(all, id)
	}
	// System-assigned identities share their apps' resource ids; they are not listed.
	for i, g := range pageGroups {
		sys := newSystemIdentity(newApp(g, mixedCase("app", i)))
		must(t, "CreateIdentity system", s.CreateIdentity(ctx, sys))
		twin := newIdentity(lanyard.SystemAssigned, g, "id-00")
		twin.ResourceID = all[0].ResourceID
		must(t, "CreateIdentity system twin", s.CreateIdentity(ctx, twin))
	}
	p := pages[lanyard.Identity]{
		name: "ListUserAssignedIdentitiesPage",
		list: func(group, after string, limit int) ([]lanyard.Identity, error) {
			return s.ListUserAssignedIdentitiesPage(ctx, group, after, limit)
		},
		key:  func(id lanyard.Identity) string { return id.ResourceID },
		id:   principal,
		norm: normIdentity,
	}
	p.check(t, byGroup(all, func(id lanyard.Identity) string { return id.ResourceGroup }))

	last, first := newIdentity(lanyard.UserAssigned, "zz-Last", "id"), newIdentity(lanyard.UserAssigned, "AA-first", "id")
	p.whileChanging(t, all, func(id lanyard.Identity) error { return s.DeleteIdentity(ctx, id.PrincipalID) }, func(id lanyard.Identity) error { return s.CreateIdentity(ctx, id) }, last, first)
}

// testAppPages checks ListAppsPage, with apps that hold several identities (so several
// rows each where the store joins them).
func testAppPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var users []string
	for i := range 3 {
		u := newIdentity(lanyard.UserAssigned, "rg-Ids", fmt.Sprintf("id-%d", i))
		must(t, "CreateIdentity", s.CreateIdentity(ctx, u))
		users = append(users, u.PrincipalID)
	}
	var all []lanyard.App
	for i := range 20 {
		g := pageGroups[i%len(pageGroups)]
		name := mixedCase(fmt.Sprintf("app-%02d", i), i/3)
		if i < len(pageGroups) {
			name = mixedCase("shared", i)
		}
		a := newApp(g, name)
		a.UserAssigned = sorted(users[:i%(len(users)+1)]...)
		must(t, "CreateApp", s.CreateApp(ctx, a))
		all = append(all, a)
	}
	p := pages[lanyard.App]{
		name: "ListAppsPage",
		list: func(group, after string, limit int) ([]lanyard.App, error) {
			return s.ListAppsPage(ctx, group, after, limit)
		},
		key:  func(a lanyard.App) string { return a.ResourceID },
		id:   appID,
		norm: normApp,
	}
	p.check(t, byGroup(all, func(a lanyard.App) string { return a.ResourceGroup }))

	last, first := newApp("zz-Last", "app"), newApp("AA-first", "app")
	last.UserAssigned = sorted(users...)
	p.whileChanging(t, all, func(a lanyard.App) error { return s.DeleteApp(ctx, a.ResourceID) }, func(a lanyard.App) error { return s.CreateApp(ctx, a) }, last, first)
}

// testStorageAccountPages checks ListStorageAccountsPage.
func testStorageAccountPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []lanyard.StorageAccount
	for i := range 22 {
		a := newStorageAccount(pageGroups[i%len(pageGroups)], mixedCase(fmt.Sprintf("acct%02d", i), i/3))
		must(t, "CreateStorageAccount", s.CreateStorageAccount(ctx, a))
		all = append(all, a)
	}
	p := pages[lanyard.StorageAccount]{
		name: "ListStorageAccountsPage",
		list: func(group, after string, limit int) ([]lanyard.StorageAccount, error) {
			return s.ListStorageAccountsPage(ctx, group, after, limit)
		},
		key:  func(a lanyard.StorageAccount) string { return a.Name },
		id:   accountName,
		norm: normStorageAccount,
	}
	p.check(t, byGroup(all, func(a lanyard.StorageAccount) string { return a.ResourceGroup }))

	last, first := newStorageAccount("rg-One", "zzlast"), newStorageAccount("rg-One", "AAfirst")
	var gone []lanyard.StorageAccount
	got := p.walk(t, "while changing", "RG-ONE", 2, len(all)+2, func(page []lanyard.StorageAccount) {
		rest := without(byGroup(all, func(a lanyard.StorageAccount) string { return a.ResourceGroup })["RG-ONE"], accountName, page...)
		gone = []lanyard.StorageAccount{page[1], rest[len(rest)/2]}
		for _, a := range gone {
			must(t, "DeleteStorageAccount", s.DeleteStorageAccount(ctx, a.Name))
		}
		must(t, "CreateStorageAccount last", s.CreateStorageAccount(ctx, last))
		must(t, "CreateStorageAccount first", s.CreateStorageAccount(ctx, first))
	})
	want := without(byGroup(all, func(a lanyard.StorageAccount) string { return a.ResourceGroup })["RG-ONE"], accountName, gone[1])
	sameSet(t, "ListStorageAccountsPage(RG-ONE) while changing", got, append(want, last), normStorageAccount, accountName)
}
