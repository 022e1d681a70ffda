package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testRoleDefinitions(t *testing.T, s store.Store) {
	ctx := t.Context()

	defs, err := s.ListRoleDefinitions(ctx)
	must(t, "ListRoleDefinitions on an empty store", err)
	if len(defs) != 0 {
		t.Fatalf("ListRoleDefinitions on an empty store = %d definitions", len(defs))
	}

	a := newRoleDefinition("Blob Reader Plus")
	b := newRoleDefinition("identity-Auditor")
	b.ID = strings.ToUpper(b.ID) // GUIDs come back as they went in
	b.Permissions = b.Permissions[1:]
	b.AssignableScopes = []string{groupScope("rg-Audit")}
	b.CreatedAt, b.UpdatedAt = at(time.Hour), at(2*time.Hour)
	// The store keeps what it is given; refusing to store a built-in is the caller's rule.
	b.BuiltIn = true
	must(t, "CreateRoleDefinition a", s.CreateRoleDefinition(ctx, a))
	must(t, "CreateRoleDefinition b", s.CreateRoleDefinition(ctx, b))

	// GUIDs are matched case-insensitively, like ARM names.
	for _, id := range []string{a.ID, strings.ToUpper(a.ID)} {
		got, err := s.GetRoleDefinition(ctx, id)
		must(t, "GetRoleDefinition "+id, err)
		same(t, "GetRoleDefinition "+id, got, a, normRoleDefinition)
	}
	got, err := s.GetRoleDefinition(ctx, strings.ToLower(b.ID))
	must(t, "GetRoleDefinition b", err)
	same(t, "GetRoleDefinition b", got, b, normRoleDefinition)
	_, err = s.GetRoleDefinition(ctx, guid())
	wantCode(t, "GetRoleDefinition of a missing role", err, lanyard.KindNotFound, "RoleDefinitionDoesNotExist")

	// A role name is taken whatever its case, and whatever the id.
	dup := newRoleDefinition("BLOB reader PLUS")
	dup.Description = "refused"
	err = s.CreateRoleDefinition(ctx, dup)
	wantCode(t, "CreateRoleDefinition with a taken name differing by case", err, lanyard.KindConflict, "RoleDefinitionWithSameNameExists")
	_, err = s.GetRoleDefinition(ctx, dup.ID)
	wantNotFound(t, "GetRoleDefinition of a refused create", err)
	takenID := newRoleDefinition("Another Role")
	takenID.ID = strings.ToUpper(a.ID)
	wantConflict(t, "CreateRoleDefinition with a taken id differing by case", s.CreateRoleDefinition(ctx, takenID))
	if got, err := s.GetRoleDefinition(ctx, a.ID); err != nil {
		t.Errorf("GetRoleDefinition after refused creates: %v", err)
	} else {
		same(t, "role after refused creates", got, a, normRoleDefinition)
	}

	list, err := s.ListRoleDefinitions(ctx)
	must(t, "ListRoleDefinitions", err)
	sameSet(t, "ListRoleDefinitions", list, []lanyard.RoleDefinition{a, b}, normRoleDefinition, roleID)

	// Update hands the updater the stored value and stores what it returns: a new name,
	// blocks changed, added and dropped, other scopes.
	var seen lanyard.RoleDefinition
	updated, err := s.UpdateRoleDefinition(ctx, strings.ToUpper(a.ID), func(d lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
		seen = d
		d.Name = "Blob Reader Deluxe"
		d.Description = "changed"
		d.Permissions = []lanyard.Permission{
			{Actions: []string{"Microsoft.Storage/*/read"}, Condition: "true", ConditionVersion: "1.0"},
			d.Permissions[0],
			{DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read"}},
		}
		d.AssignableScopes = []string{groupScope("rg-One"), groupScope("rg-Two"), "/subscriptions/" + subscription}
		d.UpdatedAt = at(3 * time.Hour)
		return d, nil
	})
	must(t, "UpdateRoleDefinition", err)
	same(t, "the value UpdateRoleDefinition passes its updater", seen, a, normRoleDefinition)
	want := a
	want.Name, want.Description, want.UpdatedAt = "Blob Reader Deluxe", "changed", at(3*time.Hour)
	want.Permissions = []lanyard.Permission{
		{Actions: []string{"Microsoft.Storage/*/read"}, Condition: "true", ConditionVersion: "1.0"},
		a.Permissions[0],
		{DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read"}},
	}
	want.AssignableScopes = []string{groupScope("rg-One"), groupScope("rg-Two"), "/subscriptions/" + subscription}
	same(t, "UpdateRoleDefinition result", updated, want, normRoleDefinition)
	got, err = s.GetRoleDefinition(ctx, a.ID)
	must(t, "GetRoleDefinition after update", err)
	same(t, "GetRoleDefinition after update", got, want, normRoleDefinition)

	// The old name is free, the new one taken.
	freed := newRoleDefinition("blob reader plus")
	must(t, "CreateRoleDefinition with a name given up by a rename", s.CreateRoleDefinition(ctx, freed))
	wantCode(t, "CreateRoleDefinition with the renamed role's new name",
		s.CreateRoleDefinition(ctx, newRoleDefinition("BLOB READER DELUXE")), lanyard.KindConflict, "RoleDefinitionWithSameNameExists")

	// Renaming onto another role's name is refused and changes nothing.
	_, err = s.UpdateRoleDefinition(ctx, b.ID, func(d lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
		d.Name = "Blob reader DELUXE"
		d.Description = "refused"
		return d, nil
	})
	wantCode(t, "UpdateRoleDefinition to a taken name", err, lanyard.KindConflict, "RoleDefinitionWithSameNameExists")
	if got, err := s.GetRoleDefinition(ctx, b.ID); err != nil {
		t.Errorf("GetRoleDefinition after a refused rename: %v", err)
	} else {
		same(t, "role after a refused rename", got, b, normRoleDefinition)
	}

	// Respelling its own name is no conflict; clearing the lists sticks.
	_, err = s.UpdateRoleDefinition(ctx, b.ID, func(d lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
		d.Name = "Identity-AUDITOR"
		d.Permissions, d.AssignableScopes = nil, nil
		return d, nil
	})
	must(t, "UpdateRoleDefinition respelling its name", err)
	b.Name, b.Permissions, b.AssignableScopes = "Identity-AUDITOR", nil, nil
	if got, err := s.GetRoleDefinition(ctx, b.ID); err != nil {
		t.Errorf("GetRoleDefinition after respelling: %v", err)
	} else {
		same(t, "role after respelling and clearing", got, b, normRoleDefinition)
	}

	boom := errors.New("boom")
	_, err = s.UpdateRoleDefinition(ctx, a.ID, func(d lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
		d.Description = "changed again"
		return d, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateRoleDefinition with a failing updater: got %v, want the updater's error", err)
	}
	if got, err := s.GetRoleDefinition(ctx, a.ID); err != nil || got.Description != want.Description {
		t.Errorf("a failed update changed the role: got %+v, %v", got, err)
	}

	called := false
	_, err = s.UpdateRoleDefinition(ctx, guid(), func(d lanyard.RoleDefinition) (lanyard.RoleDefinition, error) {
		called = true
		return d, nil
	})
	wantCode(t, "UpdateRoleDefinition of a missing role", err, lanyard.KindNotFound, "RoleDefinitionDoesNotExist")
	if called {
		t.Error("UpdateRoleDefinition called its updater for a missing role")
	}

	must(t, "DeleteRoleDefinition", s.DeleteRoleDefinition(ctx, strings.ToUpper(a.ID)))
	_, err = s.GetRoleDefinition(ctx, a.ID)
	wantCode(t, "GetRoleDefinition after delete", err, lanyard.KindNotFound, "RoleDefinitionDoesNotExist")
	wantCode(t, "DeleteRoleDefinition twice", s.DeleteRoleDefinition(ctx, a.ID), lanyard.KindNotFound, "RoleDefinitionDoesNotExist")
	list, err = s.ListRoleDefinitions(ctx)
	must(t, "ListRoleDefinitions after delete", err)
	sameSet(t, "ListRoleDefinitions after delete", list, []lanyard.RoleDefinition{b, freed}, normRoleDefinition, roleID)

	// Its id and name are free again.
	again := newRoleDefinition("Blob Reader Deluxe")
	again.ID = a.ID
	must(t, "CreateRoleDefinition reusing a deleted id and name", s.CreateRoleDefinition(ctx, again))
	if got, err := s.GetRoleDefinition(ctx, a.ID); err != nil {
		t.Errorf("GetRoleDefinition of the recreated role: %v", err)
	} else {
		same(t, "recreated role", got, again, normRoleDefinition)
	}
}
