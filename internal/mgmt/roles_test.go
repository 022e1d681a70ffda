package mgmt

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// A role assignment at a scope that does not exist is refused, as ARM refuses it, so a
// typo in --scope never leaves an assignment that waits for a resource of that name.
func TestRoleAssignmentScopeMustExist(t *testing.T) {
	m := newMatrixFixture(t)
	m.seed(t)
	body := m.assignmentBody(t)
	for _, tc := range []struct{ scope, code string }{
		{groupPath("typo"), "ResourceGroupNotFound"},
		{accountPath("grp", "acctx"), "StorageAccountNotFound"},
		{identityPath("grp", "nobody"), "ResourceNotFound"},
	} {
		res := m.call(t, "PUT", authzPath(tc.scope, "roleAssignments/"+uuid.NewString()), body)
		armError(t, res, http.StatusNotFound, tc.code)
	}
	res := m.call(t, "PUT", authzPath(accountPath("grp", "acct")+"/blobServices/default/containers/later", "roleAssignments/"+uuid.NewString()), body)
	expect(t, res, http.StatusCreated)
}

// The management API applies the one role assignment validator: a condition of an old
// language version, or a version with no condition, is refused and nothing is stored.
func TestRoleAssignmentConditionRules(t *testing.T) {
	m := newMatrixFixture(t)
	m.seed(t)
	p := str(m.call(t, "GET", identityPath("grp", "ida"), "").object(t), "properties", "principalId")
	condition := `(!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'}))`
	for _, tc := range []struct{ name, extra, code string }{
		{"version 1.0", `,"condition":"` + condition + `","conditionVersion":"1.0"`, "InvalidConditionVersion"},
		{"version without condition", `,"conditionVersion":"2.0"`, "InvalidCondition"},
	} {
		id := uuid.NewString()
		path := authzPath(groupPath("grp"), "roleAssignments/"+id)
		body := `{"properties":{"roleDefinitionId":"` + readerRole + `","principalId":"` + p + `"` + tc.extra + `}}`
		armError(t, m.call(t, "PUT", path, body), http.StatusBadRequest, tc.code)
		armError(t, m.call(t, "GET", path, ""), http.StatusNotFound, "RoleAssignmentNotFound")
	}
	blobReader := "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	body := `{"properties":{"roleDefinitionId":"` + blobReader + `","principalId":"` + p + `","condition":"` + condition + `"}}`
	res := m.call(t, "PUT", authzPath(groupPath("grp"), "roleAssignments/"+uuid.NewString()), body)
	expect(t, res, http.StatusCreated)
	if v := str(res.object(t), "properties", "conditionVersion"); v != "2.0" {
		t.Errorf("conditionVersion = %q, want 2.0", v)
	}
}
