package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/rbac"
)

const authzProvider = "/providers/Microsoft.Authorization"

var (
	roleDefinitionColumns = cols("Name", "roleName", "Type", "type", "Id", "name", "Description", "description")
	roleAssignmentColumns = cols("Principal", "principalId", "Role", "roleDefinitionName", "Scope", "scope", "Id", "name")
)

func roleCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Manage role definitions and assignments, and check access"}
	cmd.AddCommand(roleDefinitionCmd(e), roleAssignmentCmd(e), roleCheckCmd(e))
	return cmd
}

// defaultScope is the subscription, where az lists and creates by default.
func defaultScope(api *client.Client, scope string) string {
	if scope == "" {
		return api.Subscription()
	}
	return strings.TrimSuffix(scope, "/")
}

// flattenRole gives role definitions az's output shape: properties lifted, with the
// resource type kept apart from the role's type.
func flattenRole(res map[string]any) map[string]any {
	out := flatten(res)
	if p, ok := res["properties"].(map[string]any); ok {
		out["roleType"] = p["type"]
		out["type"] = res["type"]
	}
	return out
}

func roleDefinitionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "definition", Short: "Manage role definitions"}

	var name, scope string
	var customOnly bool
	list := &cobra.Command{Use: "list", Short: "List role definitions", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			p := defaultScope(api, scope) + authzProvider + "/roleDefinitions"
			if name != "" {
				p += "?$filter=" + url.QueryEscape("roleName eq '"+name+"'")
			}
			defs, err := api.List(cmd.Context(), p)
			if err != nil {
				return err
			}
			var views []map[string]any
			for _, d := range defs {
				v := flattenRole(d)
				if customOnly && v["roleType"] != "CustomRole" {
					continue
				}
				views = append(views, v)
			}
			if views == nil {
				views = []map[string]any{}
			}
			return e.print(roleDefinitionColumns, views)
		})}
	list.Flags().StringVarP(&name, "name", "n", "", "role name")
	list.Flags().StringVar(&scope, "scope", "", "scope (default: the subscription)")
	list.Flags().BoolVar(&customOnly, "custom-role-only", false, "only custom roles")

	var showName string
	show := &cobra.Command{Use: "show", Short: "Show a role definition by name or id", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			d, err := findRole(cmd.Context(), api, showName)
			if err != nil {
				return err
			}
			return e.print(roleDefinitionColumns, flattenRole(d))
		})}
	show.Flags().StringVarP(&showName, "name", "n", "", "role name or id")
	_ = show.MarkFlagRequired("name")

	writeVerb := func(use, short string, update bool) *cobra.Command {
		var def string
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
				spec, err := readRoleSpec(def)
				if err != nil {
					return err
				}
				id := spec.id()
				if update {
					existing, err := findRole(cmd.Context(), api, firstNonEmpty(id, spec.Name))
					if err != nil {
						return err
					}
					id, _ = existing["name"].(string)
				} else if id == "" {
					id = uuid.NewString()
				}
				var out map[string]any
				if err := api.Do(cmd.Context(), "PUT", api.Subscription()+authzProvider+"/roleDefinitions/"+escape(id), spec.body(), &out); err != nil {
					return err
				}
				return e.print(roleDefinitionColumns, flattenRole(out))
			})}
		c.Flags().StringVar(&def, "role-definition", "", "the role as JSON, or @FILE (az's shape: Name, Description, Actions, NotActions, DataActions, NotDataActions, AssignableScopes)")
		_ = c.MarkFlagRequired("role-definition")
		return c
	}

	var delName string
	del := &cobra.Command{Use: "delete", Short: "Delete a custom role definition", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			d, err := findRole(cmd.Context(), api, delName)
			if err != nil {
				return err
			}
			id, _ := d["name"].(string)
			return e.remove(cmd.Context(), api, "role definition", api.Subscription()+authzProvider+"/roleDefinitions/"+escape(id))
		})}
	del.Flags().StringVarP(&delName, "name", "n", "", "role name or id")
	_ = del.MarkFlagRequired("name")

	cmd.AddCommand(list, show, writeVerb("create", "Create a custom role", false), writeVerb("update", "Update a custom role", true), del)
	return cmd
}

// roleSpec is az's role definition file shape; field names match case-insensitively.
type roleSpec struct {
	ID               string   `json:"Id"`
	NameField        string   `json:"name"`
	Name             string   `json:"Name"`
	RoleName         string   `json:"roleName"`
	Description      string   `json:"Description"`
	Actions          []string `json:"Actions"`
	NotActions       []string `json:"NotActions"`
	DataActions      []string `json:"DataActions"`
	NotDataActions   []string `json:"NotDataActions"`
	AssignableScopes []string `json:"AssignableScopes"`
}

