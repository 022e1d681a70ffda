// Package rbac evaluates Azure-style role-based access control: the built-in role
// catalogue, action and scope matching, and an engine that decides, from an immutable
// snapshot of role definitions and assignments, whether a principal may perform an action
// at a scope, and explains a denial. Storage and transports live elsewhere; whoever changes
// definitions or assignments builds a new Snapshot and swaps it into the Engine.
package rbac

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The catalogue ships as data, not code: built-in roles change over time (Contributor's
// NotActions have grown), and a versioned file makes each change one reviewable diff.
//
//go:embed builtin/roles.json
var catalogueJSON []byte

type catalogueFile struct {
	Version     string          `json:"catalogueVersion"`
	Roles       []catalogueRole `json:"roles"`
	DataActions []string        `json:"dataActions"`
}

// catalogueRole is the ARM (CLI/REST) serialisation of a role definition, plus its source.
type catalogueRole struct {
	Name             string               `json:"name"`
	RoleName         string               `json:"roleName"`
	Description      string               `json:"description"`
	Source           string               `json:"source"`
	AssignableScopes []string             `json:"assignableScopes"`
	Permissions      []lanyard.Permission `json:"permissions"`
}

type catalogue struct {
	version     string
	roles       []lanyard.RoleDefinition
	byID        map[string]int // lower-case GUID → index in roles
	byName      map[string]int // lower-case role name → index in roles
	dataActions []string
	isData      map[string]struct{} // lower-case data action
}

// loadCatalogue parses the embedded file once. A broken file is a build defect, which the
// package tests catch, so it panics rather than making every caller handle an error.
var loadCatalogue = sync.OnceValue(func() *catalogue {
	c, err := parseCatalogue(catalogueJSON)
	if err != nil {
		panic(fmt.Sprintf("rbac: embedded built-in role catalogue: %v", err))
	}
	return c
})

func parseCatalogue(b []byte) (*catalogue, error) {
	var f catalogueFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if f.Version == "" {
		return nil, fmt.Errorf("no catalogueVersion")
	}
	c := &catalogue{
		version: f.Version,
		byID:    make(map[string]int, len(f.Roles)),
		byName:  make(map[string]int, len(f.Roles)),
		isData:  make(map[string]struct{}, len(f.DataActions)),
	}
	for _, r := range f.Roles {
		id, name := asciiLower(r.Name), strings.ToLower(r.RoleName)
		if _, dup := c.byID[id]; dup {
			return nil, fmt.Errorf("role id %s listed twice", r.Name)
		}
		if _, dup := c.byName[name]; dup {
			return nil, fmt.Errorf("role name %q listed twice", r.RoleName)
		}
		if len(r.Permissions) == 0 || len(r.AssignableScopes) == 0 {
			return nil, fmt.Errorf("role %q has no permissions or no assignable scopes", r.RoleName)
		}
		d := lanyard.RoleDefinition{
			ID:               r.Name,
			Name:             r.RoleName,
			Description:      r.Description,
			BuiltIn:          true,
			AssignableScopes: r.AssignableScopes,
			Permissions:      r.Permissions,
		}
		c.byID[id] = len(c.roles)
		c.byName[name] = len(c.roles)
		c.roles = append(c.roles, d)
	}
	for _, a := range f.DataActions {
		if strings.Contains(a, "*") {
			return nil, fmt.Errorf("data action %q has a wildcard; list concrete actions", a)
		}
		c.dataActions = append(c.dataActions, a)
		c.isData[asciiLower(a)] = struct{}{}
	}
	// Literal data actions of the built-ins are data actions too, whether or not listed.
	for _, d := range c.roles {
		for _, p := range d.Permissions {
			for _, a := range p.DataActions {
				if !strings.Contains(a, "*") {
					if _, ok := c.isData[asciiLower(a)]; !ok {
						c.isData[asciiLower(a)] = struct{}{}
						c.dataActions = append(c.dataActions, a)
					}
				}
			}
		}
	}
	return c, nil
}

// CatalogueVersion is the version of the embedded built-in role catalogue.
func CatalogueVersion() string { return loadCatalogue().version }

// BuiltinRoles returns the built-in role definitions. The result is the caller's to keep:
// changing it does not change the catalogue.
func BuiltinRoles() []lanyard.RoleDefinition {
	c := loadCatalogue()
	out := make([]lanyard.RoleDefinition, len(c.roles))
	for i, d := range c.roles {
		out[i] = cloneDefinition(d)
	}
	return out
}

// BuiltinRoleByID returns the built-in role with the given GUID (or ARM role definition id).
func BuiltinRoleByID(id string) (lanyard.RoleDefinition, bool) {
	c := loadCatalogue()
	i, ok := c.byID[asciiLower(lanyard.RoleDefinitionGUID(id))]
	if !ok {
		return lanyard.RoleDefinition{}, false
	}
	return cloneDefinition(c.roles[i]), true
}

// BuiltinRoleByName returns the built-in role with the given display name, compared
// case-insensitively ("storage blob data reader" finds Storage Blob Data Reader).
func BuiltinRoleByName(name string) (lanyard.RoleDefinition, bool) {
	c := loadCatalogue()
	i, ok := c.byName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return lanyard.RoleDefinition{}, false
	}
	return cloneDefinition(c.roles[i]), true
}

// KnownDataActions lists the concrete data actions Lanyard knows: those of the services it
// serves (blob, queue, table, Service Bus) and every literal data action of a built-in role.
func KnownDataActions() []string {
	return append([]string(nil), loadCatalogue().dataActions...)
}

// IsDataAction reports whether action is a known data action (case-insensitive). Azure
// tells data from control actions only through its operations catalogue, so an action
// Lanyard does not know is treated as a control-plane action: then only Actions can grant
// it, and no role's DataActions open it by accident.
func IsDataAction(action string) bool {
	var buf [256]byte
	_, ok := loadCatalogue().isData[string(lowerInto(buf[:0], action))]
	return ok
}

func cloneDefinition(d lanyard.RoleDefinition) lanyard.RoleDefinition {
	d.AssignableScopes = append([]string(nil), d.AssignableScopes...)
	perms := make([]lanyard.Permission, len(d.Permissions))
	for i, p := range d.Permissions {
		perms[i] = lanyard.Permission{
			Actions:          append([]string(nil), p.Actions...),
			NotActions:       append([]string(nil), p.NotActions...),
			DataActions:      append([]string(nil), p.DataActions...),
			NotDataActions:   append([]string(nil), p.NotDataActions...),
			Condition:        p.Condition,
			ConditionVersion: p.ConditionVersion,
		}
	}
	d.Permissions = perms
	return d
}
