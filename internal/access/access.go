// Package access manages role definitions and role assignments and answers access checks.
// Definitions and assignments are persisted in the store; an rbac.Engine holds them in
// memory and is updated in the same call that changes the store, so a new, changed or
// deleted assignment decides the very next request.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/store"
)

// Service is safe for concurrent use.
type Service struct {
	store  store.Store
	tenant lanyard.Tenant
	engine *rbac.Engine
	now    func() time.Time
	// revoked, when set, refuses revoked tokens in Authenticate (see SetRevocations).
	revoked Revocations
}

// New loads every custom definition and assignment from s.
func New(ctx context.Context, s store.Store, tenant lanyard.Tenant) (*Service, error) {
	svc := &Service{store: s, tenant: tenant, now: time.Now}
	snap, err := svc.load(ctx)
	if err != nil {
		return nil, err
	}
	svc.engine = rbac.NewEngine(snap)
	return svc, nil
}

func (s *Service) load(ctx context.Context) (*rbac.Snapshot, error) {
	defs, err := s.store.ListRoleDefinitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load role definitions: %w", err)
	}
	assigns, err := s.store.ListRoleAssignments(ctx)
	if err != nil {
		return nil, fmt.Errorf("load role assignments: %w", err)
	}
	return rbac.NewSnapshot(defs, assigns), nil
}

// Reload rebuilds the in-memory view from the store, for when another node changed it.
func (s *Service) Reload(ctx context.Context) error {
	snap, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.engine.Swap(snap)
	return nil
}

// Engine returns the decision engine.
func (s *Service) Engine() *rbac.Engine { return s.engine }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Decide answers whether principal may perform action at scope.
func (s *Service) Decide(principalID, action string, dataAction bool, scope string) rbac.Decision {
	return s.engine.Decide(principalID, action, dataAction, scope)
}

// Evaluate answers a full access request (with condition attributes).
func (s *Service) Evaluate(r rbac.Request) rbac.Decision { return s.engine.Evaluate(r) }

// Check is the what-if: it decides action at scope, telling data actions from control-plane
// ones by the catalogue.
func (s *Service) Check(principalID, action, scope string) rbac.Decision {
	return s.engine.Check(principalID, action, scope)
}

// Role definitions.

func roleNotFound(id string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The role definition '%s' does not exist.", clip(id)).WithCode("RoleDefinitionDoesNotExist")
}

// ListRoleDefinitions lists the built-in roles and the custom roles, optionally only those
// named name (case-insensitive).
func (s *Service) ListRoleDefinitions(ctx context.Context, name string) ([]lanyard.RoleDefinition, error) {
	custom, err := s.store.ListRoleDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	all := append(rbac.BuiltinRoles(), custom...)
	if name == "" {
		return all, nil
	}
	return slices.DeleteFunc(all, func(d lanyard.RoleDefinition) bool { return !strings.EqualFold(d.Name, name) }), nil
}

// GetRoleDefinition returns the definition with GUID (or ARM id) id.
func (s *Service) GetRoleDefinition(ctx context.Context, id string) (lanyard.RoleDefinition, error) {
	guid := lanyard.RoleDefinitionGUID(id)
	if d, ok := rbac.BuiltinRoleByID(guid); ok {
		return d, nil
	}
	d, err := s.store.GetRoleDefinition(ctx, strings.ToLower(guid))
	if lanyard.IsNotFound(err) {
		return d, roleNotFound(id)
	}
	return d, err
}

// FindRole resolves a role by GUID, ARM id or name.
func (s *Service) FindRole(ctx context.Context, ref string) (lanyard.RoleDefinition, error) {
	if _, err := uuid.Parse(lanyard.RoleDefinitionGUID(ref)); err == nil {
		return s.GetRoleDefinition(ctx, ref)
	}
	defs, err := s.ListRoleDefinitions(ctx, ref)
	if err != nil {
		return lanyard.RoleDefinition{}, err
	}
	if len(defs) == 0 {
		return lanyard.RoleDefinition{}, lanyard.Errorf(lanyard.KindNotFound, "No role named '%s' exists.", clip(ref)).WithCode("RoleDefinitionDoesNotExist")
	}
	return defs[0], nil
}