func readRoleSpec(arg string) (roleSpec, error) {
	raw := []byte(arg)
	if strings.HasPrefix(arg, "@") {
		b, err := os.ReadFile(arg[1:])
		if err != nil {
			return roleSpec{}, fmt.Errorf("read role definition: %w", err)
		}
		raw = b
	}
	var s roleSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("role definition is not valid JSON: %w", err)
	}
	if s.Name == "" {
		s.Name = s.RoleName
	}
	if s.Name == "" && s.NameField != "" && uuid.Validate(s.NameField) != nil {
		s.Name = s.NameField
	}
	return s, nil
}

func (s roleSpec) id() string {
	for _, v := range []string{s.ID, s.NameField} {
		if v != "" && uuid.Validate(v[strings.LastIndex(v, "/")+1:]) == nil {
			return v[strings.LastIndex(v, "/")+1:]
		}
	}
	return ""
}

func (s roleSpec) body() map[string]any {
	return map[string]any{"properties": map[string]any{
		"roleName": s.Name, "description": s.Description, "assignableScopes": s.AssignableScopes,
		"permissions": []map[string]any{{"actions": s.Actions, "notActions": s.NotActions, "dataActions": s.DataActions, "notDataActions": s.NotDataActions}},
	}}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// findRole resolves a role by GUID, ARM id or name.
func findRole(ctx context.Context, api *client.Client, ref string) (map[string]any, error) {
	guid := ref[strings.LastIndex(ref, "/")+1:]
	if uuid.Validate(guid) == nil {
		var d map[string]any
		err := api.Do(ctx, "GET", api.Subscription()+authzProvider+"/roleDefinitions/"+escape(guid), nil, &d)
		return d, err
	}
	var out struct{ Value []map[string]any }
	p := api.Subscription() + authzProvider + "/roleDefinitions?$filter=" + url.QueryEscape("roleName eq '"+ref+"'")
	if err := api.Do(ctx, "GET", p, nil, &out); err != nil {
		return nil, err
	}
	if len(out.Value) == 0 {
		return nil, fmt.Errorf("no role named %q exists%s", ref, didYouMean(ref, roleNames(ctx, api)))
	}
	return out.Value[0], nil
}

// roleNames lists the names of the roles assignable in the subscription, for suggestions.
func roleNames(ctx context.Context, api *client.Client) []string {
	defs, err := api.List(ctx, api.Subscription()+authzProvider+"/roleDefinitions")
	if err != nil {
		return nil
	}
	var names []string
	for _, d := range defs {
		if p, _ := d["properties"].(map[string]any); p != nil {
			if n, _ := p["roleName"].(string); n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// assigneeUsage says what --assignee takes.
const assigneeUsage = "--assignee takes a client id, a principal id, an identity's or app's resource id, or an identity's or app's name with -g GROUP"

// resolveAssignee turns a client id, principal id, identity or app resource id, or an
// identity's or app's name in group into a principal id.
func resolveAssignee(ctx context.Context, api *client.Client, ref, group string) (string, error) {
	ref = strings.TrimSpace(ref)
	if !strings.HasPrefix(ref, "/") && !isGUID(ref) {
		if group == "" {
			return "", fmt.Errorf("%q is not an id; if it is an identity's name, give its resource group with -g: %s", ref, assigneeUsage)
		}
		// A name: a user-assigned identity's first, as az's --assignee looks up names, then an app's.
		for _, typ := range []string{identityType, siteType} {
			p, err := principalOf(ctx, api, groupPath(api, group)+typ+"/"+escape(ref))
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
				continue
			}
			return p, err
		}
		return "", fmt.Errorf("no identity or app named %q exists in resource group %q: %s", ref, group, assigneeUsage)
	}
	if strings.HasPrefix(ref, "/") {
		if _, err := lanyard.ParseResourceID(strings.TrimSuffix(ref, "/")); err != nil || strings.ContainsAny(ref, "?#%") {
			return "", fmt.Errorf("%q is not a resource id: %s", ref, assigneeUsage)
		}
		return principalOf(ctx, api, ref)
	}
	var p struct {
		PrincipalID string `json:"principalId"`
	}
	if err := api.Do(ctx, "GET", mgmt.PrincipalsPath+"/"+escape(ref), nil, &p); err != nil {
		return "", err
	}
	return p.PrincipalID, nil
}

// principalOf reads the principal id of an identity, or of an app's system-assigned one.
func principalOf(ctx context.Context, api *client.Client, path string) (string, error) {
	var id map[string]any
	if err := api.Do(ctx, "GET", path, nil, &id); err != nil {
		return "", err
	}
	p, _ := id["properties"].(map[string]any)
	if pid, _ := p["principalId"].(string); pid != "" {
		return pid, nil
	}
	if ident, _ := id["identity"].(map[string]any); ident != nil {
		if pid, _ := ident["principalId"].(string); pid != "" {
			return pid, nil // an app: its system-assigned identity
		}
	}
	return "", fmt.Errorf("%s has no principal id (an app needs a system-assigned identity to be an assignee)", path)
}

func assignmentView(ctx context.Context, api *client.Client, a map[string]any, names map[string]string) map[string]any {
	v := flatten(a)
	delete(v, "resourceGroup")
	if rd, _ := v["roleDefinitionId"].(string); rd != "" {
		guid := rd[strings.LastIndex(rd, "/")+1:]
		if _, ok := names[guid]; !ok {
			if d, err := findRole(ctx, api, guid); err == nil {
				p, _ := d["properties"].(map[string]any)
				names[guid], _ = p["roleName"].(string)
			}
		}
		v["roleDefinitionName"] = names[guid]
	}
	return v
}

func roleAssignmentCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "assignment", Short: "Manage role assignments"}

	var assignee, group, role, scope, description, condition string
	create := &cobra.Command{Use: "create", Short: "Assign a role to a principal at a scope", Args: cobra.NoArgs,
		PreRunE: checkScopeFlag(&scope),
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			scope := scopeOr(api, scope, group)
			if scope == "" {
				return fmt.Errorf("give --scope (a subscription, resource group or resource id), or -g to assign at the group, as az does")
			}
			principal, err := resolveAssignee(cmd.Context(), api, assignee, group)
			if err != nil {
				return err
			}
			extra := map[string]any{"description": description}
			if condition != "" {
				extra["condition"], extra["conditionVersion"] = condition, "2.0"
			}
			out, err := assignRole(cmd.Context(), api, principal, role, scope, extra)
			if err != nil {
				return err
			}
			return e.print(roleAssignmentColumns, assignmentView(cmd.Context(), api, out, map[string]string{}))
		})}
	create.Flags().StringVar(&assignee, "assignee", "", "client id, principal id, identity or app resource id, or a name with -g")
	create.Flags().StringVarP(&group, "resource-group", "g", "", "resource group of the identity or app --assignee names; without --scope, the scope")
	create.Flags().StringVar(&role, "role", "", "role name or id")
	create.Flags().StringVar(&scope, "scope", "", "scope: a subscription, resource group or resource id (required unless -g, as in az)")
	create.Flags().StringVar(&description, "description", "", "description")
	create.Flags().StringVar(&condition, "condition", "", "ABAC condition (version 2.0)")
	for _, f := range []string{"assignee", "role"} {
		_ = create.MarkFlagRequired(f)
	}

	var lAssignee, lGroup, lScope, lRole string
	var all bool
	list := &cobra.Command{Use: "list", Short: "List role assignments", Args: cobra.NoArgs,
		PreRunE: checkScopeFlag(&lScope),
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			views, err := listAssignments(cmd.Context(), api, lAssignee, lGroup, lScope, lRole, all)
			if err != nil {
				return err
			}
			return e.print(roleAssignmentColumns, views)
		})}
	list.Flags().StringVar(&lAssignee, "assignee", "", "only this principal (client id, principal id, resource id, or a name with -g)")
	list.Flags().StringVarP(&lGroup, "resource-group", "g", "", "resource group of the identity or app --assignee names")
	list.Flags().StringVar(&lScope, "scope", "", "only assignments at or above this scope (default: the subscription)")
	list.Flags().StringVar(&lRole, "role", "", "only this role (name or id)")
	list.Flags().BoolVar(&all, "all", false, "assignments at every scope, including below the subscription")

	var dIDs []string
	var dAssignee, dGroup, dScope, dRole string
	var yes bool
	del := &cobra.Command{Use: "delete", Short: "Delete role assignments, by id or by assignee/role/scope, and print what was deleted", Args: cobra.NoArgs,
		PreRunE: checkScopeFlag(&dScope),
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			ids, err := assignmentIDs(cmd.Context(), api, dIDs)
			if err != nil {
				return err
			}
			var gone []map[string]any
			if len(ids) == 0 {
				if dAssignee == "" && dRole == "" {
					return fmt.Errorf("give --ids, or --assignee and/or --role")
				}
				views, err := listAssignments(cmd.Context(), api, dAssignee, dGroup, dScope, dRole, dScope == "")
				if err != nil {
					return err
				}
				for _, v := range views {
					if dScope != "" && !strings.EqualFold(fmt.Sprint(v["scope"]), strings.TrimSuffix(dScope, "/")) {
						continue
					}
					ids = append(ids, fmt.Sprint(v["id"]))
					gone = append(gone, v)
				}
				if len(ids) == 0 {
					return fmt.Errorf("no role assignment matches")
				}
				// --role alone names every principal's assignments: confirm, as az does for
				// deletes that reach further than one might think.
				if dAssignee == "" && len(ids) > 1 && !yes {
					if err := e.confirm(fmt.Sprintf("Delete %d role assignments of %q, for every principal?", len(ids), dRole)); err != nil {
						return err
					}
				}
			}
			deleted := []map[string]any{}
			for i, id := range ids {
				if err := api.Do(cmd.Context(), "DELETE", id, nil, nil); err != nil {
					return err
				}
				v := map[string]any{"id": id}
				if gone != nil {
					v = gone[i]
				}
				deleted = append(deleted, v)
				fmt.Fprintf(e.stderr, "Deleted role assignment %s\n", lanyard.Printable(id))
			}
			return e.print(roleAssignmentColumns, deleted)
		})}
	del.Flags().StringSliceVar(&dIDs, "ids", nil, "role assignment resource ids (a bare assignment name, a GUID, is looked up)")
	del.Flags().StringVar(&dAssignee, "assignee", "", "principal (client id, principal id, resource id, or a name with -g)")
	del.Flags().StringVarP(&dGroup, "resource-group", "g", "", "resource group of the identity or app --assignee names")
	del.Flags().StringVar(&dScope, "scope", "", "scope")
	del.Flags().StringVar(&dRole, "role", "", "role name or id")
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask before deleting several assignments")

	cmd.AddCommand(create, list, del)
	return cmd
}

