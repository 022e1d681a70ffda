package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const (
	roleDefs    = "GET /subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions"
	readerGUID  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contribGUID = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	principal1  = "11111111-1111-1111-1111-111111111111"
	identity1   = "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	account1    = "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/acct1"
)

func role(guid, name string, dataActions ...string) map[string]any {
	return map[string]any{"id": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/" + guid, "name": guid,
		"properties": map[string]any{"roleName": name, "permissions": []any{map[string]any{"actions": []any{"*/read"}, "dataActions": toAny(dataActions)}}}}
}

func toAny(ss []string) []any {
	out := []any{}
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// roleAPI is a fake API with two roles (filtered by roleName as the server does), one
// identity and one storage account.
func roleAPI(t *testing.T) *fakeAPI {
	f := newFakeAPI(t)
	roles := []map[string]any{
		role(readerGUID, "Storage Blob Data Reader", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"),
		role(contribGUID, "Storage Blob Data Contributor", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"),
	}
	f.routes[roleDefs] = func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]any{}
		for _, d := range roles {
			name := d["properties"].(map[string]any)["roleName"].(string)
			if flt := r.URL.Query().Get("$filter"); flt == "" || strings.EqualFold(flt, "roleName eq '"+name+"'") {
				out = append(out, d)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": out})
	}
	for _, d := range roles {
		f.json("GET /subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/"+d["name"].(string), http.StatusOK, d)
	}
	f.json("GET "+identity1, http.StatusOK, map[string]any{"id": identity1, "name": "id1", "properties": map[string]any{"principalId": principal1, "clientId": "c1"}})
	return f
}

func TestRoleAssignmentCreateCatchesMistakes(t *testing.T) {
	f := roleAPI(t)
	put := "PUT " + account1 + "/providers/Microsoft.Authorization/roleAssignments/"
	var body map[string]any
	putCalls := 0
	handler := func(w http.ResponseWriter, r *http.Request) {
		putCalls++
		_ = json.NewDecoder(r.Body).Decode(&body)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": r.URL.Path, "name": "x", "properties": body["properties"]})
	}
	f.routes[put] = handler // the assignment's name is a fresh GUID

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no scope", []string{"--assignee", "11111111-2222-3333-4444-555555555555", "--role", "Storage Blob Data Reader"}, "give --scope"},
		{"bare name as scope", []string{"--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Reader", "--scope", "acct1"}, `--scope "acct1" is not a resource id`},
		{"malformed scope", []string{"--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Reader", "--scope", "/subscriptions/sub-1/resourceGroups/demo/storageAccounts/acct1"}, "is not a resource id (it must start"},
		{"scope with a query", []string{"--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Reader", "--scope", "/subscriptions/sub-1/resourceGroups/de mo%zz"}, "holds characters no resource id has"},
		{"name without -g", []string{"--assignee", "id1", "--role", "Storage Blob Data Reader", "--scope", account1}, "give its resource group with -g"},
		{"unknown name", []string{"--assignee", "id9", "-g", "demo", "--role", "Storage Blob Data Reader", "--scope", account1}, `no identity or app named "id9"`},
		{"misspelled role", []string{"--assignee", "id1", "-g", "demo", "--role", "Storage Blob Data Reeder", "--scope", account1}, `did you mean "Storage Blob Data Reader"?`},
	}
	for _, c := range cases {
		_, errOut, code := f.run(append([]string{"role", "assignment", "create"}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "parse") && !strings.Contains(c.want, "parse") {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.name, code, errOut, c.want)
		}
	}
	if putCalls != 0 {
		t.Fatalf("a mistaken create made %d PUTs", putCalls)
	}

	// An identity's name with -g is resolved to its principal id.
	out, errOut, code := f.run("role", "assignment", "create", "--assignee", "id1", "-g", "demo", "--role", "storage blob data reader", "--scope", account1, "--query", "principalId", "-o", "tsv")
	if code != 0 || putCalls != 1 || strings.TrimSpace(out) != principal1 {
		t.Fatalf("create by name: exit %d, %d PUTs, out %q, %s", code, putCalls, out, errOut)
	}
}

func TestRoleCheckExitsNonZeroOnDenialAndFlagsUnknownActions(t *testing.T) {
	f := roleAPI(t)
	var allowed bool
	f.routes["POST /providers/Lanyard.Authorization/checkAccess"] = func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"allowed": allowed, "explanation": "because"})
	}
	check := func(action string) (string, string, int) {
		return f.run("role", "check", "--assignee", "id1", "-g", "demo", "--action", action, "--scope", account1, "-o", "table")
	}
	allowed = true
	out, errOut, code := check("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")
	if code != 0 || out != "because\n" || errOut != "" {
		t.Fatalf("allowed: exit %d, %q, %q", code, out, errOut)
	}
	allowed = false
	out, errOut, code = check("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")
	if code != 1 || out != "because\n" || strings.Contains(errOut, "WARNING") {
		t.Fatalf("denied: exit %d, %q, %q", code, out, errOut)
	}
	_, errOut, code = check("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/raed")
	if code != 1 || !strings.Contains(errOut, "though a wildcard covers it") || !strings.Contains(errOut, `did you mean "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"?`) {
		t.Fatalf("misspelled action under a wildcard: exit %d, %q", code, errOut)
	}
	_, errOut, code = check("Microsoft.Storage/storageAcounts/blobServices/containers/blobs/read")
	if code != 1 || !strings.Contains(errOut, "WARNING: no role mentions the action") || !strings.Contains(errOut, `did you mean "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"?`) {
		t.Fatalf("misspelled action: exit %d, %q", code, errOut)
	}
}

