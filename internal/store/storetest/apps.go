package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testApps(t *testing.T, s store.Store) {
	ctx := t.Context()

	var users []lanyard.Identity
	for _, name := range []string{"id-a", "id-b", "id-c"} {
		u := newIdentity(lanyard.UserAssigned, "rg-Ids", name)
		must(t, "CreateIdentity", s.CreateIdentity(ctx, u))
		users = append(users, u)
	}
	u1, u2, u3 := users[0].PrincipalID, users[1].PrincipalID, users[2].PrincipalID

	front := newApp("rg-Web", "app-Front")
	sys := newSystemIdentity(front)
	must(t, "CreateIdentity system", s.CreateIdentity(ctx, sys))
	front.SystemPrincipalID = sys.PrincipalID
	if u1 < u2 { // hand them over out of order
		front.UserAssigned = []string{u2, u1}
	} else {
		front.UserAssigned = []string{u1, u2}
	}
	must(t, "CreateApp front", s.CreateApp(ctx, front))
	wantFront := front
	wantFront.UserAssigned = sorted(u1, u2)

	back := newApp("rg-Jobs", "app-Back")
	back.HeaderVersion = 1
	back.UserAssigned = []string{u1}
	must(t, "CreateApp back", s.CreateApp(ctx, back))

	// An app with no identity at all.
	bare := newApp("rg-Web", "app-Bare")
	must(t, "CreateApp bare", s.CreateApp(ctx, bare))

	for _, rid := range []string{front.ResourceID, strings.ToUpper(front.ResourceID), strings.ToLower(front.ResourceID)} {
		got, err := s.GetApp(ctx, rid)
		must(t, "GetApp "+rid, err)
		same(t, "GetApp "+rid, got, wantFront, normApp)
	}
	got, err := s.GetApp(ctx, bare.ResourceID)
	must(t, "GetApp bare", err)
	same(t, "GetApp bare", got, bare, normApp)
	_, err = s.GetApp(ctx, lanyard.ResourceIDOf(subscription, "rg-Web", lanyard.TypeApp, "nope"))
	wantNotFound(t, "GetApp of a missing app", err)

	got, err = s.GetAppByHeaderHash(ctx, front.HeaderHash)
	must(t, "GetAppByHeaderHash", err)
	same(t, "GetAppByHeaderHash", got, wantFront, normApp)
	got, err = s.GetAppByHeaderHash(ctx, back.HeaderHash)
	must(t, "GetAppByHeaderHash back", err)
	same(t, "GetAppByHeaderHash back", got, back, normApp)
	_, err = s.GetAppByHeaderHash(ctx, randomHash())
	wantNotFound(t, "GetAppByHeaderHash of an unknown hash", err)

	lists := []struct {
		group string
		want  []lanyard.App
	}{
		{"", []lanyard.App{wantFront, back, bare}},
		{"RG-WEB", []lanyard.App{wantFront, bare}},
		{"rg-jobs", []lanyard.App{back}},
		{"rg-ids", nil},
	}
	for _, l := range lists {
		got, err := s.ListApps(ctx, l.group)
		must(t, "ListApps", err)
		sameSet(t, "ListApps("+l.group+")", got, l.want, normApp, appID)
	}
	withIdentity := func(what, principalID string, want ...lanyard.App) {
		t.Helper()
		got, err := s.ListAppsWithIdentity(ctx, principalID)
		must(t, "ListAppsWithIdentity", err)
		sameSet(t, "ListAppsWithIdentity "+what, got, want, normApp, appID)
	}
	withIdentity("u1", u1, wantFront, back)
	withIdentity("u2", u2, wantFront)
	withIdentity("u3", u3)
	withIdentity("the system identity", sys.PrincipalID) // system identities are not assignments

	dup := newApp("RG-WEB", "APP-FRONT")
	wantConflict(t, "CreateApp differing only by case", s.CreateApp(ctx, dup))
	if got, err := s.GetApp(ctx, front.ResourceID); err != nil {
		t.Errorf("GetApp after a refused create: %v", err)
	} else {
		same(t, "app after a refused duplicate", got, wantFront, normApp)
	}

	var seen lanyard.App
	newHash := randomHash()
	updated, err := s.UpdateApp(ctx, strings.ToUpper(front.ResourceID), func(a lanyard.App) (lanyard.App, error) {
		seen = a
		a.UserAssigned = []string{u3, u1}
		a.HeaderVersion++
		a.HeaderHash = newHash
		a.Tags = map[string]string{"tier": "api"}
		a.Location = "westus"
		a.SystemPrincipalID = ""
		a.UpdatedAt = at(time.Hour)
		return a, nil
	})
	must(t, "UpdateApp", err)
	same(t, "the value UpdateApp passes its updater", seen, wantFront, normApp)
	wantFront.UserAssigned = sorted(u1, u3)
	wantFront.HeaderVersion = 4
	wantFront.HeaderHash = newHash
	wantFront.Tags = map[string]string{"tier": "api"}
	wantFront.Location = "westus"
	wantFront.SystemPrincipalID = ""
	wantFront.UpdatedAt = at(time.Hour)
	same(t, "UpdateApp result", updated, wantFront, normApp)
	got, err = s.GetApp(ctx, front.ResourceID)
	must(t, "GetApp after update", err)
	same(t, "GetApp after update", got, wantFront, normApp)
	_, err = s.GetAppByHeaderHash(ctx, front.HeaderHash)
	wantNotFound(t, "GetAppByHeaderHash of the rotated-out hash", err)
	got, err = s.GetAppByHeaderHash(ctx, newHash)
	must(t, "GetAppByHeaderHash of the new hash", err)
	same(t, "GetAppByHeaderHash of the new hash", got, wantFront, normApp)
	withIdentity("u2 after update", u2)
	withIdentity("u3 after update", u3, wantFront)

	_, err = s.UpdateApp(ctx, lanyard.ResourceIDOf(subscription, "rg-Web", lanyard.TypeApp, "nope"),
		func(a lanyard.App) (lanyard.App, error) { return a, nil })
	wantNotFound(t, "UpdateApp of a missing app", err)

	// Assigning an identity that does not exist is refused, and leaves nothing behind.
	ghost := newApp("rg-Web", "app-Ghost")
	ghost.UserAssigned = []string{u3, guid()}
	wantNotFound(t, "CreateApp assigning a missing identity", s.CreateApp(ctx, ghost))
	_, err = s.GetApp(ctx, ghost.ResourceID)
	wantNotFound(t, "GetApp of an app whose create was refused", err)
	withIdentity("u3 after a refused create", u3, wantFront)
	_, err = s.UpdateApp(ctx, front.ResourceID, func(a lanyard.App) (lanyard.App, error) {
		a.UserAssigned = append(a.UserAssigned, guid())
		a.Location = "refused"
		return a, nil
	})
	wantNotFound(t, "UpdateApp assigning a missing identity", err)
	if got, err := s.GetApp(ctx, front.ResourceID); err != nil {
		t.Errorf("GetApp after a refused update: %v", err)
	} else {
		same(t, "app after a refused update", got, wantFront, normApp)
	}

	// Deleting an identity unassigns it everywhere.
	must(t, "DeleteIdentity u1", s.DeleteIdentity(ctx, u1))
	wantFront.UserAssigned = []string{u3}
	back.UserAssigned = nil
	got, err = s.GetApp(ctx, front.ResourceID)
	must(t, "GetApp after deleting an identity", err)
	same(t, "front after deleting u1", got, wantFront, normApp)
	got, err = s.GetApp(ctx, back.ResourceID)
	must(t, "GetApp after deleting an identity", err)
	same(t, "back after deleting u1", got, back, normApp)
	withIdentity("u1 after deleting it", u1)

	// Deleting an app leaves its identities alone.
	must(t, "DeleteApp", s.DeleteApp(ctx, strings.ToLower(front.ResourceID)))
	_, err = s.GetApp(ctx, front.ResourceID)
	wantNotFound(t, "GetApp after delete", err)
	wantNotFound(t, "DeleteApp twice", s.DeleteApp(ctx, front.ResourceID))
	withIdentity("u3 after deleting its app", u3)
	for _, p := range []string{sys.PrincipalID, u3} {
		if _, err := s.GetIdentity(ctx, p); err != nil {
			t.Errorf("DeleteApp deleted identity %s: %v", p, err)
		}
	}
	list, err := s.ListApps(ctx, "")
	must(t, "ListApps after delete", err)
	sameSet(t, "ListApps after delete", list, []lanyard.App{back, bare}, normApp, appID)

	// The resource id is free again, and the identity can be assigned anew.
	again := newApp("rg-Web", "app-Front")
	again.UserAssigned = []string{u3}
	must(t, "CreateApp reusing a deleted resource id", s.CreateApp(ctx, again))
	withIdentity("u3 on the recreated app", u3, again)
}
