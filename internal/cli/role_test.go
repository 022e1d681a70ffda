package cli

import (
	"net/http"
	"strings"
	"testing"
)

func TestRoleAssignmentDeleteIDs(t *testing.T) {
	const (
		guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
		full = "/subscriptions/sub-1/resourceGroups/g/providers/Microsoft.Authorization/roleAssignments/" + guid
		del  = "DELETE " + full
	)
	f := newFakeAPI(t)
	f.json("GET /providers/Microsoft.Authorization/roleAssignments", http.StatusOK, map[string]any{"value": []map[string]any{
		{"name": "11111111-2222-3333-4444-555555555555", "id": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555"},
		{"name": guid, "id": full},
	}})
	f.routes[del] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

	// A full id is deleted as given.
	if _, errOut, code := f.run("role", "assignment", "delete", "--ids", full); code != 0 || f.called(del) != 1 {
		t.Fatalf("delete by full id: exit %d, %d deletes, %s", code, f.called(del), errOut)
	}
	// A bare GUID, in any case, is looked up among all assignments and deleted at its scope.
	if _, errOut, code := f.run("role", "assignment", "delete", "--ids", strings.ToUpper(guid)); code != 0 || f.called(del) != 2 {
		t.Fatalf("delete by bare GUID: exit %d, %d deletes, %s", code, f.called(del), errOut)
	}
	// An unknown GUID, or anything that is not a role assignment id, deletes nothing and
	// says what --ids takes.
	for _, bad := range []string{"00000000-0000-0000-0000-000000000000", "/subscriptions/sub-1/resourceGroups/g", "assignment-1"} {
		_, errOut, code := f.run("role", "assignment", "delete", "--ids", bad)
		if code == 0 || !strings.Contains(errOut, "--ids takes role assignment resource ids such as /subscriptions/") {
			t.Errorf("delete --ids %s: exit %d, stderr %q", bad, code, errOut)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, "DELETE ") && c != del {
			t.Errorf("deleted %s", c)
		}
	}
}
