package mgmt

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
)

const authzNamespace = "Microsoft.Authorization"

// authorizationPath splits {scope}/providers/Microsoft.Authorization/{rest} paths, where
// role definitions and assignments live as extension resources of any scope.
func authorizationPath(segs []string) (scope string, rest []string, ok bool) {
	for i := 0; i+2 < len(segs); i++ {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], authzNamespace) {
			return "/" + strings.Join(segs[:i], "/"), segs[i+2:], true
		}
	}
	return "", nil, false
}

// extensionRoute is a Microsoft.Authorization resource type served under any scope: its
// collection ({scope}/providers/Microsoft.Authorization/{kind}) or an item of it.
type extensionRoute struct {
	kind    string
	item    bool
	methods map[string]func(w http.ResponseWriter, r *http.Request, scope, name string) error
}

func (h *Handler) extensionRoutes() []extensionRoute {
	type handlers = map[string]func(http.ResponseWriter, *http.Request, string, string) error
	return []extensionRoute{
		{"roleDefinitions", false, handlers{"GET": h.listRoleDefinitions}},
		{"roleDefinitions", true, handlers{"GET": h.getRoleDefinition, "PUT": h.putRoleDefinition, "DELETE": h.deleteRoleDefinition}},
		{"roleAssignments", false, handlers{"GET": h.listRoleAssignments}},
		{"roleAssignments", true, handlers{"GET": h.getRoleAssignment, "PUT": h.putRoleAssignment, "DELETE": h.deleteRoleAssignment}},
	}
}

// serveAuthorization serves role definitions and assignments, authorizing the request at
// the scope it names; the handlers check the permissions linked to other scopes.
func (h *Handler) serveAuthorization(w http.ResponseWriter, r *http.Request, c caller, scope string, rest []string) error {
	if len(rest) > 2 {
		return apiError(http.StatusBadRequest, "InvalidResourceType", "The resource type or path '"+clip(r.URL.Path)+"' is not served by Lanyard.")
	}
	var route *extensionRoute
	for _, rt := range h.extensionRoutes() {
		if strings.EqualFold(rt.kind, rest[0]) && rt.item == (len(rest) == 2) {
			route = &rt
			break
		}
	}
	if route == nil {
		return apiError(http.StatusBadRequest, "InvalidResourceType", "The resource type '"+authzNamespace+"/"+clip(rest[0])+"' is not served by Lanyard.")
	}
	fn, ok := route.methods[r.Method]
	if !ok {
		return apiError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '"+r.Method+"' is not allowed on this resource.")
	}
	typ := authzNamespace + "/" + route.kind
	verb := map[string]string{"GET": "read", "PUT": "write", "DELETE": "delete"}[r.Method]
	if !publicBuiltIns(route.kind, r.Method, scope) {
		if err := h.authorize(r, c, typ+"/"+verb, scope); err != nil {
			return err
		}
	}
	name := ""
	if route.item {
		name = rest[1]
	}
	return h.audited(w, r, c, typ, "{scope}/providers/"+typ, func(w http.ResponseWriter) error { return fn(w, r, scope, name) })
}

// Role definitions.

type roleDefinitionJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleName         string               `json:"roleName"`
		Description      string               `json:"description"`
		Type             string               `json:"type"`
		Permissions      []lanyard.Permission `json:"permissions"`
		AssignableScopes []string             `json:"assignableScopes"`
		CreatedOn        *time.Time           `json:"createdOn,omitempty"`
		UpdatedOn        *time.Time           `json:"updatedOn,omitempty"`
	} `json:"properties"`
}

func scopePrefix(scope string) string { return strings.TrimSuffix(scope, "/") }