func TestTokenGetExplainsResourceURIs(t *testing.T) {
	f := newFakeAPI(t)
	_, errOut, code := f.run("token", "get", "-g", "demo", "-n", "app1", "--resource", "storage")
	if code != 1 || !strings.Contains(errOut, "is not a URI") || !strings.Contains(errOut, "did you mean --resource https://storage.azure.com/?") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls were made: %v", f.calls)
	}
}

func TestDeletesSayWhatWasRemoved(t *testing.T) {
	f := newFakeAPI(t)
	f.routes["DELETE "+identity1] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	f.routes["DELETE /subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2"] = func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}
	_, errOut, code := f.run("identity", "delete", "-g", "demo", "-n", "id1")
	if code != 0 || errOut != "Deleted identity "+identity1+"\n" {
		t.Fatalf("delete: exit %d, %q", code, errOut)
	}
	_, errOut, code = f.run("identity", "delete", "-g", "demo", "-n", "id2")
	if code != 0 || !strings.HasPrefix(errOut, "Nothing to delete: no identity ") {
		t.Fatalf("delete of nothing: exit %d, %q", code, errOut)
	}
}

// --role alone matches every principal's assignments: the command asks first, deletes
// nothing without a yes, and prints what it deleted.
func TestRoleAssignmentDeleteByRoleAsks(t *testing.T) {
	f := roleAPI(t)
	a := func(n string) map[string]any {
		return map[string]any{"id": account1 + "/providers/Microsoft.Authorization/roleAssignments/" + n, "name": n,
			"properties": map[string]any{"principalId": principal1, "roleDefinitionId": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID, "scope": account1}}
	}
	f.json("GET /providers/Microsoft.Authorization/roleAssignments", http.StatusOK, map[string]any{"value": []map[string]any{a("a1"), a("a2")}})
	deletes := 0
	for _, n := range []string{"a1", "a2"} {
		f.routes["DELETE "+account1+"/providers/Microsoft.Authorization/roleAssignments/"+n] = func(w http.ResponseWriter, _ *http.Request) { deletes++ }
	}
	_, errOut, code := f.runWithInput("", "role", "assignment", "delete", "--role", "Storage Blob Data Reader")
	if code != 1 || deletes != 0 || !strings.Contains(errOut, "Delete 2 role assignments") || !strings.Contains(errOut, "not confirmed") {
		t.Fatalf("no answer: exit %d, %d deletes, %q", code, deletes, errOut)
	}
	_, _, code = f.runWithInput("n\n", "role", "assignment", "delete", "--role", "Storage Blob Data Reader")
	if code != 1 || deletes != 0 {
		t.Fatalf("answered no: exit %d, %d deletes", code, deletes)
	}
	out, errOut, code := f.runWithInput("y\n", "role", "assignment", "delete", "--role", "Storage Blob Data Reader", "--query", "[].name", "-o", "tsv")
	if code != 0 || deletes != 2 || out != "a1\na2\n" || strings.Count(errOut, "Deleted role assignment") != 2 {
		t.Fatalf("answered yes: exit %d, %d deletes, %q, %q", code, deletes, out, errOut)
	}
	_, _, code = f.run("role", "assignment", "delete", "--role", "Storage Blob Data Reader", "--yes")
	if code != 0 || deletes != 4 {
		t.Fatalf("--yes: exit %d, %d deletes", code, deletes)
	}
}
