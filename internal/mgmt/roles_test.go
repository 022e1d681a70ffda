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
