package lanyard

import (
	"strings"
	"testing"
)

const (
	testSub   = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
	testGroup = testSub + "/resourceGroups/rg1"
)

func validCustomRole() RoleDefinition {
	return RoleDefinition{
		ID:   "cccccccc-1111-2222-3333-444444444444",
		Name: "Blob tag reader",
		Permissions: []Permission{{
			Actions:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "*/read"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read"},
		}},
		AssignableScopes: []string{testSub, testGroup},
	}
}

func TestValidateCustomRole(t *testing.T) {
	if err := ValidateCustomRole(validCustomRole()); err != nil {
		t.Fatalf("valid role rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*RoleDefinition)
		want   string
	}{
		{"built-in", func(d *RoleDefinition) { d.BuiltIn = true }, "Built-in roles"},
		{"id", func(d *RoleDefinition) { d.ID = "not-a-guid" }, "not a GUID"},
		{"empty name", func(d *RoleDefinition) { d.Name = "  " }, "must not be empty"},
		{"long name", func(d *RoleDefinition) { d.Name = strings.Repeat("n", MaxRoleNameLength+1) }, "longer than 512"},
		{"long description", func(d *RoleDefinition) { d.Description = strings.Repeat("d", MaxRoleDescriptionLength+1) }, "longer than 2048"},
		{"no permissions", func(d *RoleDefinition) { d.Permissions = nil }, "no permissions"},
		{"grants nothing", func(d *RoleDefinition) {
			d.Permissions = []Permission{{NotActions: []string{"Microsoft.Storage/*"}}}
		}, "grants nothing"},
		{"two wildcards", func(d *RoleDefinition) { d.Permissions[0].Actions = []string{"Microsoft.Storage/*/blobServices/*"} }, "more than one wildcard"},
		{"empty action", func(d *RoleDefinition) { d.Permissions[0].NotActions = []string{""} }, "empty string"},
		{"space", func(d *RoleDefinition) { d.Permissions[0].Actions = []string{"Microsoft.Storage/ read"} }, "space"},
		{"empty segment", func(d *RoleDefinition) { d.Permissions[0].Actions = []string{"Microsoft.Storage//read"} }, "empty segment"},
		{"no provider", func(d *RoleDefinition) { d.Permissions[0].Actions = []string{"storageAccounts/read"} }, "does not look like an action"},
		{"data star", func(d *RoleDefinition) { d.Permissions[0].DataActions = []string{"*"} }, "data actions must name a resource provider"},
		{"data any provider", func(d *RoleDefinition) { d.Permissions[0].DataActions = []string{"*/read"} }, "does not name a resource provider"},
		{"not data star", func(d *RoleDefinition) { d.Permissions[0].NotDataActions = []string{"*"} }, "data actions must name"},
		{"data no provider", func(d *RoleDefinition) { d.Permissions[0].DataActions = []string{"blobs/read"} }, "does not look like a data action"},
		{"condition", func(d *RoleDefinition) { d.Permissions[0].Condition = "x" }, "conditions are allowed on role assignments"},
		{"no scopes", func(d *RoleDefinition) { d.AssignableScopes = nil }, "at least one assignable scope"},
		{"root scope", func(d *RoleDefinition) { d.AssignableScopes = []string{"/"} }, "root scope"},
		{"wildcard scope", func(d *RoleDefinition) { d.AssignableScopes = []string{testSub + "/resourceGroups/*"} }, "wildcard"},
		{"bad scope", func(d *RoleDefinition) { d.AssignableScopes = []string{"/nowhere/x"} }, "not a valid scope"},
		{"too many scopes", func(d *RoleDefinition) {
			d.AssignableScopes = make([]string, MaxAssignableScopes+1)
			for i := range d.AssignableScopes {
				d.AssignableScopes[i] = testSub
			}
		}, "more than 2000"},
		{"two management groups", func(d *RoleDefinition) {
			d.Permissions[0].DataActions = nil
			d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a", "/providers/Microsoft.Management/managementGroups/b"}
		}, "at most one management group"},
		{"data at management group", func(d *RoleDefinition) {
			d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a"}
		}, "data actions cannot be assignable at management-group scope"},
	} {
		d := validCustomRole()
		tc.change(&d)
		err := ValidateCustomRole(d)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if KindOf(err) != KindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (kind %v), want KindInvalid containing %q", tc.name, err, KindOf(err), tc.want)
		}
	}
	// One management group without data actions is fine.
	d := validCustomRole()
	d.Permissions[0].DataActions = nil
	d.AssignableScopes = []string{"/providers/Microsoft.Management/managementGroups/a"}
	if err := ValidateCustomRole(d); err != nil {
		t.Errorf("management-group role rejected: %v", err)
	}
}

func validAssignment() RoleAssignment {
	return RoleAssignment{
		ID:               "aaaaaaaa-1111-2222-3333-444444444444",
		Scope:            testGroup + "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1",
		RoleDefinitionID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		PrincipalID:      "11111111-2222-3333-4444-555555555555",
		PrincipalType:    PrincipalServicePrincipal,
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
		change func(*RoleAssignment)
		kind   Kind
	}{
		{"id", func(a *RoleAssignment) { a.ID = "x" }, KindInvalid},
		{"role id", func(a *RoleAssignment) { a.RoleDefinitionID = "/providers/Microsoft.Authorization/roleDefinitions/x" }, KindInvalid},
		{"principal", func(a *RoleAssignment) { a.PrincipalID = "" }, KindInvalid},
		{"principal type", func(a *RoleAssignment) { a.PrincipalType = "Robot" }, KindInvalid},
		{"scope", func(a *RoleAssignment) { a.Scope = "" }, KindInvalid},
		{"wildcard scope", func(a *RoleAssignment) { a.Scope = testSub + "/resourceGroups/*" }, KindInvalid},
		{"description", func(a *RoleAssignment) { a.Description = strings.Repeat("d", MaxRoleAssignmentDescription+1) }, KindInvalid},
		{"condition size", func(a *RoleAssignment) { a.Condition = strings.Repeat("c", MaxRoleConditionLength+1) }, KindTooLarge},
		{"version without condition", func(a *RoleAssignment) { a.ConditionVersion = "2.0" }, KindInvalid},
		{"old version", func(a *RoleAssignment) { a.Condition, a.ConditionVersion = "x", "1.0" }, KindInvalid},
	} {
		a := validAssignment()
		tc.change(&a)
		if err := ValidateRoleAssignment(a); err == nil || KindOf(err) != tc.kind {
			t.Errorf("%s: err = %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}

func TestRoleIDs(t *testing.T) {
	a := validAssignment()
	a.Scope += "/"
	want := testGroup + "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1/providers/Microsoft.Authorization/roleAssignments/" + a.ID
	if got := a.ARMID(); got != want {
		t.Errorf("ARMID() = %q", got)
	}
	d := RoleDefinition{ID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"}
	if got := d.ARMID(); got != "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1" {
		t.Errorf("definition ARMID() = %q", got)
	}
	for in, want := range map[string]string{
		"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1":                                                              "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		"/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1":           "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		testSub + "/providers/microsoft.authorization/roledefinitions/2A2B9908-6EA1-4AE2-8E65-A410DF84E7D1": "2A2B9908-6EA1-4AE2-8E65-A410DF84E7D1",
	} {
		if got := RoleDefinitionGUID(in); got != want {
			t.Errorf("RoleDefinitionGUID(%q) = %q, want %q", in, got, want)
		}
	}
}
