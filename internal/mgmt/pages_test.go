package mgmt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

const assignmentsPath = "/providers/Microsoft.Authorization/roleAssignments"

// walk GETs path and every nextLink after it, as an ARM SDK pager does (the nextLink as
// it is), checking that no page holds more than max items and no item comes twice. It
// returns the names listed and the number of pages.
func (f *fixture) walk(t *testing.T, path string, max int) (names map[string]bool, pages int) {
	t.Helper()
	names = map[string]bool{}
	link := f.srv.URL + path
	for link != "" {
		if pages++; pages > 10_000 {
			t.Fatalf("%s: the pages do not end", path)
		}
		if !strings.HasPrefix(link, f.srv.URL+"/") {
			t.Fatalf("nextLink %q is not an absolute URL on the server %s", link, f.srv.URL)
		}
		res := f.request(t, "GET", strings.TrimPrefix(link, f.srv.URL), "", nil)
		expect(t, res, http.StatusOK)
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"nextLink"`
		}
		if err := json.Unmarshal(res.body, &page); err != nil || page.Value == nil {
			t.Fatalf("page %d of %s is not an ARM list (%v): %.300s", pages, path, err, res.body)
		}
		if len(page.Value) > max {
			t.Fatalf("page %d of %s has %d items, want at most %d", pages, path, len(page.Value), max)
		}
		if page.NextLink != "" && len(page.Value) == 0 {
			t.Fatalf("page %d of %s is empty but not the last", pages, path)
		}
		for _, v := range page.Value {
			name := str(v, "name")
			if names[name] {
				t.Fatalf("%s: %s is listed twice", path, name)
			}
			names[name] = true
		}
		link = page.NextLink
	}
	return names, pages
}

func sameNames(t *testing.T, what string, got map[string]bool, want []lanyard.RoleAssignment) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: listed %d assignments, want %d", what, len(got), len(want))
	}
	for _, a := range want {
		if !got[a.ID] {
			t.Errorf("%s: %s (at %s) is missing", what, a.ID, a.Scope)
			return
		}
	}
}

// readSpy records how many role assignments the API asks the store for at once.
type readSpy struct {
	store.Store
	mu      sync.Mutex
	most    int // the largest page asked for
	entire  int // calls that read every assignment
	counted bool
}

func (s *readSpy) ListRoleAssignmentsPage(ctx context.Context, after string, limit int, f store.RoleAssignmentFilter) ([]lanyard.RoleAssignment, error) {
	s.mu.Lock()
	s.most = max(s.most, limit)
	s.mu.Unlock()
	return s.Store.ListRoleAssignmentsPage(ctx, after, limit, f)
}

func (s *readSpy) ListRoleAssignments(ctx context.Context) ([]lanyard.RoleAssignment, error) {
	s.mu.Lock()
	if s.counted {
		s.entire++
	}
	s.mu.Unlock()
	return s.Store.ListRoleAssignments(ctx)
}

func TestRoleAssignmentPages(t *testing.T) {
	f := newFixture(t)
	spy := &readSpy{Store: f.st}
	acc, err := access.New(t.Context(), spy, lanyard.Tenant{ID: tenantID, SubscriptionID: subID})
	if err != nil {
		t.Fatal(err)
	}
	f.h.Access = acc
	spy.counted = true // access.New loads every assignment once, for its decisions
	// However many assignments there are, a list request reads one page of them (and one
	// more, to tell whether another page follows): memory per request is bounded.
	t.Cleanup(func() {
		if spy.most > maxPageSize+1 || spy.entire > 0 {
			t.Errorf("listing read up to %d assignments at once and every assignment %d times; want at most %d, and never all",
				spy.most, spy.entire, maxPageSize+1)
		}
	})

	// 2,500 assignments straight into the store, in one transaction: the API is only read.
	sub := "/subscriptions/" + subID
	g1, g2 := groupPath("g1"), groupPath("g2")
	child := g1 + "/providers/Microsoft.Storage/storageAccounts/acct"
	scopes := []string{g1, g1, child, g2, sub, "/"}
	p1, p2 := uuid.NewString(), uuid.NewString()
	var all []lanyard.RoleAssignment
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 2500 {
		p := p1
		if i%5 == 0 {
			p = p2
		}
		all = append(all, lanyard.RoleAssignment{ID: uuid.NewString(), Scope: scopes[i%len(scopes)], RoleDefinitionID: uuid.NewString(),
			PrincipalID: p, PrincipalType: lanyard.PrincipalServicePrincipal, CreatedAt: now, UpdatedAt: now})
	}
	err = f.st.InTx(t.Context(), func(tx store.Store) error {
		for _, a := range all {
			if err := tx.CreateRoleAssignment(t.Context(), a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	matching := func(keep func(a lanyard.RoleAssignment) bool) []lanyard.RoleAssignment {
		var out []lanyard.RoleAssignment
		for _, a := range all {
			if keep(a) {
				out = append(out, a)
			}
		}
		return out
	}
	in := func(a lanyard.RoleAssignment, scopes ...string) bool {
		for _, s := range scopes {
			if a.Scope == s {
				return true
			}
		}
		return false
	}

	t.Run("default page", func(t *testing.T) {
		names, pages := f.walk(t, assignmentsPath+"?api-version="+apiVer, maxPageSize)
		sameNames(t, "default page", names, all)
		if pages != 3 {
			t.Errorf("2,500 assignments came in %d pages, want 3 of at most %d", pages, maxPageSize)
		}
	})
	t.Run("$top", func(t *testing.T) {
		names, pages := f.walk(t, assignmentsPath+"?$top=100&api-version="+apiVer, 100)
		sameNames(t, "$top=100", names, all)
		if pages != 25 {
			t.Errorf("2,500 assignments came in %d pages of 100, want 25", pages)
		}
		// More than a page holds is a full page.
		_, pages = f.walk(t, assignmentsPath+"?$top=100000&api-version="+apiVer, maxPageSize)
		if pages != 3 {
			t.Errorf("$top=100000: %d pages, want 3", pages)
		}
	})
	t.Run("filters across pages", func(t *testing.T) {
		for _, tc := range []struct {
			name, scope, filter string
			want                []lanyard.RoleAssignment
		}{
			{"atScope() at g1", g1, "atScope()", matching(func(a lanyard.RoleAssignment) bool { return in(a, "/", sub, g1) })},
			{"at, above and below g1", g1, "", matching(func(a lanyard.RoleAssignment) bool { return in(a, "/", sub, g1, child) })},
			{"principalId eq p2 at the subscription", sub, "principalId eq '" + p2 + "'", matching(func(a lanyard.RoleAssignment) bool { return a.PrincipalID == p2 })},
			{"assignedTo(p2) and atScope() at g2", g2, "assignedTo('" + strings.ToUpper(p2) + "') and atScope()",
				matching(func(a lanyard.RoleAssignment) bool { return a.PrincipalID == p2 && in(a, "/", sub, g2) })},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"api-version": {apiVer}, "$top": {"37"}}
				if tc.filter != "" {
					q.Set("$filter", tc.filter)
				}
				names, _ := f.walk(t, tc.scope+assignmentsPath+"?"+q.Encode(), 37)
				sameNames(t, tc.name, names, tc.want)
			})
		}
	})
	t.Run("nextLink keeps the query", func(t *testing.T) {
		filter := "principalId eq '" + p1 + "'"
		res := f.call(t, "GET", sub+assignmentsPath+"?$top=10&$filter="+url.QueryEscape(filter), "")
		expect(t, res, http.StatusOK)
		var page struct{ NextLink string }
		if err := json.Unmarshal(res.body, &page); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(page.NextLink)
		if err != nil || !u.IsAbs() || u.Host != strings.TrimPrefix(f.srv.URL, "http://") || u.Path != sub+assignmentsPath {
			t.Fatalf("nextLink %q is not this list's absolute URL", page.NextLink)
		}
		q := u.Query()
		if q.Get("api-version") != apiVer || q.Get("$filter") != filter || q.Get("$top") != "10" || q.Get("$skipToken") == "" {
			t.Errorf("nextLink %q lost part of the query", page.NextLink)
		}
	})
	t.Run("bad page parameters", func(t *testing.T) {
		token := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for _, tc := range []struct{ query, code string }{
			{"$skipToken=not*base64", "InvalidSkipToken"},
			{"$skipToken=" + token("no separator"), "InvalidSkipToken"},
			{"$skipToken=" + token("resourceGroups\x00g1"), "InvalidSkipToken"}, // another list's
			{"$skipToken=" + token("roleAssignments\x00"), "InvalidSkipToken"},
			{"$skipToken=" + token("roleAssignments\x00"+strings.Repeat("a", 5000)), "InvalidSkipToken"},
			{"$skiptoken=%FF", "InvalidSkipToken"},
			{"$top=0", "InvalidQueryParameterValue"},
			{"$top=-5", "InvalidQueryParameterValue"},
			{"$top=ten", "InvalidQueryParameterValue"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				armError(t, f.call(t, "GET", assignmentsPath+"?"+tc.query, ""), http.StatusBadRequest, tc.code)
			})
		}
	})
}

// The lists read whole from the store page in the handler, by key.
// wholeListSpy counts the reads of whole directory lists, which list requests must not make.
type wholeListSpy struct {
	store.Store
	whole atomic.Int32
}

func (s *wholeListSpy) ListGroups(ctx context.Context) ([]lanyard.ResourceGroup, error) {
	s.whole.Add(1)
	return s.Store.ListGroups(ctx)
}

func (s *wholeListSpy) ListIdentities(ctx context.Context, kind lanyard.IdentityKind, group string) ([]lanyard.Identity, error) {
	s.whole.Add(1)
	return s.Store.ListIdentities(ctx, kind, group)
}

func (s *wholeListSpy) ListApps(ctx context.Context, group string) ([]lanyard.App, error) {
	s.whole.Add(1)
	return s.Store.ListApps(ctx, group)
}

func (s *wholeListSpy) ListStorageAccounts(ctx context.Context, group string) ([]lanyard.StorageAccount, error) {
	s.whole.Add(1)
	return s.Store.ListStorageAccounts(ctx, group)
}

// Groups, identities, apps and accounts page in the store: every item once, in bounded
// memory (the store is never asked for a whole list).
func TestDirectoryListPages(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("Group-%02d", i)
		f.mustGroup(t, name, "local")
		want = append(want, name)
	}
	for i := range 7 {
		f.mustIdentity(t, "Group-00", fmt.Sprintf("id-%d", i))
		expect(t, f.call(t, "PUT", appPath("Group-00", fmt.Sprintf("web-%d", i)), `{}`), http.StatusOK)
		expect(t, f.call(t, "PUT", groupPath("Group-01")+fmt.Sprintf("/providers/Microsoft.Storage/storageAccounts/acct%d", i), `{}`), http.StatusOK)
	}
	spy := &wholeListSpy{Store: f.st}
	f.h.Directory = directory.New(spy, lanyard.Tenant{ID: tenantID, SubscriptionID: subID}, []byte("0123456789abcdef0123456789abcdef"), nil)
	sub := "/subscriptions/" + subID
	for _, tc := range []struct {
		path  string
		top   int
		pages int
	}{
		{sub + "/resourcegroups", 3, 3},
		{sub + "/resourcegroups", 7, 1},
		{sub + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", 2, 4},
		{groupPath("Group-00") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", 3, 3},
		{sub + "/providers/Microsoft.Web/sites", 4, 2},
		{groupPath("Group-00") + "/providers/Microsoft.Web/sites", 7, 1},
		{sub + "/providers/Microsoft.Storage/storageAccounts", 5, 2},
		{groupPath("Group-01") + "/providers/Microsoft.Storage/storageAccounts", 1, 7},
	} {
		names, pages := f.walk(t, fmt.Sprintf("%s?$top=%d&api-version=%s", tc.path, tc.top, apiVer), tc.top)
		if len(names) != 7 || pages != tc.pages {
			t.Errorf("%s with $top=%d: %d items in %d pages, want 7 in %d", tc.path, tc.top, len(names), pages, tc.pages)
		}
	}
	names, _ := f.walk(t, sub+"/resourcegroups?$top=2&api-version="+apiVer, 2)
	for _, g := range want {
		if !names[g] {
			t.Errorf("group %s is missing", g)
		}
	}
	if n := spy.whole.Load(); n != 0 {
		t.Errorf("list requests read whole lists from the store %d times", n)
	}
	armError(t, f.call(t, "GET", sub+"/resourcegroups?$skipToken=Zm9v", ""), http.StatusBadRequest, "InvalidSkipToken")
}
