package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testIdentities(t *testing.T, s store.Store) {
	ctx := t.Context()

	u1 := newIdentity(lanyard.UserAssigned, "rg-One", "id-Web")
	u2 := newIdentity(lanyard.UserAssigned, "rg-Two", "id-worker")
	u2.Enabled = false // must not come back as true
	u2.Location = "uksouth"
	app := newApp("rg-One", "app-Front")
	sys := newSystemIdentity(app)
	for _, id := range []lanyard.Identity{u1, u2, sys} {
		must(t, "CreateIdentity "+id.Name, s.CreateIdentity(ctx, id))
	}

	for _, want := range []lanyard.Identity{u1, u2, sys} {
		got, err := s.GetIdentity(ctx, want.PrincipalID)
		must(t, "GetIdentity", err)
		same(t, "GetIdentity", got, want, normIdentity)
		got, err = s.GetIdentityByClientID(ctx, want.ClientID)
		must(t, "GetIdentityByClientID", err)
		same(t, "GetIdentityByClientID", got, want, normIdentity)
	}
	for _, rid := range []string{u1.ResourceID, strings.ToUpper(u1.ResourceID), strings.ToLower(u1.ResourceID)} {
		got, err := s.GetIdentityByResourceID(ctx, rid)
		must(t, "GetIdentityByResourceID "+rid, err)
		same(t, "GetIdentityByResourceID "+rid, got, u1, normIdentity)
	}
	got, err := s.GetIdentityByResourceID(ctx, u2.ResourceID)
	must(t, "GetIdentityByResourceID of a disabled identity", err)
	same(t, "GetIdentityByResourceID of a disabled identity", got, u2, normIdentity)

	_, err = s.GetIdentity(ctx, guid())
	wantNotFound(t, "GetIdentity of a missing principal", err)
	_, err = s.GetIdentityByClientID(ctx, guid())
	wantNotFound(t, "GetIdentityByClientID of a missing client", err)
	_, err = s.GetIdentityByResourceID(ctx, lanyard.ResourceIDOf(subscription, "rg-One", lanyard.TypeUserAssignedIdentity, "nope"))
	wantNotFound(t, "GetIdentityByResourceID of a missing id", err)
	_, err = s.GetIdentityByResourceID(ctx, sys.ResourceID)
	wantNotFound(t, "GetIdentityByResourceID of a system-assigned identity's id", err)

	lists := []struct {
		kind  lanyard.IdentityKind
		group string
		want  []lanyard.Identity
	}{
		{lanyard.UserAssigned, "", []lanyard.Identity{u1, u2}},
		{lanyard.UserAssigned, "RG-ONE", []lanyard.Identity{u1}},
		{lanyard.UserAssigned, "rg-two", []lanyard.Identity{u2}},
		{lanyard.UserAssigned, "rg-three", nil},
		{lanyard.SystemAssigned, "", []lanyard.Identity{sys}},
		{lanyard.SystemAssigned, "rg-one", []lanyard.Identity{sys}},
		{lanyard.SystemAssigned, "rg-two", nil},
	}
	for _, l := range lists {
		got, err := s.ListIdentities(ctx, l.kind, l.group)
		must(t, "ListIdentities", err)
		sameSet(t, "ListIdentities("+string(l.kind)+", "+l.group+")", got, l.want, normIdentity, principal)
	}

	// Each unique field on its own makes a duplicate.
	clash := func(edit func(*lanyard.Identity)) lanyard.Identity {
		id := newIdentity(lanyard.UserAssigned, "rg-One", "id-other")
		edit(&id)
		return id
	}
	wantConflict(t, "CreateIdentity with a taken principal id",
		s.CreateIdentity(ctx, clash(func(id *lanyard.Identity) { id.PrincipalID = u1.PrincipalID })))
	wantConflict(t, "CreateIdentity with a taken client id",
		s.CreateIdentity(ctx, clash(func(id *lanyard.Identity) { id.ClientID = u2.ClientID })))
	wantConflict(t, "CreateIdentity with a taken resource id differing by case",
		s.CreateIdentity(ctx, clash(func(id *lanyard.Identity) {
			id.ResourceID, id.Name = strings.ToUpper(u1.ResourceID), strings.ToUpper(u1.Name)
		})))
	all, err := s.ListIdentities(ctx, lanyard.UserAssigned, "")
	must(t, "ListIdentities after conflicts", err)
	sameSet(t, "identities after refused creates", all, []lanyard.Identity{u1, u2}, normIdentity, principal)
	if got, err := s.GetIdentity(ctx, u1.PrincipalID); err != nil {
		t.Errorf("GetIdentity after conflicts: %v", err)
	} else {
		same(t, "identity after a refused duplicate", got, u1, normIdentity)
	}

	// A second system-assigned identity for another app is no conflict.
	other := newSystemIdentity(newApp("rg-One", "app-Back"))
	must(t, "CreateIdentity of another system identity", s.CreateIdentity(ctx, other))

	var seen lanyard.Identity
	updated, err := s.UpdateIdentity(ctx, u2.PrincipalID, func(id lanyard.Identity) (lanyard.Identity, error) {
		seen = id
		id.Enabled = true
		id.Location = "norwayeast"
		id.Tags = map[string]string{"k": "v"}
		id.UpdatedAt = at(time.Hour)
		return id, nil
	})
	must(t, "UpdateIdentity", err)
	same(t, "the value UpdateIdentity passes its updater", seen, u2, normIdentity)
	want := u2
	want.Enabled, want.Location, want.Tags, want.UpdatedAt = true, "norwayeast", map[string]string{"k": "v"}, at(time.Hour)
	same(t, "UpdateIdentity result", updated, want, normIdentity)
	got, err = s.GetIdentity(ctx, u2.PrincipalID)
	must(t, "GetIdentity after update", err)
	same(t, "GetIdentity after update", got, want, normIdentity)

	// And back to disabled.
	_, err = s.UpdateIdentity(ctx, u2.PrincipalID, func(id lanyard.Identity) (lanyard.Identity, error) {
		id.Enabled = false
		return id, nil
	})
	must(t, "UpdateIdentity disabling", err)
	if got, err := s.GetIdentityByClientID(ctx, u2.ClientID); err != nil || got.Enabled {
		t.Errorf("after disabling: Enabled = %v, %v; want false", got.Enabled, err)
	}

	_, err = s.UpdateIdentity(ctx, u2.PrincipalID, func(id lanyard.Identity) (lanyard.Identity, error) {
		id.ClientID = u1.ClientID
		return id, nil
	})
	wantConflict(t, "UpdateIdentity to a taken client id", err)
	if got, err := s.GetIdentity(ctx, u2.PrincipalID); err != nil || got.ClientID != u2.ClientID {
		t.Errorf("a refused update changed the client id: got %q, %v", got.ClientID, err)
	}

	_, err = s.UpdateIdentity(ctx, guid(), func(id lanyard.Identity) (lanyard.Identity, error) { return id, nil })
	wantNotFound(t, "UpdateIdentity of a missing identity", err)

	must(t, "DeleteIdentity", s.DeleteIdentity(ctx, u1.PrincipalID))
	_, err = s.GetIdentity(ctx, u1.PrincipalID)
	wantNotFound(t, "GetIdentity after delete", err)
	_, err = s.GetIdentityByClientID(ctx, u1.ClientID)
	wantNotFound(t, "GetIdentityByClientID after delete", err)
	_, err = s.GetIdentityByResourceID(ctx, u1.ResourceID)
	wantNotFound(t, "GetIdentityByResourceID after delete", err)
	wantNotFound(t, "DeleteIdentity twice", s.DeleteIdentity(ctx, u1.PrincipalID))
	if _, err := s.GetIdentity(ctx, sys.PrincipalID); err != nil {
		t.Errorf("deleting one identity affected another: %v", err)
	}

	// The resource id is free again.
	again := newIdentity(lanyard.UserAssigned, "rg-One", "id-Web")
	must(t, "CreateIdentity reusing a deleted resource id", s.CreateIdentity(ctx, again))
}
