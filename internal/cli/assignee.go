package cli

import (
	"context"
	"maps"
	"strings"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/client"
)

// isName reports whether ref is a bare resource name, not a GUID or a resource id.
func isName(ref string) bool {
	return ref != "" && !strings.Contains(ref, "/") && !isGUID(ref)
}

// identityRef turns a bare identity name into its resource id in group, as the server
// resolves the names given to --identities; ids and GUIDs are kept as they are.
func identityRef(api *client.Client, group, ref string) string {
	if isName(ref) {
		return groupPath(api, group) + identityType + "/" + escape(ref)
	}
	return ref
}

// scopeOr is --scope, or with -g and no --scope the group, as az scopes an assignment
// given --resource-group.
func scopeOr(api *client.Client, scope, group string) string {
	if scope == "" && group != "" {
		return groupPath(api, group)
	}
	return scope
}

// assignRole gives principal role (a name or id) at scope; extra adds properties such as a
// description or a condition.
func assignRole(ctx context.Context, api *client.Client, principal, role, scope string, extra map[string]any) (map[string]any, error) {
	d, err := findRole(ctx, api, role)
	if err != nil {
		return nil, err
	}
	props := map[string]any{"roleDefinitionId": d["id"], "principalId": principal, "principalType": "ServicePrincipal"}
	maps.Copy(props, extra)
	var out map[string]any
	err = api.Do(ctx, "PUT", defaultScope(api, scope)+authzProvider+"/roleAssignments/"+uuid.NewString(), map[string]any{"properties": props}, &out)
	return out, err
}
