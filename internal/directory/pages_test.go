package directory

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// walk reads every page of a paged list, limit at a time, continuing after key of each
// page's last item, and returns the keys in the order listed.
func walk[T any](t *testing.T, limit int, list func(after string, limit int) ([]T, error), key func(T) string) []string {
	t.Helper()
	var keys []string
	after := ""
	for range 100 {
		page, err := list(after, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			keys = append(keys, key(v))
		}
		if len(page) < limit {
			return keys
		}
		after = key(page[len(page)-1])
	}
	t.Fatal("pages do not end")
	return nil
}

// TestListPages: the paged lists walk every resource once, by group or across groups,
// and a list of a missing group is NotFound, as the whole lists are.
func TestListPages(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	for _, g := range []string{"Web", "jobs", "empty"} {
		must3g(t)(s.PutGroup(ctx, g, "", nil))
	}
	for _, r := range [][2]string{{"Web", "id-b"}, {"Web", "ID-a"}, {"jobs", "id-c"}} {
		if _, _, err := s.PutIdentity(ctx, r[0], r[1], "", nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutApp(ctx, r[0], "app-"+r[1], AppSpec{SystemAssigned: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutStorageAccount(ctx, r[0], "acct"+strings.ToLower(r[1][3:]), "", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	lower := func(ss ...string) []string {
		for i := range ss {
			ss[i] = strings.ToLower(ss[i])
		}
		return ss
	}
	name := func(group, typ, n string) string { return lower(lanyard.ResourceIDOf("sub-1", group, typ, n))[0] }
	idOf := func(i lanyard.Identity) string { return strings.ToLower(i.ResourceID) }
	appOf := func(a lanyard.App) string { return strings.ToLower(a.ResourceID) }
	accountOf := func(a lanyard.StorageAccount) string { return strings.ToLower(a.Name) }
	groupOf := func(g lanyard.ResourceGroup) string { return strings.ToLower(g.Name) }

	cases := []struct {
		name string
		got  func(limit int) []string
		want []string
	}{
		{"groups", func(n int) []string { return walk(t, n, ctxList(ctx, s.ListGroupsPage), groupOf) },
			[]string{"empty", "jobs", "web"}},
		{"identities", func(n int) []string { return walk(t, n, inGroup(ctx, "", s.ListIdentitiesPage), idOf) },
			[]string{name("jobs", lanyard.TypeUserAssignedIdentity, "id-c"), name("web", lanyard.TypeUserAssignedIdentity, "id-a"), name("web", lanyard.TypeUserAssignedIdentity, "id-b")}},
		{"identities in WEB", func(n int) []string { return walk(t, n, inGroup(ctx, "WEB", s.ListIdentitiesPage), idOf) },
			[]string{name("web", lanyard.TypeUserAssignedIdentity, "id-a"), name("web", lanyard.TypeUserAssignedIdentity, "id-b")}},
		{"identities in empty", func(n int) []string { return walk(t, n, inGroup(ctx, "empty", s.ListIdentitiesPage), idOf) }, nil},
		{"apps", func(n int) []string { return walk(t, n, inGroup(ctx, "", s.ListAppsPage), appOf) },
			[]string{name("jobs", lanyard.TypeApp, "app-id-c"), name("web", lanyard.TypeApp, "app-id-a"), name("web", lanyard.TypeApp, "app-id-b")}},
		{"apps in jobs", func(n int) []string { return walk(t, n, inGroup(ctx, "JOBS", s.ListAppsPage), appOf) },
			[]string{name("jobs", lanyard.TypeApp, "app-id-c")}},
		{"accounts", func(n int) []string { return walk(t, n, inGroup(ctx, "", s.ListStorageAccountsPage), accountOf) },
			[]string{"accta", "acctb", "acctc"}},
		{"accounts in web", func(n int) []string { return walk(t, n, inGroup(ctx, "web", s.ListStorageAccountsPage), accountOf) },
			[]string{"accta", "acctb"}},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 2, 10} {
			got := tc.got(limit)
			// SQLite orders keys by byte, so the order is checked too.
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, limit %d: got %q, want %q", tc.name, limit, got, tc.want)
			}
		}
	}

	if _, err := s.ListIdentitiesPage(ctx, "nope", "", 10); lanyard.CodeOf(err) != "ResourceGroupNotFound" {
		t.Errorf("identities of a missing group: %v", err)
	}
	if _, err := s.ListAppsPage(ctx, "nope", "", 10); lanyard.CodeOf(err) != "ResourceGroupNotFound" {
		t.Errorf("apps of a missing group: %v", err)
	}
	if _, err := s.ListStorageAccountsPage(ctx, "nope", "", 10); lanyard.CodeOf(err) != "ResourceGroupNotFound" {
		t.Errorf("accounts of a missing group: %v", err)
	}
}

func ctxList[T any](ctx context.Context, f func(context.Context, string, int) ([]T, error)) func(string, int) ([]T, error) {
	return func(after string, limit int) ([]T, error) { return f(ctx, after, limit) }
}

func inGroup[T any](ctx context.Context, group string, f func(context.Context, string, string, int) ([]T, error)) func(string, int) ([]T, error) {
	return func(after string, limit int) ([]T, error) { return f(ctx, group, after, limit) }
}
