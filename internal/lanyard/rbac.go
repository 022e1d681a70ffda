package lanyard

import (
	"strings"
	"time"
)

const (
	roleDefinitionsProviderSegment = "/providers/Microsoft.Authorization/roleDefinitions/"
	roleAssignmentsProviderSegment = "/providers/Microsoft.Authorization/roleAssignments/"
)

// RoleDefinition is a named set of permissions: a built-in Azure role or a custom one.
// ID is the role's GUID (ARM's "name"), Name its display name (ARM's "roleName").
type RoleDefinition struct {
	ID               string
	Name             string
	Description      string
	BuiltIn          bool
	Permissions      []Permission
	AssignableScopes []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Permission is one permission block of a role definition. The block's effective rights
// are Actions minus NotActions and DataActions minus NotDataActions; the subtraction never
// reaches across blocks or roles. A block's Condition, when set, limits only that block.
// Its JSON form is ARM's (the REST API's and az's).
type Permission struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        string   `json:"condition,omitempty"`
	ConditionVersion string   `json:"conditionVersion,omitempty"`
}

// WithEmptyLists returns p with every nil list made empty, for ARM's JSON, which shows []
// rather than null.
func (p Permission) WithEmptyLists() Permission {
	for _, l := range []*[]string{&p.Actions, &p.NotActions, &p.DataActions, &p.NotDataActions} {
		if *l == nil {
			*l = []string{}
		}
	}
	return p
}

// EachString calls fn with every permission string of p, naming its list as ARM does and
// saying whether the list holds data actions; it stops at the first error.
func (p Permission) EachString(fn func(field, s string, data bool) error) error {
	for _, l := range []struct {
		field string
		list  []string
		data  bool
	}{
		{"actions", p.Actions, false},
		{"notActions", p.NotActions, false},
		{"dataActions", p.DataActions, true},
		{"notDataActions", p.NotDataActions, true},
	} {
		for _, s := range l.list {
			if err := fn(l.field, s, l.data); err != nil {
				return err
			}
		}
	}
	return nil
}

// ARMID returns the definition's tenant-level ARM id, the form built-in roles are listed under.
func (d RoleDefinition) ARMID() string { return RoleDefinitionARMID(d.ID) }

// RoleDefinitionARMID returns the tenant-level ARM id of the role definition with GUID id.
func RoleDefinitionARMID(id string) string {
	return roleDefinitionsProviderSegment + id
}

// RoleDefinitionGUID extracts the GUID from any of the forms a role definition id takes on
// the wire: a bare GUID, /providers/Microsoft.Authorization/roleDefinitions/{guid}, or the
// same under a subscription. It returns s unchanged when s has no such suffix.
func RoleDefinitionGUID(s string) string {
	if i := lastRoleDefinitionsSegment(s); i >= 0 {
		return s[i+len(roleDefinitionsProviderSegment):]
	}
	return s
}

// PrincipalType says what kind of directory object a role assignment names. Managed
// identities are service principals.
type PrincipalType string

const (
	PrincipalServicePrincipal PrincipalType = "ServicePrincipal"
	PrincipalUser             PrincipalType = "User"
	PrincipalGroup            PrincipalType = "Group"
)

// RoleAssignment grants the role RoleDefinitionID to PrincipalID at Scope and every scope
// below it. ID is the assignment's GUID (ARM's "name"); RoleDefinitionID is a bare GUID.
// When Condition is set, the assignment grants only where the condition holds.
type RoleAssignment struct {
	ID               string
	Scope            string
	RoleDefinitionID string
	PrincipalID      string
	PrincipalType    PrincipalType
	Description      string
	Condition        string
	ConditionVersion string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ARMID returns the assignment's ARM id: an extension resource under its scope.
func (a RoleAssignment) ARMID() string {
	return strings.TrimSuffix(a.Scope, "/") + roleAssignmentsProviderSegment + a.ID
}

// lastRoleDefinitionsSegment finds the last "/providers/Microsoft.Authorization/roleDefinitions/"
// in s, in any case.
func lastRoleDefinitionsSegment(s string) int {
	const seg = roleDefinitionsProviderSegment
	for i := len(s) - len(seg); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(seg)], seg) {
			return i
		}
	}
	return -1
}
