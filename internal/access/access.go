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
	// gate, when set, says whether what this Service decides from is up to date (see
	// SetGate).
	gate func() error
}

// SetGate makes every authentication fail with gate's error, and every decision deny,
// while gate returns one: the server uses it to stop deciding from an in-memory view that
// no longer follows the store (a reload after another node's change failed). Call it
// before serving.
func (s *Service) SetGate(gate func() error) { s.gate = gate }

// gated turns d into a denial while the gate is shut.
func (s *Service) gated(d rbac.Decision) rbac.Decision {
	if s.gate == nil || !d.Allowed {
		return d
	}
	if err := s.gate(); err != nil {
		d.Allowed = false
		d.AssignmentID, d.AssignmentScope, d.RoleDefinitionID, d.RoleName, d.ViaGroup = "", "", "", "", ""
		d.Reason = "not decided: " + lanyard.MessageOf(err)
	}
	return d
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

// ForgetAssignments drops assignments another service deleted from the store (with the
// resource they were scoped to) from the in-memory view.
func (s *Service) ForgetAssignments(ids []string) {
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot {
		for _, id := range ids {
			snap = snap.WithoutAssignment(id)
		}
		return snap
	})
}

// Engine returns the decision engine.
func (s *Service) Engine() *rbac.Engine { return s.engine }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Decide answers whether principal may perform action at scope.
func (s *Service) Decide(principalID, action string, dataAction bool, scope string) rbac.Decision {
	return s.gated(s.engine.Decide(principalID, action, dataAction, scope))
}

// Evaluate answers a full access request (with condition attributes).
func (s *Service) Evaluate(r rbac.Request) rbac.Decision { return s.gated(s.engine.Evaluate(r)) }

