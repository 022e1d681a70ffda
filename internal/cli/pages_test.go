package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/runstate"
)

// pagedAssignments serves n role assignments at the root, size a page, each page's
// nextLink an absolute URL with the api-version in it, as the server writes them. next,
// when set, replaces the first page's nextLink.
func pagedAssignments(t *testing.T, f *fakeAPI, n, size int, next string) {
	f.routes["GET /providers/Microsoft.Authorization/roleAssignments"] = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if v := q["api-version"]; len(v) != 1 {
			t.Errorf("request %s has api-version %q, want it once", r.URL, v)
		}
		start, _ := strconv.Atoi(q.Get("$skipToken"))
		page := map[string]any{"value": []map[string]any{}}
		for i := start; i < min(start+size, n); i++ {
			name := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			page["value"] = append(page["value"].([]map[string]any), map[string]any{
				"name": name, "id": "/providers/Microsoft.Authorization/roleAssignments/" + name,
				"properties": map[string]any{"scope": "/", "principalId": "p"},
			})
		}
		if start+size < n {
			page["nextLink"] = fmt.Sprintf("https://%s%s?$skipToken=%d&api-version=2023-01-31", r.Host, r.URL.Path, start+size)
			if next != "" && start == 0 {
				page["nextLink"] = next
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}
}

func TestListFollowsNextLink(t *testing.T) {
	f := newFakeAPI(t)
	pagedAssignments(t, f, 2345, 1000, "")
	out, errOut, code := f.run("role", "assignment", "list", "--all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a JSON list: %v", err)
	}
	seen := map[string]bool{}
	for _, a := range got {
		seen[fmt.Sprint(a["name"])] = true
	}
	if len(got) != 2345 || len(seen) != 2345 {
		t.Errorf("listed %d assignments (%d distinct), want all 2345", len(got), len(seen))
	}
	if n := f.called("GET /providers/Microsoft.Authorization/roleAssignments"); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}
}

func TestListRefusesForeignNextLink(t *testing.T) {
	for _, tc := range []struct{ name, next, want string }{
		// The admin credential goes with every call: never to another host.
		{"another host", "https://127.0.0.2:1/providers/Microsoft.Authorization/roleAssignments?$skipToken=1000", "refusing to call"},
		{"another scheme", "http://%s/providers/Microsoft.Authorization/roleAssignments?$skipToken=1000", "refusing to call"},
		// A server that sends the same page again would otherwise loop forever.
		{"the same page again", "/providers/Microsoft.Authorization/roleAssignments", "repeated a nextLink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			next := tc.next
			if strings.Contains(next, "%s") {
				next = fmt.Sprintf(next, strings.TrimPrefix(f.apiURL(t), "https://"))
			}
			pagedAssignments(t, f, 1500, 1000, next)
			_, errOut, code := f.run("role", "assignment", "list", "--all")
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, errOut, tc.want)
			}
		})
	}
}

func (f *fakeAPI) apiURL(t *testing.T) string {
	t.Helper()
	st, err := runstate.Read(f.home)
	if err != nil {
		t.Fatal(err)
	}
	return st.APIURL
}
