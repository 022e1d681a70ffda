package rbac

import (
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Limits on role definitions and assignments. The role-definition limits are Azure's
// custom-role limits; the assignment limits are Azure's description and condition sizes.
// MaxPermissionStringLength is ours: Azure publishes none, and real action strings stay far
// below it, so it only stops abuse.
const (
	MaxRoleNameLength            = 512
	MaxRoleDescriptionLength     = 2048
	MaxAssignableScopes          = 2000
	MaxRoleAssignmentDescription = 2048
	MaxRoleConditionLength       = 8 * 1024
	MaxPermissionStringLength    = 1024
	// RoleConditionVersion is the one condition language version Azure accepts.
	RoleConditionVersion       = "2.0"
	managementGroupScopePrefix = "/providers/Microsoft.Management/managementGroups/"
)

// validateCustomRoleShape checks a custom role definition against Azure's rules for
// custom roles. It returns a lanyard.KindInvalid error naming the first rule broken.
func validateCustomRoleShape(d lanyard.RoleDefinition) error {
	if d.BuiltIn {
		return lanyard.Errorf(lanyard.KindInvalid, "Built-in roles cannot be created or changed.").WithCode("RoleDefinitionBuiltIn")
	}
	if !isRoleGUID(d.ID) {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition id %q is not a GUID.", d.ID).WithCode("InvalidRoleDefinitionId")
	}
	name := strings.TrimSpace(d.Name)
	if name == "" {
		return lanyard.Errorf(lanyard.KindInvalid, "The role name must not be empty.").WithCode("InvalidRoleDefinition")
	}
	if len(d.Name) > MaxRoleNameLength {
		return lanyard.Errorf(lanyard.KindInvalid, "The role name is longer than %d characters.", MaxRoleNameLength).WithCode("InvalidRoleDefinition")
	}
	if len(d.Description) > MaxRoleDescriptionLength {
		return lanyard.Errorf(lanyard.KindInvalid, "The role description is longer than %d characters.", MaxRoleDescriptionLength).WithCode("InvalidRoleDefinition")
	}
	if len(d.Permissions) == 0 {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition has no permissions.").WithCode("InvalidRoleDefinition")
	}
	granted := false
	for i, p := range d.Permissions {
		// Azure reserves block conditions for built-in roles; a custom role that could carry
		// one would let its author narrow (or appear to narrow) what others are granted.
		if p.Condition != "" || p.ConditionVersion != "" {
			return lanyard.Errorf(lanyard.KindInvalid, "lanyard.Permission block %d has a condition; conditions are allowed on role assignments, not on custom roles.", i).WithCode("InvalidRoleDefinition")
		}
		if err := p.EachString(validatePermissionString); err != nil {
			return err
		}
		if len(p.Actions) > 0 || len(p.DataActions) > 0 {
			granted = true
		}
	}
	if !granted {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition grants nothing: every permission block has empty actions and dataActions.").WithCode("InvalidRoleDefinition")
	}
	return validateAssignableScopes(d)
}

func validateAssignableScopes(d lanyard.RoleDefinition) error {
	if len(d.AssignableScopes) == 0 {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition must list at least one assignable scope.").WithCode("InvalidAssignableScopes")
	}
	if len(d.AssignableScopes) > MaxAssignableScopes {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition lists more than %d assignable scopes.", MaxAssignableScopes).WithCode("InvalidAssignableScopes")
	}
	hasData := false
	for _, p := range d.Permissions {
		if len(p.DataActions) > 0 {
			hasData = true
		}
	}
	groups := 0
	for _, s := range d.AssignableScopes {
		if strings.Trim(s, "/") == "" {
			return lanyard.Errorf(lanyard.KindInvalid, "A custom role cannot be assignable at the root scope \"/\"; list subscriptions, resource groups or resources.").WithCode("InvalidAssignableScopes")
		}
		if strings.Contains(s, "*") {
			return lanyard.Errorf(lanyard.KindInvalid, "The assignable scope %q contains a wildcard; assignable scopes must be exact.", s).WithCode("InvalidAssignableScopes")
		}
		if isManagementGroupScope(s) {
			groups++
			if groups > 1 {
				return lanyard.Errorf(lanyard.KindInvalid, "A custom role may list at most one management group in its assignable scopes.").WithCode("InvalidAssignableScopes")
			}
			if hasData {
				return lanyard.Errorf(lanyard.KindInvalid, "A custom role with data actions cannot be assignable at management-group scope %q.", s).WithCode("InvalidAssignableScopes")
			}
			continue
		}
		if _, err := lanyard.ParseResourceID(s); err != nil {
			return lanyard.Errorf(lanyard.KindInvalid, "The assignable scope %q is not a valid scope.", s).WithCode("InvalidAssignableScopes")
		}
	}
	return nil
}

// validatePermissionString checks one entry of an actions list. Data actions must name a
// resource provider: a bare "*" or "*/read" would otherwise reach every provider's data.
func validatePermissionString(field, s string, data bool) error {
	if s == "" {
		return lanyard.Errorf(lanyard.KindInvalid, "The %s list contains an empty string.", field).WithCode("InvalidActionOrNotAction")
	}
	if len(s) > MaxPermissionStringLength {
		return lanyard.Errorf(lanyard.KindInvalid, "An entry of %s is longer than %d characters.", field, MaxPermissionStringLength).WithCode("InvalidActionOrNotAction")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q contains a space, control or non-ASCII character.", field, s).WithCode("InvalidActionOrNotAction")
		}
	}
	if strings.Count(s, "*") > 1 {
		return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q has more than one wildcard; custom roles allow one '*' per entry.", field, s).WithCode("InvalidActionOrNotAction")
	}
	if s == "*" {
		if data {
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry \"*\" is not allowed; data actions must name a resource provider, e.g. Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read.", field).WithCode("InvalidDataAction")
		}
		return nil
	}
	if strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q has an empty segment.", field, s).WithCode("InvalidActionOrNotAction")
	}
	provider, rest, ok := strings.Cut(s, "/")
	if provider == "*" {
		if data {
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q does not name a resource provider; data actions must start with one, e.g. Microsoft.Storage/.", field, s).WithCode("InvalidDataAction")
		}
		return nil
	}
	if !ok || rest == "" || strings.Contains(provider, "*") || !strings.Contains(provider, ".") {
		if data {
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q does not look like a data action ({Company}.{Provider}/{resourceType}/.../{action}).", field, s).WithCode("InvalidDataAction")
		}
		return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q does not look like an action ({Company}.{Provider}/{resourceType}/{action}).", field, s).WithCode("InvalidActionOrNotAction")
	}
	return nil
}

