package mgmt

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func credentialPath(g, identity, name string) string {
	return identityPath(g, identity) + "/federatedIdentityCredentials/" + name
}

func newFederationFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.h.Federation = &federation.Credentials{Store: f.st, Identities: f.dir}
	f.mustGroup(t, "rg", "westeurope")
	f.mustIdentity(t, "rg", "id1")
	return f
}

func TestFederatedCredentials(t *testing.T) {
	f := newFederationFixture(t)
	id := f.mustIdentity(t, "rg", "id1")
	body := `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:org/repo:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"],"description":"deploys"}}`

	res := f.call(t, "PUT", credentialPath("rg", "id1", "GitHub-Main"), body)
	expect(t, res, http.StatusCreated)
	c := res.object(t)
	wantID := str(id, "id") + "/federatedIdentityCredentials/GitHub-Main"
	if str(c, "id") != wantID || str(c, "name") != "GitHub-Main" || str(c, "type") != lanyard.TypeFederatedCredential ||
		str(c, "properties", "issuer") != "https://token.actions.githubusercontent.com" ||
		str(c, "properties", "subject") != "repo:org/repo:ref:refs/heads/main" || str(c, "properties", "description") != "deploys" {
		t.Errorf("PUT answered %s", res.body)
	}
	if aud, _ := get(c, "properties", "audiences").([]any); len(aud) != 1 || aud[0] != lanyard.DefaultFederatedAudience {
		t.Errorf("audiences = %v", get(c, "properties", "audiences"))
	}

	// PUT again (names match case-insensitively) updates; no audiences means the default.
	res = f.call(t, "PUT", credentialPath("RG", "ID1", "github-main"), `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:org/repo:environment:prod"}}`)
	expect(t, res, http.StatusOK)
	if c := res.object(t); str(c, "name") != "GitHub-Main" || str(c, "properties", "subject") != "repo:org/repo:environment:prod" {
		t.Errorf("update answered %s", res.body)
	}

	res = f.call(t, "GET", credentialPath("rg", "id1", "GITHUB-MAIN"), "")
	expect(t, res, http.StatusOK)
	if str(res.object(t), "properties", "subject") != "repo:org/repo:environment:prod" {
		t.Errorf("GET answered %s", res.body)
	}

	res = f.call(t, "PUT", credentialPath("rg", "id1", "aks"), `{"properties":{"issuer":"https://oidc.prod-aks.azure.com/0f6c/","subject":"system:serviceaccount:ns:sa"}}`)
	expect(t, res, http.StatusCreated)
	res = f.call(t, "GET", identityPath("rg", "id1")+"/federatedIdentityCredentials", "")
	expect(t, res, http.StatusOK)
	list := res.list(t)
	if len(list) != 2 || str(list[0], "name") != "aks" || str(list[1], "name") != "GitHub-Main" {
		t.Errorf("list = %s", res.body)
	}

	// Refusals.
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "bad"), `{"properties":{"issuer":"http://insecure.example","subject":"s"}}`), 400, "InvalidIssuer")
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "x"), body), 400, "InvalidFederatedIdentityCredentialName")
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "two-aud"), `{"properties":{"issuer":"https://i.example","subject":"s","audiences":["a","b"]}}`), 400, "InvalidAudience")
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "no-subject"), `{"properties":{"issuer":"https://i.example"}}`), 400, "InvalidSubject")
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "dup-pair"), `{"properties":{"issuer":"https://oidc.prod-aks.azure.com/0f6c/","subject":"system:serviceaccount:ns:sa"}}`), 409, "FederatedIdentityCredentialConflict")
	armError(t, f.call(t, "PUT", credentialPath("rg", "nope", "cred"), body), 404, "ResourceNotFound")
	armError(t, f.call(t, "GET", credentialPath("rg", "id1", "missing"), ""), 404, "ResourceNotFound")
	armError(t, f.call(t, "GET", identityPath("rg", "nope")+"/federatedIdentityCredentials", ""), 404, "ResourceNotFound")
	armError(t, f.call(t, "PATCH", credentialPath("rg", "id1", "aks"), `{}`), 405, "MethodNotAllowed")

	// At most 20.
	for i := 2; i < lanyard.MaxFederatedCredentialsPerIdentity; i++ {
		expect(t, f.call(t, "PUT", credentialPath("rg", "id1", fmt.Sprintf("fill-%02d", i)), fmt.Sprintf(`{"properties":{"issuer":"https://i.example","subject":"s%d"}}`, i)), http.StatusCreated)
	}
	armError(t, f.call(t, "PUT", credentialPath("rg", "id1", "one-more"), `{"properties":{"issuer":"https://i.example","subject":"more"}}`), 400, lanyard.CodeFederatedCredentialLimit)

	// Delete, then again: ARM's 200 then 204.
	expect(t, f.call(t, "DELETE", credentialPath("rg", "id1", "aks"), ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", credentialPath("rg", "id1", "aks"), ""), http.StatusNoContent)
	armError(t, f.call(t, "GET", credentialPath("rg", "id1", "aks"), ""), 404, "ResourceNotFound")

	// Deleting the identity takes its credentials; a new identity of the same name has none.
	expect(t, f.call(t, "DELETE", identityPath("rg", "id1"), ""), http.StatusOK)
	f.mustIdentity(t, "rg", "id1")
	res = f.call(t, "GET", identityPath("rg", "id1")+"/federatedIdentityCredentials", "")
	expect(t, res, http.StatusOK)
	if l := res.list(t); len(l) != 0 {
		t.Errorf("a recreated identity inherited %d credentials", len(l))
	}
}

// Callers other than the admin need the federatedIdentityCredentials actions Azure defines.
func TestFederatedCredentialPermissions(t *testing.T) {
	f := newFederationFixture(t)
	routes := f.h.table()
	cases := []struct {
		method, path, action, scope string
	}{
		{"PUT", credentialPath("rg", "id1", "c1"), "write", credentialPath("rg", "id1", "c1")},
		{"GET", credentialPath("rg", "id1", "c1"), "read", credentialPath("rg", "id1", "c1")},
		{"DELETE", credentialPath("rg", "id1", "c1"), "delete", credentialPath("rg", "id1", "c1")},
		{"GET", identityPath("rg", "id1") + "/federatedIdentityCredentials", "read", identityPath("rg", "id1")},
	}
	for _, tc := range cases {
		segs := strings.Split(strings.Trim(tc.path, "/"), "/")
		found := false
		for _, rt := range routes {
			if _, ok := rt.match(segs); !ok {
				continue
			}
			found = true
			action, scope := rt.permission(tc.method, segs)
			if action != lanyard.TypeFederatedCredential+"/"+tc.action || scope != tc.scope {
				t.Errorf("%s %s: %s at %s", tc.method, tc.path, action, scope)
			}
			break
		}
		if !found {
			t.Errorf("%s: no route", tc.path)
		}
	}
}
