package mgmt

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The escalations found against the management plane, tried over raw HTTP as a principal
// holding roles only in its own corner would.
func TestEscalationsAreRefused(t *testing.T) {
	m := newMatrixFixture(t)
	m.seed(t)
	sub := "/subscriptions/" + subID
	const (
		contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
		uaa         = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
		miOperator  = "f1a07417-d97a-45cb-824c-7a7467783830"
	)
	attacker := m.callerWithRoles(t, map[string]string{groupPath("grp"): contributor})
	foreign := identityPath("grp2", "ida")
	bind := `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + foreign + `":{}}}}`

	t.Run("binding another group's identity", func(t *testing.T) {
		res := m.send(t, permissionCase{method: "PUT", path: appPath("grp", "evil"), body: bind}, attacker)
		msg := armError(t, res, http.StatusForbidden, "LinkedAuthorizationFailed")
		if !strings.Contains(msg, assignIdentityAction) || !strings.Contains(msg, foreign) {
			t.Errorf("message does not name the action and the identity: %s", msg)
		}
		if res := m.call(t, "GET", appPath("grp", "evil"), ""); res.status != http.StatusNotFound {
			t.Errorf("the refused app exists: %d", res.status)
		}
		res = m.send(t, permissionCase{method: "PATCH", path: appPath("grp", "web"), body: bind}, attacker)
		armError(t, res, http.StatusForbidden, "LinkedAuthorizationFailed")
		if body := string(m.call(t, "GET", appPath("grp", "web"), "").body); strings.Contains(strings.ToLower(body), strings.ToLower(foreign)) {
			t.Errorf("the refused patch bound the identity: %s", body)
		}
		// Its own group's identity binds; with Managed Identity Operator on the other
		// group's identity, so does that one.
		own := `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + identityPath("grp", "ida") + `":{}}}}`
		if res := m.send(t, permissionCase{method: "PUT", path: appPath("grp", "web"), body: own}, attacker); res.status != http.StatusOK {
			t.Errorf("binding its own group's identity: %d %s", res.status, res.body)
		}
		operator := m.callerWithRoles(t, map[string]string{groupPath("grp"): contributor, foreign: miOperator})
		if res := m.send(t, permissionCase{method: "PUT", path: appPath("grp", "web"), body: bind}, operator); res.status != http.StatusOK {
			t.Errorf("binding as Managed Identity Operator of the identity: %d %s", res.status, res.body)
		}
	})

	t.Run("rewriting a role defined elsewhere", func(t *testing.T) {
		acct := accountPath("grp", "acct")
		writer := m.caller(t, grant{"Microsoft.Authorization/roleDefinitions/write", acct}, grant{"Microsoft.Authorization/roleDefinitions/delete", acct})
		everything := `{"properties":{"roleName":"Sub","permissions":[{"actions":["*"]}],"assignableScopes":["` + acct + `"]}}`
		armError(t, m.send(t, permissionCase{method: "PUT", path: authzPath(acct, "roleDefinitions/"+subRole), body: everything}, writer), http.StatusForbidden, "AuthorizationFailed")
		// Through a scope it is not visible at, the id is taken.
		theirs := `{"properties":{"roleName":"Target","permissions":[{"actions":["*"]}],"assignableScopes":["` + groupPath("grp2") + `"]}}`
		armError(t, m.send(t, permissionCase{method: "PUT", path: authzPath(groupPath("grp2"), "roleDefinitions/"+targetRole), body: theirs}, m.callerWithRoles(t, map[string]string{groupPath("grp2"): "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"})), http.StatusConflict, "RoleDefinitionIdConflict")
		wide := `{"properties":{"roleName":"Wide","permissions":[{"actions":["*"]}],"assignableScopes":["` + sub + `"]}}`
		armError(t, m.send(t, permissionCase{method: "PUT", path: authzPath(acct, "roleDefinitions/"+uuid.NewString()), body: wide}, writer), http.StatusForbidden, "AuthorizationFailed")
		armError(t, m.send(t, permissionCase{method: "DELETE", path: authzPath(acct, "roleDefinitions/"+subRole)}, writer), http.StatusForbidden, "AuthorizationFailed")
		role := m.call(t, "GET", authzPath(sub, "roleDefinitions/"+subRole), "")
		if role.status != http.StatusOK || strings.Contains(string(role.body), `"*"]`) {
			t.Errorf("the subscription's role changed: %d %s", role.status, role.body)
		}
		// A role of the account itself is the writer's to make.
		own := `{"properties":{"roleName":"Mine","permissions":[{"actions":["*/read"]}],"assignableScopes":["` + acct + `"]}}`
		if res := m.send(t, permissionCase{method: "PUT", path: authzPath(acct, "roleDefinitions/"+uuid.NewString()), body: own}, writer); res.status != http.StatusCreated {
			t.Errorf("a role of its own account: %d %s", res.status, res.body)
		}
	})

	t.Run("reaching an assignment through another scope", func(t *testing.T) {
		acct := accountPath("grp", "acct")
		admin := m.callerWithRoles(t, map[string]string{acct: uaa})
		path := authzPath(acct, "roleAssignments/"+fixtureGrant)
		armError(t, m.send(t, permissionCase{method: "GET", path: path}, admin), http.StatusNotFound, "RoleAssignmentNotFound")
		if res := m.send(t, permissionCase{method: "DELETE", path: path}, admin); res.status != http.StatusNoContent {
			t.Errorf("DELETE through the account: %d %s", res.status, res.body)
		}
		if res := m.call(t, "GET", authzPath(groupPath("grp"), "roleAssignments/"+fixtureGrant), ""); res.status != http.StatusOK {
			t.Errorf("the group's assignment is gone: %d %s", res.status, res.body)
		}
		// At its own scope, the group's User Access Administrator reaches it.
		owner := m.callerWithRoles(t, map[string]string{groupPath("grp"): uaa})
		if res := m.send(t, permissionCase{method: "DELETE", path: authzPath(groupPath("grp"), "roleAssignments/"+fixtureGrant)}, owner); res.status != http.StatusOK {
			t.Errorf("DELETE at its own scope: %d %s", res.status, res.body)
		}
	})

	t.Run("an assignment outliving its account", func(t *testing.T) {
		acct := accountPath("grp", "acct2")
		reader := m.callerWithRoles(t, map[string]string{acct: readerRole})
		get := permissionCase{method: "GET", path: acct}
		if res := m.send(t, get, reader); res.status != http.StatusOK {
			t.Fatalf("reader before: %d %s", res.status, res.body)
		}
		expect(t, m.call(t, "DELETE", acct, ""), http.StatusOK)
		expect(t, m.call(t, "PUT", acct, `{}`), http.StatusOK)
		armError(t, m.send(t, get, reader), http.StatusForbidden, "AuthorizationFailed")
		for _, a := range m.call(t, "GET", authzPath(acct, "roleAssignments"), "").list(t) {
			if strings.EqualFold(str(a, "properties", "scope"), acct) {
				t.Errorf("the re-created account has the old account's assignment: %v", a)
			}
		}
	})
}

// callerWithRoles makes a principal holding the given built-in roles (scope -> role id).
func (m *matrixFixture) callerWithRoles(t *testing.T, roles map[string]string) map[string]string {
	t.Helper()
	id := m.principal(t)
	for scope, role := range roles {
		body := `{"properties":{"roleDefinitionId":"` + role + `","principalId":"` + id.PrincipalID + `"}}`
		res := m.call(t, "PUT", authzPath(scope, "roleAssignments/"+uuid.NewString()), body)
		if res.status != http.StatusCreated {
			t.Fatalf("assign %s at %s: %d %s", role, scope, res.status, res.body)
		}
	}
	return m.headerFor(t, id)
}