func roleDefinition(scope string, d lanyard.RoleDefinition) roleDefinitionJSON {
	out := roleDefinitionJSON{ID: scopePrefix(scope) + d.ARMID(), Name: d.ID, Type: authzNamespace + "/roleDefinitions"}
	p := &out.Properties
	p.RoleName, p.Description, p.AssignableScopes = d.Name, d.Description, nonNil(d.AssignableScopes)
	p.Type = "CustomRole"
	if d.BuiltIn {
		p.Type = "BuiltInRole"
	}
	for _, b := range d.Permissions {
		p.Permissions = append(p.Permissions, b.WithEmptyLists())
	}
	if !d.CreatedAt.IsZero() {
		p.CreatedOn, p.UpdatedOn = &d.CreatedAt, &d.UpdatedAt
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var (
	roleNameFilter = regexp.MustCompile(`(?i)^\s*roleName\s+eq\s+'(.*)'\s*$`)
	roleTypeFilter = regexp.MustCompile(`(?i)^\s*type\s+eq\s+'(BuiltInRole|CustomRole)'\s*$`)
)

// publicBuiltIns reports whether a request reads role definitions at the root, where any
// authenticated caller may read the built-in roles, as in Azure: deployments look them up
// there by name before assigning them. Custom roles are the admin's alone at the root.
func publicBuiltIns(kind, method, scope string) bool {
	return strings.EqualFold(kind, "roleDefinitions") && method == http.MethodGet && scope == "/"
}

// builtInsOnly reports whether r's caller sees only the built-in roles at scope.
func builtInsOnly(r *http.Request, scope string) bool {
	return scope == "/" && !callerOf(r).admin
}

// listRoleDefinitions pages in the handler: role definitions (the built-in ones and a
// tenant's custom roles) are few.
func (h *Handler) listRoleDefinitions(w http.ResponseWriter, r *http.Request, scope, _ string) error {
	p, err := parsePage(r, "roleDefinitions")
	if err != nil {
		return err
	}
	name, roleType := "", ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		if m := roleNameFilter.FindStringSubmatch(f); m != nil {
			name = m[1]
		} else if m := roleTypeFilter.FindStringSubmatch(f); m != nil {
			roleType = m[1]
		} else {
			return apiError(http.StatusBadRequest, "UnsupportedFilter", "The filter '"+clip(f)+"' is not supported; use roleName eq '<name>' or type eq 'BuiltInRole' (or 'CustomRole').")
		}
	}
	defs, err := h.Access.ListRoleDefinitionsAt(r.Context(), scope, name)
	if err != nil {
		return err
	}
	defs = slices.DeleteFunc(defs, func(d lanyard.RoleDefinition) bool {
		return roleType != "" && d.BuiltIn != strings.EqualFold(roleType, "BuiltInRole") || !d.BuiltIn && builtInsOnly(r, scope)
	})
	defs, next := pageOf(defs, func(d lanyard.RoleDefinition) string { return d.ID }, p)
	out := make([]roleDefinitionJSON, 0, len(defs))
	for _, d := range defs {
		out = append(out, roleDefinition(scope, d))
	}
	writePage(w, r, p, out, next)
	return nil
}

func (h *Handler) getRoleDefinition(w http.ResponseWriter, r *http.Request, scope, id string) error {
	d, err := h.Access.GetRoleDefinitionAt(r.Context(), scope, id)
	if err == nil && !d.BuiltIn && builtInsOnly(r, scope) {
		// Not found rather than forbidden: a custom role's id tells nothing to who may not see it.
		err = lanyard.Errorf(lanyard.KindNotFound, "The role definition '%s' does not exist.", clip(id)).WithCode("RoleDefinitionDoesNotExist")
	}
	return h.reply(w, http.StatusOK, roleDefinition(scope, d), err)
}

// mayFor is the access.Authorize of r's caller.
func (h *Handler) mayFor(r *http.Request) access.Authorize {
	c := callerOf(r)
	return func(action, scope string) error { return h.authorize(r, c, action, scope) }
}

func (h *Handler) putRoleDefinition(w http.ResponseWriter, r *http.Request, scope, id string) error {
	var body roleDefinitionJSON
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	d := lanyard.RoleDefinition{ID: id, Name: p.RoleName, Description: p.Description, AssignableScopes: p.AssignableScopes, Permissions: p.Permissions}
	if len(d.AssignableScopes) == 0 && scope != "/" {
		d.AssignableScopes = []string{scope}
	}
	// 201 whether created or replaced: the only success the REST spec gives the operation.
	d, _, err := h.Access.PutRoleDefinition(r.Context(), scope, d, h.mayFor(r))
	return h.reply(w, http.StatusCreated, roleDefinition(scope, d), err)
}

func (h *Handler) deleteRoleDefinition(w http.ResponseWriter, r *http.Request, scope, id string) error {
	d, err := h.Access.DeleteRoleDefinition(r.Context(), scope, id, h.mayFor(r))
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.reply(w, http.StatusOK, roleDefinition(scope, d), err)
}

// Role assignments.

type roleAssignmentJSON struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties roleAssignmentProperties `json:"properties"`
}