// idsUsage says what --ids takes.
const idsUsage = "--ids takes role assignment resource ids such as /subscriptions/.../providers/Microsoft.Authorization/roleAssignments/<guid>"

// assignmentIDs checks the role assignment ids given to delete, so that a mistyped id
// deletes nothing else, and resolves bare assignment names (GUIDs, which az prints as
// "name") to their full ids: an assignment is addressed at its own scope.
func assignmentIDs(ctx context.Context, api *client.Client, refs []string) ([]string, error) {
	var (
		ids    []string
		all    []map[string]any
		listed bool
	)
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if uuid.Validate(ref) != nil {
			if !isAssignmentID(ref) {
				return nil, fmt.Errorf("%q is not a role assignment id: %s", ref, idsUsage)
			}
			ids = append(ids, ref)
			continue
		}
		if !listed {
			var err error
			// At the root, with no filter, the list holds the assignments at every scope.
			if all, err = api.List(ctx, authzProvider+"/roleAssignments"); err != nil {
				return nil, fmt.Errorf("look up role assignment %s: %w", ref, err)
			}
			listed = true
		}
		found := ""
		for _, a := range all {
			if name, _ := a["name"].(string); strings.EqualFold(name, ref) {
				found, _ = a["id"].(string)
				break
			}
		}
		if !isAssignmentID(found) {
			return nil, fmt.Errorf("no role assignment is named %s; %s", ref, idsUsage)
		}
		ids = append(ids, found)
	}
	return ids, nil
}

