// Package directory manages the resources a tenant holds (resource groups, managed
// identities and apps) and answers the questions the managed-identity endpoint asks:
// which app presents this header, and which of its identities does it want.
package directory

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// DefaultLocation is the location given to resources created without one.
const DefaultLocation = "local"

// Service is the directory. It is safe for concurrent use.
type Service struct {
	store  store.Store
	tenant lanyard.Tenant
	// headerKey derives each app's identity header, so the header itself is never stored
	// and an admin can still print it again.
	headerKey []byte
	now       func() time.Time
	// OnChange, when set, is told about every change that can alter what an app may obtain
	// (token caches listen to it).
	OnChange func(Change)
	// OnAccountDeleted, when set, is told the name of each storage account deleted, so its
	// data can go too.
	OnAccountDeleted func(ctx context.Context, name string)
	// OnAssignmentsRemoved, when set, is told the ids of the role assignments removed with
	// the resources they were scoped to, so the RBAC engine forgets them.
	OnAssignmentsRemoved func(ids []string)
	// OnPostgresChange, when set, is told which PostgreSQL servers changed and which role
	// bindings were dropped, so the front end's listeners and sessions follow.
	OnPostgresChange func(PostgresChange)
	// OnServiceBusChange, when set, is told of each Service Bus namespace or entity
	// created, changed or deleted, so the messaging side follows.
	OnServiceBusChange func(ServiceBusChange)
}

// Change describes a modification that may invalidate cached tokens.
type Change struct {
	PrincipalIDs []string // identities whose tokens may no longer be served
}

// New returns a Service over s for tenant t.
func New(s store.Store, t lanyard.Tenant, headerKey []byte, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, tenant: t, headerKey: headerKey, now: now}
}

// Tenant returns the tenant this directory serves.
func (s *Service) Tenant() lanyard.Tenant { return s.tenant }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// removeAssignmentsUnder deletes the role assignments at scope or below it. Assignments
// are extension resources of their scope (as on ARM) and go with it, so they never apply to
// a resource re-created under the same name.
func removeAssignmentsUnder(ctx context.Context, tx store.Store, scope string) ([]string, error) {
	const page = 1000
	under := store.RoleAssignmentFilter{Scopes: []string{scope}, Below: scope}
	var removed []string
	for after := ""; ; {
		as, err := tx.ListRoleAssignmentsPage(ctx, after, page, under)
		if err != nil {
			return nil, fmt.Errorf("list role assignments: %w", err)
		}
		for _, a := range as {
			if err := tx.DeleteRoleAssignment(ctx, a.ID); err != nil && !lanyard.IsNotFound(err) {
				return nil, fmt.Errorf("delete role assignment %s: %w", a.ID, err)
			}
			removed = append(removed, a.ID)
		}
		if len(as) < page {
			return removed, nil
		}
		after = as[len(as)-1].ID
	}
}

func (s *Service) assignmentsRemoved(ids []string) {
	if s.OnAssignmentsRemoved != nil && len(ids) > 0 {
		s.OnAssignmentsRemoved(ids)
	}
}

func (s *Service) changed(ids ...string) {
	if s.OnChange != nil && len(ids) > 0 {
		s.OnChange(Change{PrincipalIDs: ids})
	}
}

// Resource ids.

func (s *Service) identityID(group, name string) string {
	return lanyard.ResourceIDOf(s.tenant.SubscriptionID, group, lanyard.TypeUserAssignedIdentity, name)
}

func (s *Service) appID(group, name string) string {
	return lanyard.ResourceIDOf(s.tenant.SubscriptionID, group, lanyard.TypeApp, name)
}

// Groups.

// PutGroup creates group name, or updates its tags. It reports whether it was created.
func (s *Service) PutGroup(ctx context.Context, name, location string, tags map[string]string) (lanyard.ResourceGroup, bool, error) {
	if err := checkGroupName(name); err != nil {
		return lanyard.ResourceGroup{}, false, err
	}
	if location == "" {
		location = DefaultLocation
	}
	g := lanyard.ResourceGroup{Name: name, Location: location, Tags: tags, CreatedAt: s.clock()}
	err := s.store.CreateGroup(ctx, g)
	if err == nil {
		return g, true, nil
	}
	if !lanyard.IsConflict(err) {
		return g, false, fmt.Errorf("create group: %w", err)
	}
	g, err = s.store.UpdateGroup(ctx, name, func(old lanyard.ResourceGroup) (lanyard.ResourceGroup, error) {
		if !strings.EqualFold(old.Location, location) {
			return old, lanyard.Errorf(lanyard.KindInvalid,
				"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", clip(location), old.Location).
				WithCode("InvalidResourceGroupLocation")
		}
		if tags != nil {
			old.Tags = tags
		}
		return old, nil
	})
	return g, false, err
}