// PutRoleDefinition creates or replaces custom role d (d.ID a GUID). It reports whether it
// was created.
func (s *Service) PutRoleDefinition(ctx context.Context, d lanyard.RoleDefinition) (lanyard.RoleDefinition, bool, error) {
	d.ID = strings.ToLower(lanyard.RoleDefinitionGUID(d.ID))
	if _, ok := rbac.BuiltinRoleByID(d.ID); ok {
		return d, false, lanyard.Errorf(lanyard.KindPermissionDenied, "Built-in role definitions cannot be changed.").WithCode("RoleDefinitionBuiltIn")
	}
	if _, ok := rbac.BuiltinRoleByName(d.Name); ok {
		return d, false, lanyard.Errorf(lanyard.KindConflict, "A built-in role named '%s' exists.", clip(d.Name)).WithCode("RoleDefinitionWithSameNameExists")
	}
	d.BuiltIn = false
	if err := rbac.ValidateCustomRole(d); err != nil {
		return d, false, err
	}
	now := s.clock()
	created := false
	var out lanyard.RoleDefinition
	err := s.store.InTx(ctx, func(tx store.Store) error {
		var err error
		out, err = tx.UpdateRoleDefinition(ctx, d.ID, func(old lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
			old.Name, old.Description, old.Permissions, old.AssignableScopes = d.Name, d.Description, d.Permissions, d.AssignableScopes
			old.UpdatedAt = now
			return old, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		d.CreatedAt, d.UpdatedAt = now, now
		created, out = true, d
		return tx.CreateRoleDefinition(ctx, d)
	})
	if err != nil {
		return out, false, err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithRoleDefinition(out) })
	return out, created, nil
}

// DeleteRoleDefinition deletes custom role id; a role still assigned cannot be deleted.
func (s *Service) DeleteRoleDefinition(ctx context.Context, id string) error {
	guid := strings.ToLower(lanyard.RoleDefinitionGUID(id))
	if _, ok := rbac.BuiltinRoleByID(guid); ok {
		return lanyard.Errorf(lanyard.KindPermissionDenied, "Built-in role definitions cannot be deleted.").WithCode("RoleDefinitionBuiltIn")
	}
	err := s.store.InTx(ctx, func(tx store.Store) error {
		n, err := tx.CountRoleAssignmentsOfRole(ctx, guid)
		if err != nil {
			return err
		}
		if n > 0 {
			return lanyard.Errorf(lanyard.KindConflict, "The role definition has %d role assignment(s); delete them first.", n).WithCode("RoleDefinitionHasAssignments")
		}
		err = tx.DeleteRoleDefinition(ctx, guid)
		if lanyard.IsNotFound(err) {
			return roleNotFound(id)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithoutRoleDefinition(guid) })
	return nil
}

// Role assignments.

// PrincipalLookup tells whether a principal exists; managed identities are the only
// principals Lanyard has.
type PrincipalLookup func(ctx context.Context, principalID string) error

// CreateRoleAssignment validates and stores a; a.ID, when empty, is generated.
func (s *Service) CreateRoleAssignment(ctx context.Context, a lanyard.RoleAssignment, principalExists PrincipalLookup) (lanyard.RoleAssignment, error) {
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	if _, err := uuid.Parse(a.ID); err != nil {
		return a, lanyard.Errorf(lanyard.KindInvalid, "The role assignment name '%s' is not a GUID.", clip(a.ID)).WithCode("InvalidRoleAssignmentId")
	}
	a.ID = strings.ToLower(a.ID)
	scope, err := s.checkScope(a.Scope)
	if err != nil {
		return a, err
	}
	a.Scope = scope
	role, err := s.GetRoleDefinition(ctx, a.RoleDefinitionID)
	if err != nil {
		return a, err
	}
	a.RoleDefinitionID = strings.ToLower(role.ID)
	if !assignableAt(role, scope) {
		return a, lanyard.Errorf(lanyard.KindInvalid, "The role '%s' cannot be assigned at scope '%s': it is not within the role's assignable scopes.", role.Name, clip(scope)).WithCode("InvalidRoleAssignmentScope")
	}
	if _, err := uuid.Parse(a.PrincipalID); err != nil {
		return a, lanyard.Errorf(lanyard.KindInvalid, "The principal id '%s' is not a GUID.", clip(a.PrincipalID)).WithCode("InvalidPrincipalId")
	}
	a.PrincipalID = strings.ToLower(a.PrincipalID)
	if err := principalExists(ctx, a.PrincipalID); err != nil {
		if lanyard.IsNotFound(err) {
			return a, lanyard.Errorf(lanyard.KindInvalid, "Principal %s does not exist in the directory %s.", a.PrincipalID, s.tenant.ID).WithCode("PrincipalNotFound")
		}
		return a, err
	}
	if a.PrincipalType == "" {
		a.PrincipalType = lanyard.PrincipalServicePrincipal
	}
	if a.PrincipalType != lanyard.PrincipalServicePrincipal {
		return a, lanyard.Errorf(lanyard.KindInvalid, "Principal type '%s' is not supported: Lanyard's principals are managed identities (ServicePrincipal).", clip(string(a.PrincipalType))).WithCode("UnsupportedPrincipalType")
	}
	if a.Condition != "" {
		if a.ConditionVersion == "" {
			a.ConditionVersion = lanyard.RoleConditionVersion
		}
		if err := rbac.ValidateCondition(a.Condition); err != nil {
			return a, err
		}
	}
	if len(a.Description) > lanyard.MaxRoleAssignmentDescription {
		return a, lanyard.Errorf(lanyard.KindInvalid, "The description is longer than %d characters.", lanyard.MaxRoleAssignmentDescription).WithCode("InvalidRoleAssignment")
	}
	now := s.clock()
	a.CreatedAt, a.UpdatedAt = now, now
	if err := s.store.CreateRoleAssignment(ctx, a); err != nil {
		return a, err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithAssignment(a) })
	return a, nil
}

// checkScope validates and normalises a scope: "/", a subscription of this tenant, or
// anything below it.
func (s *Service) checkScope(scope string) (string, error) {
	scope = strings.TrimSuffix(scope, "/")
	if scope == "" {
		return "/", nil
	}
	id, err := lanyard.ParseResourceID(scope)
	if err != nil {
		return "", lanyard.Errorf(lanyard.KindInvalid, "The scope '%s' is not valid.", clip(scope)).WithCode("InvalidScope")
	}
	if !strings.EqualFold(id.SubscriptionID, s.tenant.SubscriptionID) {
		return "", lanyard.Errorf(lanyard.KindNotFound, "The subscription '%s' could not be found.", clip(id.SubscriptionID)).WithCode("SubscriptionNotFound")
	}
	return scope, nil
}

func assignableAt(role lanyard.RoleDefinition, scope string) bool {
	if role.BuiltIn {
		return true
	}
	for _, s := range role.AssignableScopes {
		if rbac.ScopeCovers(s, scope) {
			return true
		}
	}
	return false
}

// GetRoleAssignment returns assignment id.
func (s *Service) GetRoleAssignment(ctx context.Context, id string) (lanyard.RoleAssignment, error) {
	a, err := s.store.GetRoleAssignment(ctx, strings.ToLower(id))
	if lanyard.IsNotFound(err) {
		return a, lanyard.Errorf(lanyard.KindNotFound, "The role assignment '%s' is not found.", clip(id)).WithCode("RoleAssignmentNotFound")
	}
	return a, err
}

// Filter selects role assignments in a listing.
type Filter struct {
	// Scope lists the assignments that apply at this scope: at it, above it and (unless
	// AtScope) below it. "" means every scope.
	Scope string
	// AtScope keeps only assignments at Scope or above it, as ARM's atScope() does.
	AtScope     bool
	PrincipalID string
}

// ListRoleAssignments lists the assignments matching f.
func (s *Service) ListRoleAssignments(ctx context.Context, f Filter) ([]lanyard.RoleAssignment, error) {
	all, err := s.store.ListRoleAssignments(ctx)
	if err != nil {
		return nil, err
	}
	scope := strings.TrimSuffix(f.Scope, "/")
	return slices.DeleteFunc(all, func(a lanyard.RoleAssignment) bool {
		if f.PrincipalID != "" && !strings.EqualFold(a.PrincipalID, f.PrincipalID) {
			return true
		}
		if scope == "" {
			return false
		}
		above := rbac.ScopeCovers(a.Scope, scope)
		below := rbac.ScopeCovers(scope, a.Scope)
		return !(above || !f.AtScope && below)
	}), nil
}

// DeleteRoleAssignment deletes assignment id; the next request is decided without it.
func (s *Service) DeleteRoleAssignment(ctx context.Context, id string) (lanyard.RoleAssignment, error) {
	a, err := s.GetRoleAssignment(ctx, id)
	if err != nil {
		return a, err
	}
	if err := s.store.DeleteRoleAssignment(ctx, a.ID); err != nil {
		return a, err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithoutAssignment(a.ID) })
	return a, nil
}

func clip(s string) string { return lanyard.Clip(s, 100) }
