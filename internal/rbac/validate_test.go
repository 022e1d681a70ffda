package rbac

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func TestValidateCustomRoleAgainstCatalogue(t *testing.T) {
	base := func(p lanyard.Permission) lanyard.RoleDefinition {
		return lanyard.RoleDefinition{ID: "cccccccc-0000-0000-0000-000000000009", Name: "custom",
			Permissions: []lanyard.Permission{p}, AssignableScopes: []string{sub}}
	}
	for _, p := range []lanyard.Permission{
		{Actions: []string{containers + "read"}, DataActions: []string{blobs + "read", blobs + "tags/*"}},
		{DataActions: []string{"Microsoft.ServiceBus/*/send/action"}},
		{Actions: []string{"Microsoft.Web/sites/*"}, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}},
	} {
		if err := ValidateCustomRole(base(p)); err != nil {
			t.Errorf("%+v rejected: %v", p, err)
		}
	}
	for _, tc := range []struct {
		p    lanyard.Permission
		want string
	}{
		{lanyard.Permission{DataActions: []string{containers + "read"}}, "not a data action Lanyard knows"},
		{lanyard.Permission{Actions: []string{blobs + "read"}}, "is a data action"},
		{lanyard.Permission{DataActions: []string{"Microsoft.Storage/storageAccounts/listKeys/*"}}, "matches no data action"},
		{lanyard.Permission{DataActions: []string{"*"}}, "must name a resource provider"}, // from the domain rules
	} {
		err := ValidateCustomRole(base(tc.p))
		if err == nil || lanyard.KindOf(err) != lanyard.KindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want KindInvalid containing %q", tc.p, err, tc.want)
		}
	}
}