// isAssignmentID reports whether id names a role assignment, at any scope.
func isAssignmentID(id string) bool {
	const seg = authzProvider + "/roleAssignments/"
	i := strings.LastIndex(strings.ToLower(id), strings.ToLower(seg))
	if !strings.HasPrefix(id, "/") || i < 0 {
		return false
	}
	name := id[i+len(seg):]
	return name != "" && !strings.ContainsAny(name, "/?#")
}

func listAssignments(ctx context.Context, api *client.Client, assignee, group, scope, role string, all bool) ([]map[string]any, error) {
	var filters []string
	if assignee != "" {
		p, err := resolveAssignee(ctx, api, assignee, group)
		if err != nil {
			return nil, err
		}
		filters = append(filters, "principalId eq '"+p+"'")
	}
	path := defaultScope(api, scope) + authzProvider + "/roleAssignments"
	if all {
		path = authzProvider + "/roleAssignments"
	} else if scope != "" {
		filters = append(filters, "atScope()")
	}
	if len(filters) > 0 {
		path += "?$filter=" + url.QueryEscape(strings.Join(filters, " and "))
	}
	roleID := ""
	if role != "" {
		d, err := findRole(ctx, api, role)
		if err != nil {
			return nil, err
		}
		roleID, _ = d["name"].(string)
	}
	names := map[string]string{}
	views := []map[string]any{}
	// Page by page, so only the matching views are kept.
	err := api.Pages(ctx, path, func(page []map[string]any) bool {
		for _, a := range page {
			v := assignmentView(ctx, api, a, names)
			if roleID != "" && !strings.HasSuffix(strings.ToLower(fmt.Sprint(v["roleDefinitionId"])), strings.ToLower(roleID)) {
				continue
			}
			views = append(views, v)
		}
		return true
	})
	return views, err
}

