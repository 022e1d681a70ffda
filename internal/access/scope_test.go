package access

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// A custom role is reached only at, above or below its assignable scopes, and changing or
// deleting it asks for the permission at every assignable scope it has and will have.
func TestRoleDefinitionsAreScoped(t *testing.T) {
	f := newFixture(t)
	subScope := "/subscriptions/" + sub
	groupG := subScope + "/resourceGroups/g"
	groupH := subScope + "/resourceGroups/h"
	role := lanyard.RoleDefinition{
		ID: uuid.NewString(), Name: "Subscription Reader",
		Permissions: []lanyard.Permission{{Actions: []string{"*/read"}}}, AssignableScopes: []string{subScope},
	}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), subScope, role, allowAll); err != nil {
		t.Fatal(err)
	}
	// Visible below its scope (where it can be assigned) and at it, not from another subscription.
	if _, err := f.svc.GetRoleDefinitionAt(t.Context(), accountScope, role.ID); err != nil {
		t.Fatalf("below its assignable scope: %v", err)
	}
	groupRole := lanyard.RoleDefinition{
		ID: uuid.NewString(), Name: "Group G Reader",
		Permissions: []lanyard.Permission{{Actions: []string{"*/read"}}}, AssignableScopes: []string{groupG},
	}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupG, groupRole, allowAll); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRoleDefinitionAt(t.Context(), groupH, groupRole.ID); lanyard.CodeOf(err) != "RoleDefinitionDoesNotExist" {
		t.Fatalf("a role of group g read through group h: %v", err)
	}
	if _, err := f.svc.GetRoleDefinitionAt(t.Context(), subScope, groupRole.ID); err != nil {
		t.Fatalf("a role of group g read through its subscription: %v", err)
	}
	listed, err := f.svc.ListRoleDefinitionsAt(t.Context(), groupH, "")
	if err != nil || slices.ContainsFunc(listed, func(d lanyard.RoleDefinition) bool { return d.ID == groupRole.ID }) {
		t.Fatalf("group h lists group g's role (err %v)", err)
	}

	// Rewriting group g's role through group h: its id exists elsewhere.
	hijack := groupRole
	hijack.Permissions = []lanyard.Permission{{Actions: []string{"*"}}}
	hijack.AssignableScopes = []string{groupH}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupH, hijack, allowAll); lanyard.CodeOf(err) != "RoleDefinitionIdConflict" {
		t.Fatalf("rewrite through another scope: %v", err)
	}
	// Through its own scope, every old and new assignable scope is asked for.
	var asked []string
	may := func(action, scope string) error {
		asked = append(asked, action+" "+scope)
		if strings.EqualFold(scope, subScope) {
			return lanyard.Errorf(lanyard.KindPermissionDenied, "no").WithCode("AuthorizationFailed")
		}
		return nil
	}
	// The subscription's role rewritten through an account below it, by a caller with
	// write there but not at the subscription.
	narrowed := role
	narrowed.Permissions = []lanyard.Permission{{Actions: []string{"*"}}}
	narrowed.AssignableScopes = []string{accountScope}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), accountScope, narrowed, may); lanyard.CodeOf(err) != "AuthorizationFailed" {
		t.Fatalf("update without write at the old scope: %v", err)
	}
	if !slices.Contains(asked, "Microsoft.Authorization/roleDefinitions/write "+subScope) {
		t.Fatalf("old assignable scope not asked: %q", asked)
	}
	if d, _ := f.svc.GetRoleDefinition(t.Context(), role.ID); len(d.AssignableScopes) != 1 || d.AssignableScopes[0] != subScope {
		t.Fatalf("refused update changed the role: %+v", d)
	}
	asked = nil
	widened := groupRole
	widened.AssignableScopes = []string{groupG, subScope}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupG, widened, may); lanyard.CodeOf(err) != "AuthorizationFailed" {
		t.Fatalf("widening to a scope without write there: %v", err)
	}
	// A new role needs write at each of its scopes too.
	fresh := lanyard.RoleDefinition{ID: uuid.NewString(), Name: "New", Permissions: groupRole.Permissions, AssignableScopes: []string{groupG, subScope}}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupG, fresh, may); lanyard.CodeOf(err) != "AuthorizationFailed" {
		t.Fatalf("create assignable where the caller may not write: %v", err)
	}
	if _, err := f.svc.GetRoleDefinition(t.Context(), fresh.ID); !lanyard.IsNotFound(err) {
		t.Fatalf("refused creation stored the role: %v", err)
	}
	// A role's scopes must reach the scope it is written through.
	elsewhere := lanyard.RoleDefinition{ID: uuid.NewString(), Name: "Elsewhere", Permissions: groupRole.Permissions, AssignableScopes: []string{groupH}}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupG, elsewhere, allowAll); lanyard.CodeOf(err) != "InvalidAssignableScopes" {
		t.Fatalf("create through an unrelated scope: %v", err)
	}
	// Assignable scopes are scopes of this subscription.
	foreign := lanyard.RoleDefinition{ID: uuid.NewString(), Name: "Foreign", Permissions: groupRole.Permissions, AssignableScopes: []string{"/subscriptions/" + uuid.NewString()}}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), "/", foreign, allowAll); lanyard.CodeOf(err) != "SubscriptionNotFound" {
		t.Fatalf("assignable in another subscription: %v", err)
	}

	// Delete: not through another scope, and only with delete at every assignable scope.
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), groupH, groupRole.ID, allowAll); !lanyard.IsNotFound(err) {
		t.Fatalf("delete through another scope: %v", err)
	}
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), accountScope, role.ID, may); lanyard.CodeOf(err) != "AuthorizationFailed" {
		t.Fatalf("delete without delete at its scope: %v", err)
	}
	if _, err := f.svc.GetRoleDefinition(t.Context(), role.ID); err != nil {
		t.Fatalf("refused delete removed the role: %v", err)
	}
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), groupG, groupRole.ID, allowAll); err != nil {
		t.Fatal(err)
	}
}

// An assignment is reached only through its own scope.
func TestRoleAssignmentsAtTheirScope(t *testing.T) {
	f := newFixture(t)
	p := f.principal()
	subScope := "/subscriptions/" + sub
	a := f.assign(t, p, blobDataReader, subScope)
	for _, scope := range []string{accountScope, subScope + "/resourceGroups/g", "/"} {
		if _, err := f.svc.GetRoleAssignmentAt(t.Context(), scope, a.ID); lanyard.CodeOf(err) != "RoleAssignmentNotFound" {
			t.Fatalf("read through %s: %v", scope, err)
		}
		if _, err := f.svc.DeleteRoleAssignment(t.Context(), scope, a.ID); lanyard.CodeOf(err) != "RoleAssignmentNotFound" {
			t.Fatalf("delete through %s: %v", scope, err)
		}
	}
	if !f.svc.Decide(p, blobRead, true, blobInContainer1).Allowed {
		t.Fatal("the assignment stopped applying")
	}
	if _, err := f.svc.GetRoleAssignmentAt(t.Context(), strings.ToUpper(subScope)+"/", strings.ToUpper(a.ID)); err != nil {
		t.Fatalf("read through its own scope: %v", err)
	}
	if _, err := f.svc.DeleteRoleAssignment(t.Context(), subScope, a.ID); err != nil {
		t.Fatal(err)
	}
}