// GetGroup returns group name.
func (s *Service) GetGroup(ctx context.Context, name string) (lanyard.ResourceGroup, error) {
	g, err := s.store.GetGroup(ctx, name)
	if lanyard.IsNotFound(err) {
		return g, groupNotFound(name)
	}
	return g, err
}

func groupNotFound(name string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "Resource group '%s' could not be found.", clip(name)).WithCode("ResourceGroupNotFound")
}

// ListGroups lists every group.
func (s *Service) ListGroups(ctx context.Context) ([]lanyard.ResourceGroup, error) {
	return s.store.ListGroups(ctx)
}

// ListGroupsPage lists up to limit groups whose names sort after after (compared
// case-insensitively; "" for the first page), ordered by name as
// store.Groups.ListGroupsPage orders them: passing the last name of each page walks every
// group once.
func (s *Service) ListGroupsPage(ctx context.Context, after string, limit int) ([]lanyard.ResourceGroup, error) {
	return s.store.ListGroupsPage(ctx, after, limit)
}

// groupExists checks that a list's group exists ("" stands for every group), so that a
// missing group is NotFound rather than an empty list.
func (s *Service) groupExists(ctx context.Context, group string) error {
	if group == "" {
		return nil
	}
	_, err := s.GetGroup(ctx, group)
	return err
}

// DeleteGroup deletes group name and everything in it, as ARM does.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	var (
		affected []string
		accounts []lanyard.StorageAccount
		removed  []string
		postgres PostgresChange
		sbNames  []string
	)
	err := s.store.InTx(ctx, func(tx store.Store) error {
		g, err := tx.GetGroup(ctx, name)
		if err != nil {
			if lanyard.IsNotFound(err) {
				return groupNotFound(name)
			}
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, lanyard.GroupID(s.tenant.SubscriptionID, g.Name)); err != nil {
			return err
		}
		apps, err := tx.ListApps(ctx, name)
		if err != nil {
			return err
		}
		for _, a := range apps {
			ids, err := deleteApp(ctx, tx, a)
			if err != nil {
				return err
			}
			affected = append(affected, ids...)
		}
		ids, err := tx.ListIdentities(ctx, lanyard.UserAssigned, name)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.DeleteIdentity(ctx, id.PrincipalID); err != nil {
				return err
			}
			affected = append(affected, id.PrincipalID)
		}
		if accounts, err = tx.ListStorageAccounts(ctx, name); err != nil {
			return err
		}
		for _, a := range accounts {
			if err := tx.DeleteStorageAccount(ctx, a.Name); err != nil {
				return err
			}
		}
		if postgres, err = deletePostgresServersOf(ctx, tx, name); err != nil {
			return err
		}
		if sbNames, err = deleteServiceBusNamespacesOf(ctx, tx, name); err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, name)
	})
	if err != nil {
		return err
	}
	s.assignmentsRemoved(removed)
	s.changed(affected...)
	for _, a := range accounts {
		s.accountDeleted(ctx, a.Name)
	}
	if s.OnPostgresChange != nil && len(postgres.Servers) > 0 {
		s.OnPostgresChange(postgres)
	}
	for _, n := range sbNames {
		if s.OnServiceBusChange != nil {
			s.OnServiceBusChange(ServiceBusChange{Namespace: n, Deleted: true})
		}
	}
	return nil
}

func (s *Service) requireGroup(ctx context.Context, tx store.Store, group string) (lanyard.ResourceGroup, error) {
	g, err := tx.GetGroup(ctx, group)
	if lanyard.IsNotFound(err) {
		return g, groupNotFound(group)
	}
	return g, err
}

// User-assigned identities.