type roleAssignmentProperties struct {
	RoleDefinitionID string     `json:"roleDefinitionId"`
	PrincipalID      string     `json:"principalId"`
	PrincipalType    string     `json:"principalType"`
	Scope            string     `json:"scope"`
	Description      string     `json:"description,omitempty"`
	Condition        string     `json:"condition,omitempty"`
	ConditionVersion string     `json:"conditionVersion,omitempty"`
	CreatedOn        *time.Time `json:"createdOn,omitempty"`
	UpdatedOn        *time.Time `json:"updatedOn,omitempty"`
}

func (h *Handler) roleAssignment(a lanyard.RoleAssignment) roleAssignmentJSON {
	return roleAssignmentJSON{
		ID: a.ARMID(), Name: a.ID, Type: authzNamespace + "/roleAssignments",
		Properties: roleAssignmentProperties{
			RoleDefinitionID: "/subscriptions/" + h.subscription() + lanyard.RoleDefinitionARMID(a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID, PrincipalType: string(a.PrincipalType), Scope: a.Scope,
			Description: a.Description, Condition: a.Condition, ConditionVersion: a.ConditionVersion,
			CreatedOn: &a.CreatedAt, UpdatedOn: &a.UpdatedAt,
		},
	}
}

var (
	principalFilter = regexp.MustCompile(`(?i)^(principalId\s+eq|assignedTo\()\s*'([^']*)'\)?$`)
	atScopeFilter   = regexp.MustCompile(`(?i)^atScope\(\)$`)
	filterAnd       = regexp.MustCompile(`(?i)\s+and\s+`)
)

// parseAssignmentFilter understands the $filter forms az sends: atScope(),
// principalId eq '{id}', assignedTo('{id}'), joined with "and".
func parseAssignmentFilter(f string) (access.Filter, bool) {
	var out access.Filter
	if strings.TrimSpace(f) == "" {
		return out, true
	}
	for _, part := range filterAnd.Split(strings.TrimSpace(f), -1) {
		part = strings.TrimSpace(part)
		switch {
		case atScopeFilter.MatchString(part):
			out.AtScope = true
		case principalFilter.MatchString(part):
			out.PrincipalID = principalFilter.FindStringSubmatch(part)[2]
		default:
			return out, false
		}
	}
	return out, true
}

// listRoleAssignments pages in the store, by assignment id: there may be tens of
// thousands, and a page costs the same whatever the table holds.
func (h *Handler) listRoleAssignments(w http.ResponseWriter, r *http.Request, scope, _ string) error {
	p, err := parsePage(r, "roleAssignments")
	if err != nil {
		return err
	}
	f, ok := parseAssignmentFilter(r.URL.Query().Get("$filter"))
	if !ok {
		return apiError(http.StatusBadRequest, "UnsupportedFilter", "The filter is not supported; use atScope(), principalId eq '<id>' or assignedTo('<id>'), joined with and.")
	}
	if scope != "/" {
		f.Scope = scope
	}
	as, next, err := storePage(p, func(a lanyard.RoleAssignment) string { return a.ID }, func(after string, limit int) ([]lanyard.RoleAssignment, error) {
		return h.Access.ListRoleAssignmentsPage(r.Context(), f, after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(as, h.roleAssignment), next)
	return nil
}

func (h *Handler) getRoleAssignment(w http.ResponseWriter, r *http.Request, scope, id string) error {
	a, err := h.Access.GetRoleAssignmentAt(r.Context(), scope, id)
	return h.reply(w, http.StatusOK, h.roleAssignment(a), err)
}

func (h *Handler) putRoleAssignment(w http.ResponseWriter, r *http.Request, scope, id string) error {
	var body struct {
		Properties roleAssignmentProperties `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	if p.RoleDefinitionID == "" || p.PrincipalID == "" {
		return apiError(http.StatusBadRequest, "InvalidRoleAssignmentRequest", "properties.roleDefinitionId and properties.principalId are required.")
	}
	if err := h.Directory.CheckScope(r.Context(), scope); err != nil {
		return err
	}
	a, created, err := h.Access.PutRoleAssignment(r.Context(), lanyard.RoleAssignment{
		ID: id, Scope: scope, RoleDefinitionID: p.RoleDefinitionID, PrincipalID: p.PrincipalID,
		PrincipalType: lanyard.PrincipalType(p.PrincipalType), Description: p.Description,
		Condition: p.Condition, ConditionVersion: p.ConditionVersion,
	}, h.principalExists)
	return h.reply(w, createdStatus(created), h.roleAssignment(a), err)
}

func (h *Handler) principalExists(ctx context.Context, principalID string) error {
	_, err := h.Directory.Principal(ctx, principalID)
	return err
}

func (h *Handler) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, scope, id string) error {
	a, err := h.Access.DeleteRoleAssignment(r.Context(), scope, id)
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.reply(w, http.StatusOK, h.roleAssignment(a), err)
}

// What-if and principal lookup.

type decisionJSON struct {
	Allowed          bool         `json:"allowed"`
	PrincipalID      string       `json:"principalId"`
	Action           string       `json:"action"`
	DataAction       bool         `json:"dataAction"`
	Scope            string       `json:"scope"`
	AssignmentID     string       `json:"assignmentId,omitempty"`
	AssignmentScope  string       `json:"assignmentScope,omitempty"`
	RoleDefinitionID string       `json:"roleDefinitionId,omitempty"`
	RoleName         string       `json:"roleName,omitempty"`
	Reason           string       `json:"reason,omitempty"`
	Closest          []nearbyJSON `json:"closestAssignments,omitempty"`
	Explanation      string       `json:"explanation"`
}

type nearbyJSON struct {
	AssignmentID     string `json:"assignmentId"`
	Scope            string `json:"scope"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName"`
	CoversScope      bool   `json:"coversScope"`
	Lacks            string `json:"lacks"`
}

// decisionView renders an rbac decision for the API.
func decisionView(d rbac.Decision) decisionJSON {
	out := decisionJSON{
		Allowed: d.Allowed, PrincipalID: d.PrincipalID, Action: d.Action, DataAction: d.DataAction, Scope: d.Scope,
		AssignmentID: d.AssignmentID, AssignmentScope: d.AssignmentScope, RoleDefinitionID: d.RoleDefinitionID, RoleName: d.RoleName,
		Reason: d.Reason, Explanation: d.String(),
	}
	for _, n := range d.Near {
		out.Closest = append(out.Closest, nearbyJSON{n.AssignmentID, n.Scope, n.RoleDefinitionID, n.RoleName, n.CoversScope, n.Lacks})
	}
	return out
}

func (h *Handler) checkAccess(w http.ResponseWriter, r *http.Request, _ []string) error {
	var body struct {
		PrincipalID string `json:"principalId"`
		Action      string `json:"action"`
		Scope       string `json:"scope"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.PrincipalID == "" || body.Action == "" || body.Scope == "" {
		return apiError(http.StatusBadRequest, "InvalidRequestContent", "principalId, action and scope are required.")
	}
	writeJSON(w, http.StatusOK, decisionView(h.Access.Check(body.PrincipalID, body.Action, body.Scope)))
	return nil
}

type principalJSON struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
	Kind        string `json:"kind"`
	ResourceID  string `json:"resourceId"`
	Enabled     bool   `json:"enabled"`
}

func (h *Handler) getPrincipal(w http.ResponseWriter, r *http.Request, args []string) error {
	id, err := h.Directory.FindIdentity(r.Context(), "", args[0])
	return h.reply(w, http.StatusOK, principalJSON{id.PrincipalID, id.ClientID, string(id.Kind), id.ResourceID, id.Enabled}, err)
}
