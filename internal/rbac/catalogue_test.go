package rbac

import (
	"strings"
	"testing"
)

// requiredRoles are the built-ins Lanyard promises, by their fixed GUIDs.
var requiredRoles = map[string]string{
	"Owner":                     "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
	"Contributor":               "b24988ac-6180-42a0-ab88-20f7382dd24c",
	"Reader":                    "acdd72a7-3385-48ef-bd42-f606fba81ae7",
	"User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
	"Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
	"Storage Blob Data Owner":                 "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
	"Storage Blob Data Contributor":           "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
	"Storage Blob Data Reader":                "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
	"Storage Queue Data Contributor":          "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
	"Storage Queue Data Reader":               "19e7f393-937e-4f77-808e-94535e297925",
	"Storage Queue Data Message Sender":       "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
	"Storage Queue Data Message Processor":    "8a0f0c08-91a1-4084-bc3d-661d67233fed",
	"Azure Service Bus Data Owner":            "090c5cfd-751d-490a-894a-3ce6f1109419",
	"Azure Service Bus Data Sender":           "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
	"Azure Service Bus Data Receiver":         "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
	"Managed Identity Operator":               "f1a07417-d97a-45cb-824c-7a7467783830",
	"Managed Identity Contributor":            "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
}

func TestCatalogue(t *testing.T) {
	if CatalogueVersion() == "" {
		t.Fatal("catalogue has no version")
	}
	for name, id := range requiredRoles {
		d, ok := BuiltinRoleByID(id)
		if !ok {
			t.Errorf("built-in %s (%s) missing", name, id)
			continue
		}
		if d.Name != name || !d.BuiltIn || d.Description == "" {
			t.Errorf("BuiltinRoleByID(%s) = %q builtIn=%v description=%q", id, d.Name, d.BuiltIn, d.Description)
		}
		if len(d.AssignableScopes) != 1 || d.AssignableScopes[0] != "/" {
			t.Errorf("%s assignable scopes = %v, want [/]", name, d.AssignableScopes)
		}
		byName, ok := BuiltinRoleByName(strings.ToUpper(name))
		if !ok || byName.ID != id {
			t.Errorf("BuiltinRoleByName(%q) = %q, %v", strings.ToUpper(name), byName.ID, ok)
		}
		if _, ok := BuiltinRoleByID("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/" + strings.ToUpper(id)); !ok {
			t.Errorf("lookup by ARM id of %s failed", name)
		}
	}
	if _, ok := BuiltinRoleByName("Global Administrator"); ok {
		t.Error("found a role that is not in the catalogue")
	}
	// Exact contents of the roles with the most-cited strings.
	c, _ := BuiltinRoleByName("Contributor")
	if got := c.Permissions[0].NotActions; len(got) != 11 || got[0] != "Microsoft.Authorization/*/Delete" || got[1] != "Microsoft.Authorization/*/Write" {
		t.Errorf("Contributor notActions = %v", got)
	}
	sb, _ := BuiltinRoleByName("Azure Service Bus Data Sender")
	if got := sb.Permissions[0].DataActions; len(got) != 1 || got[0] != "Microsoft.ServiceBus/*/send/action" {
		t.Errorf("Service Bus Data Sender dataActions = %v", got)
	}
}

func TestBuiltinRolesAreCopies(t *testing.T) {
	roles := BuiltinRoles()
	if len(roles) < len(requiredRoles) {
		t.Fatalf("%d built-in roles, want at least %d", len(roles), len(requiredRoles))
	}
	for i := range roles {
		roles[i].Name = "changed"
		for j := range roles[i].Permissions {
			for k := range roles[i].Permissions[j].Actions {
				roles[i].Permissions[j].Actions[k] = "changed"
			}
		}
	}
	o, _ := BuiltinRoleByName("Owner")
	if o.Permissions[0].Actions[0] != "*" {
		t.Fatal("changing BuiltinRoles() changed the catalogue")
	}
}

func TestBuiltinPatternsAreWellFormed(t *testing.T) {
	for _, d := range BuiltinRoles() {
		for _, p := range d.Permissions {
			for _, list := range [][]string{p.Actions, p.NotActions, p.DataActions, p.NotDataActions} {
				for _, a := range list {
					if a == "" || strings.ContainsAny(a, " \t") || strings.Contains(a, "//") {
						t.Errorf("%s: malformed entry %q", d.Name, a)
					}
				}
			}
			if p.Condition != "" {
				if err := ValidateCondition(p.Condition); err != nil {
					t.Errorf("%s: block condition does not compile: %v", d.Name, err)
				}
			}
		}
	}
}

func TestIsDataAction(t *testing.T) {
	for _, tc := range []struct {
		action string
		want   bool
	}{
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true},
		{"microsoft.storage/storageaccounts/blobservices/containers/blobs/WRITE", true},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write", true},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action", true},
		{"Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action", true},
		{"Microsoft.ServiceBus/namespaces/messages/send/action", true},
		{"Microsoft.ServiceBus/namespaces/messages/receive/action", true},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/read", false},
		{"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", false},
		{"Microsoft.ServiceBus/namespaces/queues/read", false},
		{"Microsoft.Authorization/roleAssignments/write", false},
		{"", false},
		{strings.Repeat("x", 300), false},
	} {
		if got := IsDataAction(tc.action); got != tc.want {
			t.Errorf("IsDataAction(%q) = %v, want %v", tc.action, got, tc.want)
		}
	}
	for _, a := range KnownDataActions() {
		if !IsDataAction(a) {
			t.Errorf("known data action %q is not a data action", a)
		}
	}
}

func TestParseCatalogueRejectsBrokenFiles(t *testing.T) {
	for name, body := range map[string]string{
		"not json":          `{`,
		"no version":        `{"roles":[]}`,
		"duplicate id":      `{"catalogueVersion":"1","roles":[{"name":"a","roleName":"A","assignableScopes":["/"],"permissions":[{}]},{"name":"A","roleName":"B","assignableScopes":["/"],"permissions":[{}]}]}`,
		"no permissions":    `{"catalogueVersion":"1","roles":[{"name":"a","roleName":"A","assignableScopes":["/"]}]}`,
		"wildcard data act": `{"catalogueVersion":"1","roles":[],"dataActions":["Microsoft.X/*"]}`,
	} {
		if _, err := parseCatalogue([]byte(body)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