// Check is the what-if: it decides action at scope, telling data actions from control-plane
// ones by the catalogue.
func (s *Service) Check(principalID, action, scope string) rbac.Decision {
	return s.gated(s.engine.Check(principalID, action, scope))
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

// Authorize decides whether whoever asks may perform action at scope: nil, or the error to
// answer with. The management API passes one for its caller, so that the permissions a
// change needs beyond the scope it addresses are checked against the stored state the
// change replaces.
type Authorize func(action, scope string) error

// visibleAt reports whether role d is addressable at scope: a built-in everywhere; a custom
// role at the root and at, above or below any of its assignable scopes, and nowhere else.
// A role's id is unique in the tenant, so another scope must not reach it.
func visibleAt(d lanyard.RoleDefinition, scope string) bool {
	if d.BuiltIn || strings.Trim(scope, "/") == "" {
		return true
	}
	for _, a := range d.AssignableScopes {
		if rbac.ScopeCovers(a, scope) || rbac.ScopeCovers(scope, a) {
			return true
		}
	}
	return false
}

// GetRoleDefinitionAt returns role id as addressed at scope: a custom role not visible
// there is not found.
func (s *Service) GetRoleDefinitionAt(ctx context.Context, scope, id string) (lanyard.RoleDefinition, error) {
	d, err := s.GetRoleDefinition(ctx, id)
	if err == nil && !visibleAt(d, scope) {
		return lanyard.RoleDefinition{}, roleNotFound(id)
	}
	return d, err
}

// ListRoleDefinitionsAt lists the roles addressable at scope, optionally only those named
// name.
func (s *Service) ListRoleDefinitionsAt(ctx context.Context, scope, name string) ([]lanyard.RoleDefinition, error) {
	defs, err := s.ListRoleDefinitions(ctx, name)
	return slices.DeleteFunc(defs, func(d lanyard.RoleDefinition) bool { return !visibleAt(d, scope) }), err
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

// PutRoleDefinition creates or replaces custom role d (d.ID a GUID), addressed at scope.
// It reports whether it was created. may must allow roleDefinitions/write at every
// assignable scope the role has and will have, as ARM requires: otherwise whoever may write
// roles somewhere could widen, or take over, a role defined elsewhere.
func (s *Service) PutRoleDefinition(ctx context.Context, scope string, d lanyard.RoleDefinition, may Authorize) (lanyard.RoleDefinition, bool, error) {
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
	for i, a := range d.AssignableScopes {
		if isManagementGroup(a) {
			continue
		}
		scope, err := s.checkScope(a)
		if err != nil {
			return d, false, err
		}
		d.AssignableScopes[i] = scope
	}
	if !visibleAt(d, scope) {
		return d, false, lanyard.Errorf(lanyard.KindInvalid, "The role definition is written at scope '%s', which is neither at, above nor below any of its assignable scopes.", clip(scope)).WithCode("InvalidAssignableScopes")
	}
	now := s.clock()
	created := false
	var out lanyard.RoleDefinition
	err := s.store.InTx(ctx, func(tx store.Store) error {
		var err error
		out, err = tx.UpdateRoleDefinition(ctx, d.ID, func(old lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
			if !visibleAt(old, scope) {
				return old, lanyard.Errorf(lanyard.KindConflict, "A role definition with id '%s' exists at another scope; role definition ids are unique in the tenant.", d.ID).WithCode("RoleDefinitionIdConflict")
			}
			if err := mayAtEach(may, "Microsoft.Authorization/roleDefinitions/write", old.AssignableScopes, d.AssignableScopes); err != nil {
				return old, err
			}
			old.Name, old.Description, old.Permissions, old.AssignableScopes = d.Name, d.Description, d.Permissions, d.AssignableScopes
			old.UpdatedAt = now
			return old, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		if err := mayAtEach(may, "Microsoft.Authorization/roleDefinitions/write", d.AssignableScopes); err != nil {
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

// mayAtEach asks may for action at every scope of the lists, each scope once.
func mayAtEach(may Authorize, action string, lists ...[]string) error {
	var seen []string
	for _, list := range lists {
		for _, scope := range list {
			if slices.ContainsFunc(seen, func(s string) bool { return strings.EqualFold(s, scope) }) {
				continue
			}
			seen = append(seen, scope)
			if err := may(action, scope); err != nil {
				return err
			}
		}
	}
	return nil
}

func isManagementGroup(scope string) bool {
	return strings.HasPrefix(strings.ToLower(scope), "/providers/microsoft.management/managementgroups/")
}

// DeleteRoleDefinition deletes custom role id, addressed at scope; a role still assigned
// cannot be deleted. may must allow roleDefinitions/delete at every assignable scope.
func (s *Service) DeleteRoleDefinition(ctx context.Context, scope, id string, may Authorize) (lanyard.RoleDefinition, error) {
	guid := strings.ToLower(lanyard.RoleDefinitionGUID(id))
	if _, ok := rbac.BuiltinRoleByID(guid); ok {
		return lanyard.RoleDefinition{}, lanyard.Errorf(lanyard.KindPermissionDenied, "Built-in role definitions cannot be deleted.").WithCode("RoleDefinitionBuiltIn")
	}
	var d lanyard.RoleDefinition
	err := s.store.InTx(ctx, func(tx store.Store) error {
		var err error
		d, err = tx.GetRoleDefinition(ctx, guid)
		if lanyard.IsNotFound(err) || err == nil && !visibleAt(d, scope) {
			return roleNotFound(id)
		}
		if err != nil {
			return err
		}
		if err := mayAtEach(may, "Microsoft.Authorization/roleDefinitions/delete", d.AssignableScopes); err != nil {
			return err
		}
		n, err := tx.CountRoleAssignmentsOfRole(ctx, guid)
		if err != nil {
			return err
		}
		if n > 0 {
			return lanyard.Errorf(lanyard.KindConflict, "The role definition has %d role assignment(s); delete them first.", n).WithCode("RoleDefinitionHasAssignments")
		}
		return tx.DeleteRoleDefinition(ctx, guid)
	})
	if err != nil {
		return d, err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithoutRoleDefinition(guid) })
	return d, nil
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
	if a.PrincipalType == "" {
		a.PrincipalType = lanyard.PrincipalServicePrincipal
	}
	scope, err := s.checkScope(a.Scope)
	if err != nil {
		return a, err
	}
	a.Scope = scope
	a.RoleDefinitionID = lanyard.RoleDefinitionGUID(a.RoleDefinitionID)
	if err := rbac.ValidateRoleAssignment(a); err != nil {
		return a, err
	}
	if a.Condition != "" && a.ConditionVersion == "" {
		a.ConditionVersion = rbac.RoleConditionVersion
	}
	a.ID, a.PrincipalID = strings.ToLower(a.ID), strings.ToLower(a.PrincipalID)
	if a.PrincipalType != lanyard.PrincipalServicePrincipal {
		return a, lanyard.Errorf(lanyard.KindInvalid, "Principal type '%s' is not supported: Lanyard's principals are managed identities (ServicePrincipal).", clip(string(a.PrincipalType))).WithCode("UnsupportedPrincipalType")
	}
	role, err := s.GetRoleDefinition(ctx, a.RoleDefinitionID)
	if err != nil {
		return a, err
	}
	a.RoleDefinitionID = strings.ToLower(role.ID)
	if !assignableAt(role, scope) {
		return a, lanyard.Errorf(lanyard.KindInvalid, "The role '%s' cannot be assigned at scope '%s': it is not within the role's assignable scopes.", role.Name, clip(scope)).WithCode("InvalidRoleAssignmentScope")
	}
	if err := principalExists(ctx, a.PrincipalID); err != nil {
		if lanyard.IsNotFound(err) {
			return a, lanyard.Errorf(lanyard.KindInvalid, "Principal %s does not exist in the directory %s.", a.PrincipalID, s.tenant.ID).WithCode("PrincipalNotFound")
		}
		return a, err
	}
	now := s.clock()
	a.CreatedAt, a.UpdatedAt = now, now
	if err := s.store.CreateRoleAssignment(ctx, a); err != nil {
		return a, err
	}
	s.engine.Update(func(snap *rbac.Snapshot) *rbac.Snapshot { return snap.WithAssignment(a) })
	return a, nil
}

// PutRoleAssignment creates a, or answers a PUT of an id that exists as ARM answers a
// template's redeploy: the existing assignment (created false) when it is the same role,
// principal, scope, condition and description; RoleAssignmentUpdateNotPermitted when it is
// not, since an assignment is never changed in place. Another id holding the same role,
// principal and scope is RoleAssignmentExists, as from CreateRoleAssignment.
func (s *Service) PutRoleAssignment(ctx context.Context, a lanyard.RoleAssignment, principalExists PrincipalLookup) (lanyard.RoleAssignment, bool, error) {
	want, err := s.CreateRoleAssignment(ctx, a, principalExists)
	if lanyard.KindOf(err) != lanyard.KindConflict || a.ID == "" {
		return want, err == nil, err
	}
	existing, getErr := s.store.GetRoleAssignment(ctx, want.ID)
	if getErr != nil {
		return want, false, err
	}
	if strings.EqualFold(existing.Scope, want.Scope) && strings.EqualFold(existing.RoleDefinitionID, want.RoleDefinitionID) &&
		strings.EqualFold(existing.PrincipalID, want.PrincipalID) && existing.Condition == want.Condition &&
		existing.ConditionVersion == want.ConditionVersion && existing.Description == want.Description {
		return existing, false, nil
	}
	return want, false, lanyard.Errorf(lanyard.KindConflict,
		"The role assignment '%s' exists with other properties. Its role, principal and scope are not allowed to be updated, and Lanyard does not update its description or condition either: delete it and create it again.", want.ID).
		WithCode("RoleAssignmentUpdateNotPermitted")
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
		return a, assignmentNotFound(id)
	}
	return a, err
}

func assignmentNotFound(id string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The role assignment '%s' is not found.", clip(id)).WithCode("RoleAssignmentNotFound")
}

// GetRoleAssignmentAt returns assignment id if it is at exactly scope: an assignment is an
// extension resource of its scope and is not reachable through any other.
func (s *Service) GetRoleAssignmentAt(ctx context.Context, scope, id string) (lanyard.RoleAssignment, error) {
	a, err := s.GetRoleAssignment(ctx, id)
	if err == nil && !sameScope(a.Scope, scope) {
		return lanyard.RoleAssignment{}, assignmentNotFound(id)
	}
	return a, err
}

func sameScope(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
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

// ListRoleAssignmentsPage lists up to limit assignments matching f whose ids sort after
// after, in the store's id order; the last id of one page is the after of the next.
func (s *Service) ListRoleAssignmentsPage(ctx context.Context, f Filter, after string, limit int) ([]lanyard.RoleAssignment, error) {
	sf := store.RoleAssignmentFilter{PrincipalID: f.PrincipalID}
	if scope := strings.TrimRight(f.Scope, "/"); scope != "" {
		// What covers scope (rbac.ScopeCovers) is scope and each scope above it, the root
		// included; what it covers is below it.
		sf.Scopes = []string{"/"}
		for i := 1; i < len(scope); i++ {
			if scope[i] == '/' {
				sf.Scopes = append(sf.Scopes, scope[:i])
			}
		}
		sf.Scopes = append(sf.Scopes, scope)
		if !f.AtScope {
			sf.Below = scope
		}
	}
	as, err := s.store.ListRoleAssignmentsPage(ctx, after, limit, sf)
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	return as, nil
}

// DeleteRoleAssignment deletes assignment id at scope (not found at any other scope); the
// next request is decided without it.
func (s *Service) DeleteRoleAssignment(ctx context.Context, scope, id string) (lanyard.RoleAssignment, error) {
	a, err := s.GetRoleAssignmentAt(ctx, scope, id)
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
