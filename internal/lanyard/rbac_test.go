package lanyard

import "testing"

const (
	testSub   = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
	testGroup = testSub + "/resourceGroups/rg1"
)

func validAssignment() RoleAssignment {
	return RoleAssignment{
		ID:               "aaaaaaaa-1111-2222-3333-444444444444",
		Scope:            testGroup + "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1",
		RoleDefinitionID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		PrincipalID:      "11111111-2222-3333-4444-555555555555",
		PrincipalType:    PrincipalServicePrincipal,
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
