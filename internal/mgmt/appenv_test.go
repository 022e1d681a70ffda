package mgmt

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// TestAppEnvironmentGuides: the environment names the app's default identity and the one
// storage account its identities hold a role on, so that unmodified SDK code needs no
// client id or URL of its own.
func TestAppEnvironmentGuides(t *testing.T) {
	m := newMatrixFixture(t)
	m.h.Env.BlobBaseURL = "https://127.0.0.1:10000"
	m.mustGroup(t, "demo", "local")
	id1 := m.mustIdentity(t, "demo", "id1")
	m.mustIdentity(t, "demo", "id2")
	env := func(app string) map[string]string {
		t.Helper()
		res := m.call(t, "POST", appPath("demo", app)+"/listIdentityEnvironment", "")
		expect(t, res, http.StatusOK)
		var v map[string]string
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	assign := func(principal, scope string) {
		t.Helper()
		expect(t, m.call(t, "PUT", authzPath(scope, "roleAssignments/"+uuid.NewString()), `{"properties":{"roleDefinitionId":"`+readerRole+`","principalId":"`+principal+`"}}`), http.StatusCreated)
	}

	// The default identity, named by resource id, becomes AZURE_CLIENT_ID.
	body := `{"tags":{"` + DefaultIdentityTag + `":"` + identityPath("demo", "id1") + `"},"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"id1":{},"id2":{}}}}`
	expect(t, m.call(t, "PUT", appPath("demo", "web"), body), http.StatusOK)
	got := env("web")
	if want := str(id1, "properties", "clientId"); got["AZURE_CLIENT_ID"] != want || want == "" {
		t.Errorf("AZURE_CLIENT_ID = %q, want id1's client id %q", got["AZURE_CLIENT_ID"], want)
	}
	if _, ok := got["AZURE_STORAGE_ACCOUNT_URL"]; ok {
		t.Errorf("AZURE_STORAGE_ACCOUNT_URL set with no role held: %v", got)
	}

	// Without the tag, no AZURE_CLIENT_ID: the SDKs then ask for the system-assigned identity.
	expect(t, m.call(t, "PUT", appPath("demo", "plain"), `{"identity":{"type":"SystemAssigned"}}`), http.StatusOK)
	if v, ok := env("plain")["AZURE_CLIENT_ID"]; ok {
		t.Errorf("AZURE_CLIENT_ID = %q for an app without a default identity", v)
	}

	// A default identity that is not the app's is an error that says so, not a silent
	// fallback to another identity.
	expect(t, m.call(t, "PATCH", appPath("demo", "web"), `{"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"id2":{}}}}`), http.StatusOK)
	armError(t, m.call(t, "POST", appPath("demo", "web")+"/listIdentityEnvironment", ""), http.StatusBadRequest, "InvalidDefaultIdentity")
	expect(t, m.call(t, "PATCH", appPath("demo", "web"), `{"tags":{}}`), http.StatusOK)

	// One account reachable through a role (here at the group, above it): its endpoint.
	for _, a := range []string{"acct1"} {
		expect(t, m.call(t, "PUT", groupPath("demo")+"/providers/Microsoft.Storage/storageAccounts/"+a, `{}`), http.StatusOK)
	}
	web := m.call(t, "GET", appPath("demo", "web"), "").object(t)
	system := str(web, "identity", "principalId")
	assign(system, groupPath("demo"))
	got = env("web")
	if got["AZURE_STORAGE_ACCOUNT_URL"] != "https://127.0.0.1:10000/acct1/" || got["AZURE_STORAGE_ACCOUNT"] != "acct1" {
		t.Errorf("account variables = %q %q, want acct1's", got["AZURE_STORAGE_ACCOUNT"], got["AZURE_STORAGE_ACCOUNT_URL"])
	}
	// A second account in that scope makes it ambiguous: neither is named.
	expect(t, m.call(t, "PUT", groupPath("demo")+"/providers/Microsoft.Storage/storageAccounts/acct2", `{}`), http.StatusOK)
	if v, ok := env("web")["AZURE_STORAGE_ACCOUNT_URL"]; ok {
		t.Errorf("AZURE_STORAGE_ACCOUNT_URL = %q with two accounts in reach", v)
	}
	// A role below an account (a container) reaches that account only.
	id2 := str(m.call(t, "GET", identityPath("demo", "id2"), "").object(t), "properties", "principalId")
	expect(t, m.call(t, "PUT", appPath("demo", "narrow"), `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"id2":{}}}}`), http.StatusOK)
	assign(id2, groupPath("demo")+"/providers/Microsoft.Storage/storageAccounts/acct2/blobServices/default/containers/uploads")
	if got := env("narrow"); got["AZURE_STORAGE_ACCOUNT"] != "acct2" {
		t.Errorf("AZURE_STORAGE_ACCOUNT = %q, want acct2 (a role on one of its containers)", got["AZURE_STORAGE_ACCOUNT"])
	}
}