// PutIdentity creates user-assigned identity name in group, or updates its tags.
func (s *Service) PutIdentity(ctx context.Context, group, name, location string, tags map[string]string) (lanyard.Identity, bool, error) {
	if err := checkIdentityName(name); err != nil {
		return lanyard.Identity{}, false, err
	}
	return putInGroup(ctx, s, group,
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.Identity, error) {
			return tx.GetIdentityByResourceID(ctx, s.identityID(g.Name, name))
		},
		func(tx store.Store, _ lanyard.ResourceGroup, existing lanyard.Identity) (lanyard.Identity, error) {
			return tx.UpdateIdentity(ctx, existing.PrincipalID, func(old lanyard.Identity) (lanyard.Identity, error) {
				s.retag(&old.Tags, &old.UpdatedAt, tags)
				return old, nil
			})
		},
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.Identity, error) {
			now := s.clock()
			id := lanyard.Identity{
				PrincipalID: uuid.NewString(), ClientID: uuid.NewString(),
				Kind: lanyard.UserAssigned, ResourceID: s.identityID(g.Name, name), ResourceGroup: g.Name, Name: name,
				Location: cmp.Or(location, g.Location), Tags: tags, Enabled: true, CreatedAt: now, UpdatedAt: now,
			}
			return id, tx.CreateIdentity(ctx, id)
		})
}

// putInGroup is the create-or-update flow of a resource in a group, in one transaction:
// the group must exist; an existing resource (get finds it) is updated, a missing one
// (get answers not found) created. It reports whether it created.
func putInGroup[T any](ctx context.Context, s *Service, group string,
	get func(tx store.Store, g lanyard.ResourceGroup) (T, error),
	update func(tx store.Store, g lanyard.ResourceGroup, existing T) (T, error),
	create func(tx store.Store, g lanyard.ResourceGroup) (T, error),
) (T, bool, error) {
	var out T
	created := false
	err := s.store.InTx(ctx, func(tx store.Store) error {
		g, err := s.requireGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		existing, err := get(tx, g)
		switch {
		case err == nil:
			out, err = update(tx, g, existing)
		case lanyard.IsNotFound(err):
			out, err = create(tx, g)
			created = err == nil
		}
		return err
	})
	return out, created, err
}

// retag applies a PUT's tags (nil keeps the old ones, as ARM's PUT of an existing resource
// without tags does here) and stamps the update.
func (s *Service) retag(old *map[string]string, updated *time.Time, tags map[string]string) {
	if tags != nil {
		*old = tags
	}
	*updated = s.clock()
}

// GetIdentity returns user-assigned identity name in group.
func (s *Service) GetIdentity(ctx context.Context, group, name string) (lanyard.Identity, error) {
	id, err := s.store.GetIdentityByResourceID(ctx, s.identityID(group, name))
	if lanyard.IsNotFound(err) {
		return id, identityNotFound(group, name)
	}
	return id, err
}

