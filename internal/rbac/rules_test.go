package rbac

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	testSub   = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
	testGroup = testSub + "/resourceGroups/rg1"
)

func validCustomRole() lanyard.RoleDefinition {
	return lanyard.RoleDefinition{
		ID:   "cccccccc-1111-2222-3333-444444444444",
		Name: "Blob tag reader",
		Permissions: []lanyard.Permission{{
			Actions:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "*/read"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read"},
		}},
		AssignableScopes: []string{testSub, testGroup},
	}
}

func TestValidateCustomRole(t *testing.T) {
	if err := validateCustomRoleShape(validCustomRole()); err != nil {
		t.Fatalf("valid role rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*lanyard.RoleDefinition)
		want   string
	}{
		{"built-in", func(d *lanyard.RoleDefinition) { d.BuiltIn = true }, "Built-in roles"},
		{"id", func(d *lanyard.RoleDefinition) { d.ID = "not-a-guid" }, "not a GUID"},
		{"empty name", func(d *lanyard.RoleDefinition) { d.Name = "  " }, "must not be empty"},
		{"long name", func(d *lanyard.RoleDefinition) { d.Name = strings.Repeat("n", MaxRoleNameLength+1) }, "longer than 512"},
		{"long description", func(d *lanyard.RoleDefinition) { d.Description = strings.Repeat("d", MaxRoleDescriptionLength+1) }, "longer than 2048"},
		{"no permissions", func(d *lanyard.RoleDefinition) { d.Permissions = nil }, "no permissions"},
		{"grants nothing", func(d *lanyard.RoleDefinition) {
			d.Permissions = []lanyard.Permission{{NotActions: []string{"Microsoft.Storage/*"}}}
		}, "grants nothing"},
		{"two wildcards", func(d *lanyard.RoleDefinition) {
			d.Permissions[0].Actions = []string{"Microsoft.Storage/*/blobServices/*"}
		}, "more than one wildcard"},
		{"empty action", func(d *lanyard.RoleDefinition) { d.Permissions[0].NotActions = []string{""} }, "empty string"},
		{"space", func(d *lanyard.RoleDefinition) { d.Permissions[0].Actions = []string{"Microsoft.Storage/ read"} }, "space"},
		{"empty segment", func(d *lanyard.RoleDefinition) { d.Permissions[0].Actions = []string{"Microsoft.Storage//read"} }, "empty segment"},
		{"no provider", func(d *lanyard.RoleDefinition) { d.Permissions[0].Actions = []string{"storageAccounts/read"} }, "does not look like an action"},
		{"data star", func(d *lanyard.RoleDefinition) { d.Permissions[0].DataActions = []string{"*"} }, "data actions must name a resource provider"},
		{"data any provider", func(d *lanyard.RoleDefinition) { d.Permissions[0].DataActions = []string{"*/read"} }, "does not name a resource provider"},
		{"not data star", func(d *lanyard.RoleDefinition) { d.Permissions[0].NotDataActions = []string{"*"} }, "data actions must name"},
		{"data no provider", func(d *lanyard.RoleDefinition) { d.Permissions[0].DataActions = []string{"blobs/read"} }, "does not look like a data action"},
		{"condition", func(d *lanyard.RoleDefinition) { d.Permissions[0].Condition = "x" }, "conditions are allowed on role assignments"},
		{"no scopes", func(d *lanyard.RoleDefinition) { d.AssignableScopes = nil }, "at least one assignable scope"},
		{"root scope", func(d *lanyard.RoleDefinition) { d.AssignableScopes = []string{"/"} }, "root scope"},
		{"wildcard scope", func(d *lanyard.RoleDefinition) { d.AssignableScopes = []string{testSub + "/resourceGroups/*"} }, "wildcard"},
		{"bad scope", func(d *lanyard.RoleDefinition) { d.AssignableScopes = []string{"/nowhere/x"} }, "not a valid scope"},
		{"too many scopes", func(d *lanyard.RoleDefinition) {
			d.AssignableScopes = make([]string, MaxAssignableScopes+1)
			for i := range d.AssignableScopes {
				d.AssignableScopes[i] = testSub
			}
		}, "more than 2000"},
		{"two management groups", func(d *lanyard.RoleDefinition) {
			d.Permissions[0].DataActions = nil
			d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a", "/providers/Microsoft.Management/managementGroups/b"}
		}, "at most one management group"},
		{"data at management group", func(d *lanyard.RoleDefinition) {
			d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a"}
		}, "data actions cannot be assignable at management-group scope"},
	} {
		d := validCustomRole()
		tc.change(&d)
		err := validateCustomRoleShape(d)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if lanyard.KindOf(err) != lanyard.KindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (kind %v), want lanyard.KindInvalid containing %q", tc.name, err, lanyard.KindOf(err), tc.want)
		}
	}
	// One management group without data actions is fine.
	d := validCustomRole()
	d.Permissions[0].DataActions = nil
	d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a"}
	if err := validateCustomRoleShape(d); err != nil {
		t.Errorf("management-group role rejected: %v", err)
	}
}