func roleCheckCmd(e *env) *cobra.Command {
	var assignee, group, action, scope string
	cmd := &cobra.Command{Use: "check", Short: "What-if: may the assignee perform the action at the scope, and why",
		Long: "Ask whether the assignee may perform the action at the scope, and why. The command exits 1\n" +
			"when the answer is no, so scripts can test it, and warns when no role mentions the action\n" +
			"(a misspelling is the usual cause).",
		Args:    cobra.NoArgs,
		PreRunE: checkScopeFlag(&scope),
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			principal, err := resolveAssignee(cmd.Context(), api, assignee, group)
			if err != nil {
				return err
			}
			scope := scopeOr(api, scope, group)
			if scope == "" {
				return fmt.Errorf("give --scope, or -g for the group's scope")
			}
			var out map[string]any
			body := map[string]any{"principalId": principal, "action": action, "scope": strings.TrimSuffix(scope, "/")}
			if err := api.Do(cmd.Context(), "POST", mgmt.CheckAccessPath, body, &out); err != nil {
				return err
			}
			if warning := unknownAction(cmd.Context(), api, action); warning != "" {
				fmt.Fprintln(e.stderr, "WARNING:", lanyard.Printable(warning))
			}
			if e.output == "table" && e.query == "" {
				fmt.Fprintln(e.stdout, prose(out["explanation"]))
			} else if err := e.print(nil, out); err != nil {
				return err
			}
			if allowed, _ := out["allowed"].(bool); !allowed {
				return &exitError{code: 1}
			}
			return nil
		})}
	cmd.Flags().StringVar(&assignee, "assignee", "", "client id, principal id, identity or app resource id, or a name with -g")
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group of the identity or app --assignee names; without --scope, the scope")
	cmd.Flags().StringVar(&action, "action", "", "action or data action, e.g. Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write")
	cmd.Flags().StringVar(&scope, "scope", "", "scope, e.g. a storage account or container id (default: the group given with -g)")
	for _, f := range []string{"assignee", "action"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// unknownAction warns when no role definition names the action: an action only a
// wildcard such as "*" covers is granted by no role but Owner-like ones, and an action
// that is one letter off a known one is most often misspelled even where a wildcard
// covers it ("blobs/raed" under "blobs/*"). It suggests the nearest action a role or
// Lanyard knows.
func unknownAction(ctx context.Context, api *client.Client, action string) string {
	defs, err := api.List(ctx, api.Subscription()+authzProvider+"/roleDefinitions")
	if err != nil {
		return ""
	}
	literals := rbac.KnownDataActions()
	covered := false
	for _, d := range defs {
		p, _ := d["properties"].(map[string]any)
		perms, _ := p["permissions"].([]any)
		for _, perm := range perms {
			pm, _ := perm.(map[string]any)
			for _, field := range []string{"actions", "notActions", "dataActions", "notDataActions"} {
				list, _ := pm[field].([]any)
				for _, x := range list {
					pattern, _ := x.(string)
					i := strings.Index(pattern, "*")
					switch {
					case i < 0:
						literals = append(literals, pattern)
					case i > 0 && strings.Contains(pattern[:i], "/") && rbac.MatchAction(pattern, action):
						covered = true // "*" and "*/read" name no provider, so they do not count
					}
				}
			}
		}
	}
	for _, l := range literals {
		if strings.EqualFold(l, action) {
			return ""
		}
	}
	near := closest(action, literals)
	switch {
	case covered && near == "":
		return ""
	case covered:
		return fmt.Sprintf("no role names the action %q, though a wildcard covers it; did you mean %q?", action, near)
	}
	return fmt.Sprintf("no role mentions the action %q%s", action, didYouMean(action, literals))
}