func identityNotFound(group, name string) error {
	return lanyard.Errorf(lanyard.KindNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found.", lanyard.TypeUserAssignedIdentity, clip(name), clip(group)).
		WithCode("ResourceNotFound")
}

// ListIdentities lists user-assigned identities in group ("" for all groups).
func (s *Service) ListIdentities(ctx context.Context, group string) ([]lanyard.Identity, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListIdentities(ctx, lanyard.UserAssigned, group)
}

// ListIdentitiesPage lists up to limit user-assigned identities in group ("" for all
// groups) whose resource ids sort after after (compared case-insensitively; "" for the
// first page), ordered by resource id (by group, then name) as
// store.Identities.ListUserAssignedIdentitiesPage orders them: passing the last resource
// id of each page walks every identity once. A missing group is NotFound.
func (s *Service) ListIdentitiesPage(ctx context.Context, group, after string, limit int) ([]lanyard.Identity, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListUserAssignedIdentitiesPage(ctx, group, after, limit)
}

// DeleteIdentity deletes user-assigned identity name; apps holding it lose it.
func (s *Service) DeleteIdentity(ctx context.Context, group, name string) error {
	var (
		id      lanyard.Identity
		removed []string
	)
	err := s.store.InTx(ctx, func(tx store.Store) error {
		var err error
		id, err = tx.GetIdentityByResourceID(ctx, s.identityID(group, name))
		if lanyard.IsNotFound(err) {
			return identityNotFound(group, name)
		}
		if err != nil {
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, id.ResourceID); err != nil {
			return err
		}
		return tx.DeleteIdentity(ctx, id.PrincipalID)
	})
	if err != nil {
		return err
	}
	s.assignmentsRemoved(removed)
	s.changed(id.PrincipalID)
	return nil
}

// SetIdentityEnabled enables or disables any identity by principal id.
func (s *Service) SetIdentityEnabled(ctx context.Context, principalID string, enabled bool) (lanyard.Identity, error) {
	id, err := s.store.UpdateIdentity(ctx, principalID, func(old lanyard.Identity) (lanyard.Identity, error) {
		old.Enabled = enabled
		old.UpdatedAt = s.clock()
		return old, nil
	})
	if err == nil && !enabled {
		s.changed(principalID)
	}
	return id, err
}

// FindIdentity resolves a reference given on a command line or in an API body: a
// user-assigned identity's resource id, a client id or a principal id, or a bare name
// looked up in group.
func (s *Service) FindIdentity(ctx context.Context, group, ref string) (lanyard.Identity, error) {
	return s.findIdentity(ctx, s.store, group, ref)
}

func (s *Service) findIdentity(ctx context.Context, st store.Store, group, ref string) (lanyard.Identity, error) {
	if strings.HasPrefix(ref, "/") {
		id, err := st.GetIdentityByResourceID(ctx, ref)
		if lanyard.IsNotFound(err) {
			return id, lanyard.Errorf(lanyard.KindNotFound, "The identity '%s' was not found.", clip(ref)).WithCode("ResourceNotFound")
		}
		return id, err
	}
	if uuid.Validate(ref) == nil {
		ref = guid(ref)
		if id, err := st.GetIdentityByClientID(ctx, ref); err == nil || !lanyard.IsNotFound(err) {
			return id, err
		}
		id, err := st.GetIdentity(ctx, ref)
		if lanyard.IsNotFound(err) {
			return id, lanyard.Errorf(lanyard.KindNotFound, "No identity has client or principal id '%s'.", ref).WithCode("ResourceNotFound")
		}
		return id, err
	}
	id, err := st.GetIdentityByResourceID(ctx, s.identityID(group, ref))
	if lanyard.IsNotFound(err) {
		return id, identityNotFound(group, ref)
	}
	return id, err
}

// Apps.

// AppSpec is the desired identity configuration of an app.
type AppSpec struct {
	Location       string
	Tags           map[string]string
	SystemAssigned bool
	// UserAssigned holds references (resource ids, client ids, principal ids or names in
	// the app's group) of the user-assigned identities.
	UserAssigned []string
}

// PutApp creates app name in group or replaces its configuration.
func (s *Service) PutApp(ctx context.Context, group, name string, spec AppSpec) (lanyard.App, bool, error) {
	if err := checkAppName(name); err != nil {
		return lanyard.App{}, false, err
	}
	var (
		out      lanyard.App
		created  bool
		affected []string
	)
	err := s.store.InTx(ctx, func(tx store.Store) error {
		g, err := s.requireGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		users, err := s.resolveAll(ctx, tx, g.Name, spec.UserAssigned)
		if err != nil {
			return err
		}
		rid := s.appID(g.Name, name)
		old, err := tx.GetApp(ctx, rid)
		switch {
		case lanyard.IsNotFound(err):
			now := s.clock()
			location := spec.Location
			if location == "" {
				location = g.Location
			}
			out = lanyard.App{
				ResourceID: rid, ResourceGroup: g.Name, Name: name, Location: location, Tags: spec.Tags,
				UserAssigned: users, HeaderVersion: 1, CreatedAt: now, UpdatedAt: now,
			}
			out.HeaderHash = hashHeader(s.header(out))
			if spec.SystemAssigned {
				if out.SystemPrincipalID, err = s.createSystemIdentity(ctx, tx, out); err != nil {
					return err
				}
			}
			created = true
			return tx.CreateApp(ctx, out)
		case err != nil:
			return err
		}
		out, affected, err = s.reconfigure(ctx, tx, old, spec.SystemAssigned, users, spec.Tags)
		return err
	})
	if err != nil {
		return out, false, err
	}
	s.changed(affected...)
	return out, created, nil
}

// reconfigure gives app exactly the system identity (or none) and the user identities asked
// for, and reports the identities it lost.
func (s *Service) reconfigure(ctx context.Context, tx store.Store, app lanyard.App, system bool, users []string, tags map[string]string) (lanyard.App, []string, error) {
	var lost []string
	systemID := app.SystemPrincipalID
	switch {
	case system && systemID == "":
		id, err := s.createSystemIdentity(ctx, tx, app)
		if err != nil {
			return app, nil, err
		}
		systemID = id
	case !system && systemID != "":
		if err := tx.DeleteIdentity(ctx, systemID); err != nil {
			return app, nil, err
		}
		lost = append(lost, systemID)
		systemID = ""
	}
	for _, p := range app.UserAssigned {
		if !slices.Contains(users, p) {
			lost = append(lost, p)
		}
	}
	updated, err := tx.UpdateApp(ctx, app.ResourceID, func(old lanyard.App) (lanyard.App, error) {
		old.SystemPrincipalID = systemID
		old.UserAssigned = users
		if tags != nil {
			old.Tags = tags
		}
		old.UpdatedAt = s.clock()
		return old, nil
	})
	return updated, lost, err
}

func (s *Service) createSystemIdentity(ctx context.Context, tx store.Store, app lanyard.App) (string, error) {
	now := s.clock()
	id := lanyard.Identity{
		PrincipalID: uuid.NewString(), ClientID: uuid.NewString(), Kind: lanyard.SystemAssigned,
		ResourceID: app.ResourceID, ResourceGroup: app.ResourceGroup, Name: app.Name,
		Location: app.Location, Enabled: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.CreateIdentity(ctx, id); err != nil {
		return "", fmt.Errorf("create system-assigned identity: %w", err)
	}
	return id.PrincipalID, nil
}

func (s *Service) resolveAll(ctx context.Context, tx store.Store, group string, refs []string) ([]string, error) {
	var out []string
	for _, ref := range refs {
		id, err := s.findIdentity(ctx, tx, group, ref)
		if err != nil {
			return nil, err
		}
		if id.Kind != lanyard.UserAssigned {
			return nil, lanyard.Errorf(lanyard.KindInvalid, "'%s' is a system-assigned identity; only user-assigned identities can be assigned.", clip(ref)).WithCode("InvalidIdentity")
		}
		if !slices.Contains(out, id.PrincipalID) {
			out = append(out, id.PrincipalID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// GetApp returns app name in group.
func (s *Service) GetApp(ctx context.Context, group, name string) (lanyard.App, error) {
	return s.getApp(ctx, s.store, group, name)
}

func (s *Service) getApp(ctx context.Context, st store.Store, group, name string) (lanyard.App, error) {
	a, err := st.GetApp(ctx, s.appID(group, name))
	if lanyard.IsNotFound(err) {
		return a, lanyard.Errorf(lanyard.KindNotFound,
			"The Resource '%s/%s' under resource group '%s' was not found.", lanyard.TypeApp, clip(name), clip(group)).
			WithCode("ResourceNotFound")
	}
	return a, err
}

// ListApps lists apps in group ("" for all).
func (s *Service) ListApps(ctx context.Context, group string) ([]lanyard.App, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListApps(ctx, group)
}

// ListAppsPage lists up to limit apps in group ("" for all groups) whose resource ids
// sort after after (compared case-insensitively; "" for the first page), ordered by
// resource id (by group, then name) as store.Apps.ListAppsPage orders them: passing the
// last resource id of each page walks every app once. A missing group is NotFound.
func (s *Service) ListAppsPage(ctx context.Context, group, after string, limit int) ([]lanyard.App, error) {
	if err := s.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return s.store.ListAppsPage(ctx, group, after, limit)
}

// DeleteApp deletes app name and its system-assigned identity.
func (s *Service) DeleteApp(ctx context.Context, group, name string) error {
	var affected, removed []string
	err := s.store.InTx(ctx, func(tx store.Store) error {
		a, err := s.getApp(ctx, tx, group, name)
		if err != nil {
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, a.ResourceID); err != nil {
			return err
		}
		affected, err = deleteApp(ctx, tx, a)
		return err
	})
	if err != nil {
		return err
	}
	s.assignmentsRemoved(removed)
	s.changed(affected...)
	return nil
}

func deleteApp(ctx context.Context, tx store.Store, a lanyard.App) ([]string, error) {
	if err := tx.DeleteApp(ctx, a.ResourceID); err != nil {
		return nil, err
	}
	affected := slices.Clone(a.UserAssigned)
	if a.SystemPrincipalID != "" {
		if err := tx.DeleteIdentity(ctx, a.SystemPrincipalID); err != nil && !lanyard.IsNotFound(err) {
			return nil, err
		}
		affected = append(affected, a.SystemPrincipalID)
	}
	return affected, nil
}

// AssignIdentities adds identities to app name: the system-assigned one when system is set,
// and the user-assigned ones referenced.
func (s *Service) AssignIdentities(ctx context.Context, group, name string, system bool, refs []string) (lanyard.App, error) {
	return s.editIdentities(ctx, group, name, func(hasSystem bool, users []string, add []string) (bool, []string) {
		return hasSystem || system, append(users, add...)
	}, refs)
}

// RemoveIdentities removes identities from app name.
func (s *Service) RemoveIdentities(ctx context.Context, group, name string, system bool, refs []string) (lanyard.App, error) {
	return s.editIdentities(ctx, group, name, func(hasSystem bool, users []string, drop []string) (bool, []string) {
		return hasSystem && !system, slices.DeleteFunc(users, func(p string) bool { return slices.Contains(drop, p) })
	}, refs)
}

func (s *Service) editIdentities(ctx context.Context, group, name string, edit func(bool, []string, []string) (bool, []string), refs []string) (lanyard.App, error) {
	var (
		out      lanyard.App
		affected []string
	)
	err := s.store.InTx(ctx, func(tx store.Store) error {
		a, err := s.getApp(ctx, tx, group, name)
		if err != nil {
			return err
		}
		named, err := s.resolveAll(ctx, tx, a.ResourceGroup, refs)
		if err != nil {
			return err
		}
		system, users := edit(a.SystemPrincipalID != "", slices.Clone(a.UserAssigned), named)
		slices.Sort(users)
		users = slices.Compact(users)
		out, affected, err = s.reconfigure(ctx, tx, a, system, users, nil)
		return err
	})
	if err != nil {
		return out, err
	}
	s.changed(affected...)
	return out, nil
}

// AppIdentities returns the identities app holds, the system-assigned one first.
func (s *Service) AppIdentities(ctx context.Context, a lanyard.App) ([]lanyard.Identity, error) {
	var out []lanyard.Identity
	ids := a.UserAssigned
	if a.SystemPrincipalID != "" {
		ids = append([]string{a.SystemPrincipalID}, ids...)
	}
	for _, p := range ids {
		id, err := s.store.GetIdentity(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("identity %s of app %s: %w", p, a.ResourceID, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// Identity headers.

// header derives app's identity header. The app's creation time takes part so that an app
// deleted and created again under the same name does not get its old header back. It is
// lower-case hex because the IMDS route carries it in a URL path that msal-node lowercases.
func (s *Service) header(a lanyard.App) string {
	m := hmac.New(sha256.New, s.headerKey)
	m.Write([]byte("lanyard identity header\x00"))
	m.Write([]byte(strings.ToLower(a.ResourceID)))
	m.Write([]byte("\x00" + strconv.FormatInt(a.CreatedAt.UnixMicro(), 10) + "\x00" + strconv.Itoa(a.HeaderVersion)))
	return hex.EncodeToString(m.Sum(nil))
}

func hashHeader(h string) []byte {
	sum := sha256.Sum256([]byte(h))
	return sum[:]
}

// IdentityHeader returns the current identity header of app name.
func (s *Service) IdentityHeader(ctx context.Context, group, name string) (lanyard.App, string, error) {
	a, err := s.GetApp(ctx, group, name)
	if err != nil {
		return a, "", err
	}
	return a, s.header(a), nil
}

// RotateIdentityHeader gives app name a new identity header; the old one stops working at once.
func (s *Service) RotateIdentityHeader(ctx context.Context, group, name string) (lanyard.App, string, error) {
	a, err := s.GetApp(ctx, group, name)
	if err != nil {
		return a, "", err
	}
	a, err = s.store.UpdateApp(ctx, a.ResourceID, func(old lanyard.App) (lanyard.App, error) {
		old.HeaderVersion++
		old.HeaderHash = hashHeader(s.header(old))
		old.UpdatedAt = s.clock()
		return old, nil
	})
	if err != nil {
		return a, "", err
	}
	return a, s.header(a), nil
}

// ErrUnknownApp is returned when a header matches no app. It says nothing more, so that a
// caller cannot tell a wrong header from a deleted app.
var ErrUnknownApp = lanyard.Errorf(lanyard.KindUnauthenticated, "The identity header is missing or not valid.").WithCode("UnknownSource")

// AuthenticateApp returns the app whose identity header is h.
func (s *Service) AuthenticateApp(ctx context.Context, h string) (lanyard.App, error) {
	if h == "" || len(h) > 256 {
		return lanyard.App{}, ErrUnknownApp
	}
	sum := hashHeader(strings.ToLower(h))
	a, err := s.store.GetAppByHeaderHash(ctx, sum)
	if lanyard.IsNotFound(err) {
		return a, ErrUnknownApp
	}
	if err != nil {
		return a, err
	}
	// The lookup used the hash as an index; compare again in constant time so the decision
	// itself never depends on how much of a secret matched.
	if subtle.ConstantTimeCompare(a.HeaderHash, sum) != 1 {
		return lanyard.App{}, ErrUnknownApp
	}
	return a, nil
}

// Selector picks one of an app's identities; the zero Selector means the system-assigned one.
type Selector struct {
	ClientID    string
	PrincipalID string
	ResourceID  string
}

// ErrIdentityNotAssigned is returned when the selected identity is not one of the app's,
// whether or not it exists.
var ErrIdentityNotAssigned = lanyard.Errorf(lanyard.KindInvalid, "The requested identity is not assigned to this resource.").WithCode("IdentityNotFound")

// ResolveIdentity returns the identity of app chosen by sel. Only enabled identities
// assigned to the app are returned.
func (s *Service) ResolveIdentity(ctx context.Context, app lanyard.App, sel Selector) (lanyard.Identity, error) {
	var (
		id  lanyard.Identity
		err error
	)
	switch {
	case sel.ClientID != "":
		id, err = s.store.GetIdentityByClientID(ctx, guid(sel.ClientID))
	case sel.PrincipalID != "":
		id, err = s.store.GetIdentity(ctx, guid(sel.PrincipalID))
	case sel.ResourceID != "":
		id, err = s.store.GetIdentityByResourceID(ctx, sel.ResourceID)
	default:
		if app.SystemPrincipalID == "" {
			return id, ErrIdentityNotAssigned
		}
		id, err = s.store.GetIdentity(ctx, app.SystemPrincipalID)
	}
	if lanyard.IsNotFound(err) {
		return id, ErrIdentityNotAssigned
	}
	if err != nil {
		return id, err
	}
	if id.PrincipalID != app.SystemPrincipalID && !slices.Contains(app.UserAssigned, id.PrincipalID) {
		return lanyard.Identity{}, ErrIdentityNotAssigned
	}
	if !id.Enabled {
		return lanyard.Identity{}, lanyard.Errorf(lanyard.KindPermissionDenied, "The requested identity is disabled.").WithCode("IdentityDisabled")
	}
	return id, nil
}

// guid returns the stored form of a client or principal id. GUIDs compare
// case-insensitively, as on Azure, and Lanyard stores them in lower case; an SDK or a
// person may send them upper-cased.
func guid(s string) string {
	if uuid.Validate(s) == nil {
		return strings.ToLower(s)
	}
	return s
}

// Principal returns the identity with principal id p, of either kind.
func (s *Service) Principal(ctx context.Context, p string) (lanyard.Identity, error) {
	id, err := s.store.GetIdentity(ctx, guid(p))
	if lanyard.IsNotFound(err) {
		return id, lanyard.Errorf(lanyard.KindNotFound, "No identity has principal id '%s'.", clip(p)).WithCode("PrincipalNotFound")
	}
	return id, err
}