func validAssignment() lanyard.RoleAssignment {
	return lanyard.RoleAssignment{
		ID:               "aaaaaaaa-1111-2222-3333-444444444444",
		Scope:            testGroup + "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1",
		RoleDefinitionID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		PrincipalID:      "11111111-2222-3333-4444-555555555555",
		PrincipalType:    lanyard.PrincipalServicePrincipal,
	}
}

func TestValidateRoleAssignment(t *testing.T) {
	if err := ValidateRoleAssignment(validAssignment()); err != nil {
		t.Fatalf("valid assignment rejected: %v", err)
	}
	for _, scope := range []string{"/", testSub, testGroup, "/providers/Microsoft.Management/managementGroups/mg1"} {
		a := validAssignment()
		a.Scope = scope
		if err := ValidateRoleAssignment(a); err != nil {
			t.Errorf("scope %q rejected: %v", scope, err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*lanyard.RoleAssignment)
		kind   lanyard.Kind
	}{
		{"id", func(a *lanyard.RoleAssignment) { a.ID = "x" }, lanyard.KindInvalid},
		{"role id", func(a *lanyard.RoleAssignment) {
			a.RoleDefinitionID = "/providers/Microsoft.Authorization/roleDefinitions/x"
		}, lanyard.KindInvalid},
		{"principal", func(a *lanyard.RoleAssignment) { a.PrincipalID = "" }, lanyard.KindInvalid},
		{"principal type", func(a *lanyard.RoleAssignment) { a.PrincipalType = "Robot" }, lanyard.KindInvalid},
		{"scope", func(a *lanyard.RoleAssignment) { a.Scope = "" }, lanyard.KindInvalid},
		{"wildcard scope", func(a *lanyard.RoleAssignment) { a.Scope = testSub + "/resourceGroups/*" }, lanyard.KindInvalid},
		{"description", func(a *lanyard.RoleAssignment) { a.Description = strings.Repeat("d", MaxRoleAssignmentDescription+1) }, lanyard.KindInvalid},
		{"condition size", func(a *lanyard.RoleAssignment) { a.Condition = strings.Repeat("c", MaxRoleConditionLength+1) }, lanyard.KindTooLarge},
		{"version without condition", func(a *lanyard.RoleAssignment) { a.ConditionVersion = "2.0" }, lanyard.KindInvalid},
		{"old version", func(a *lanyard.RoleAssignment) { a.Condition, a.ConditionVersion = "x", "1.0" }, lanyard.KindInvalid},
	} {
		a := validAssignment()
		tc.change(&a)
		if err := ValidateRoleAssignment(a); err == nil || lanyard.KindOf(err) != tc.kind {
			t.Errorf("%s: err = %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}