// ValidateRoleAssignment checks the fields of a role assignment that do not need the store:
// ids, scope shape, principal type, the description's size and the condition. It is the one
// check every path that stores an assignment applies.
func ValidateRoleAssignment(a lanyard.RoleAssignment) error {
	if !isRoleGUID(a.ID) {
		return lanyard.Errorf(lanyard.KindInvalid, "The role assignment name %q is not a GUID.", a.ID).WithCode("InvalidRoleAssignmentId")
	}
	if !isRoleGUID(a.RoleDefinitionID) {
		return lanyard.Errorf(lanyard.KindInvalid, "The role definition id %q is not a GUID.", a.RoleDefinitionID).WithCode("InvalidRoleDefinitionId")
	}
	if !isRoleGUID(a.PrincipalID) {
		return lanyard.Errorf(lanyard.KindInvalid, "The principal id %q is not a GUID.", a.PrincipalID).WithCode("InvalidPrincipalId")
	}
	switch a.PrincipalType {
	case lanyard.PrincipalServicePrincipal, lanyard.PrincipalUser, lanyard.PrincipalGroup:
	default:
		return lanyard.Errorf(lanyard.KindInvalid, "The principal type %q is not one of ServicePrincipal, User or Group.", a.PrincipalType).WithCode("InvalidPrincipalType")
	}
	if err := ValidateRoleScope(a.Scope); err != nil {
		return err
	}
	if len(a.Description) > MaxRoleAssignmentDescription {
		return lanyard.Errorf(lanyard.KindInvalid, "The role assignment description is longer than %d characters.", MaxRoleAssignmentDescription).WithCode("InvalidRoleAssignment")
	}
	if len(a.Condition) > MaxRoleConditionLength {
		return lanyard.Errorf(lanyard.KindTooLarge, "The condition is longer than %d bytes.", MaxRoleConditionLength).WithCode("InvalidCondition")
	}
	if a.Condition == "" && a.ConditionVersion != "" {
		return lanyard.Errorf(lanyard.KindInvalid, "A condition version is set but there is no condition.").WithCode("InvalidCondition")
	}
	if a.Condition != "" && a.ConditionVersion != "" && a.ConditionVersion != RoleConditionVersion {
		return lanyard.Errorf(lanyard.KindInvalid, "The condition version %q is not supported; use %q.", a.ConditionVersion, RoleConditionVersion).WithCode("InvalidConditionVersion")
	}
	if a.Condition != "" {
		return ValidateCondition(a.Condition)
	}
	return nil
}

// ValidateRoleScope checks that s is a scope a role can be assigned at: "/" (the root), a
// management group, or a resource id at or below a subscription.
func ValidateRoleScope(s string) error {
	if s == "/" || isManagementGroupScope(s) {
		return nil
	}
	if strings.Contains(s, "*") {
		return lanyard.Errorf(lanyard.KindInvalid, "The scope %q contains a wildcard.", s).WithCode("InvalidScope")
	}
	if _, err := lanyard.ParseResourceID(s); err != nil {
		return lanyard.Errorf(lanyard.KindInvalid, "The scope %q is not a valid scope.", s).WithCode("InvalidScope")
	}
	return nil
}

func isManagementGroupScope(s string) bool {
	s = strings.TrimSuffix(s, "/")
	if len(s) <= len(managementGroupScopePrefix) || !strings.EqualFold(s[:len(managementGroupScopePrefix)], managementGroupScopePrefix) {
		return false
	}
	return !strings.Contains(s[len(managementGroupScopePrefix):], "/")
}

// isRoleGUID reports whether s is a GUID in its 8-4-4-4-12 hex form, either case.
func isRoleGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
