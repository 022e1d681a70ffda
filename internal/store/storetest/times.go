package storetest

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// testTimes checks that times come back at microsecond precision, in UTC, whatever zone and
// precision they went in with.
func testTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	cases := []time.Time{
		time.Date(2031, 5, 6, 7, 8, 9, 123456789, zone),
		time.Date(2031, 5, 6, 7, 8, 9, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC), // before the epoch
		time.Date(2999, 12, 31, 23, 59, 59, 1000, zone),
	}
	check := func(what string, got, in time.Time) {
		t.Helper()
		want := in.Truncate(time.Microsecond).UTC()
		if got != want || got.Location() != time.UTC {
			t.Errorf("%s: %v went in, %v (%v) came out; want %v", what, in, got, got.Location(), want)
		}
	}
	for i, tm := range cases {
		g := newGroup("rg-time-" + string(rune('a'+i)))
		g.CreatedAt = tm
		must(t, "CreateGroup", s.CreateGroup(ctx, g))
		got, err := s.GetGroup(ctx, g.Name)
		must(t, "GetGroup", err)
		check("group CreatedAt", got.CreatedAt, tm)

		id := newIdentity(lanyard.UserAssigned, g.Name, "id")
		id.CreatedAt, id.UpdatedAt = tm, tm.Add(time.Nanosecond*1500)
		must(t, "CreateIdentity", s.CreateIdentity(ctx, id))
		gotID, err := s.GetIdentity(ctx, id.PrincipalID)
		must(t, "GetIdentity", err)
		check("identity CreatedAt", gotID.CreatedAt, id.CreatedAt)
		check("identity UpdatedAt", gotID.UpdatedAt, id.UpdatedAt)

		a := newApp(g.Name, "app")
		a.CreatedAt, a.UpdatedAt = tm, tm.Add(time.Microsecond)
		must(t, "CreateApp", s.CreateApp(ctx, a))
		gotApp, err := s.GetApp(ctx, a.ResourceID)
		must(t, "GetApp", err)
		check("app CreatedAt", gotApp.CreatedAt, a.CreatedAt)
		check("app UpdatedAt", gotApp.UpdatedAt, a.UpdatedAt)

		d := newRoleDefinition("Time Role " + string(rune('a'+i)))
		d.CreatedAt, d.UpdatedAt = tm, tm.Add(time.Nanosecond*999)
		must(t, "CreateRoleDefinition", s.CreateRoleDefinition(ctx, d))
		gotDef, err := s.GetRoleDefinition(ctx, d.ID)
		must(t, "GetRoleDefinition", err)
		check("role definition CreatedAt", gotDef.CreatedAt, d.CreatedAt)
		check("role definition UpdatedAt", gotDef.UpdatedAt, d.UpdatedAt)

		ra := newRoleAssignment(groupScope(g.Name), d.ID, id.PrincipalID)
		ra.CreatedAt, ra.UpdatedAt = tm, tm.Add(-time.Microsecond)
		must(t, "CreateRoleAssignment", s.CreateRoleAssignment(ctx, ra))
		gotRA, err := s.GetRoleAssignment(ctx, ra.ID)
		must(t, "GetRoleAssignment", err)
		check("role assignment CreatedAt", gotRA.CreatedAt, ra.CreatedAt)
		check("role assignment UpdatedAt", gotRA.UpdatedAt, ra.UpdatedAt)

		sa := newStorageAccount(g.Name, "sttime"+string(rune('a'+i)))
		sa.CreatedAt, sa.UpdatedAt = tm, tm.Add(time.Nanosecond*1001)
		must(t, "CreateStorageAccount", s.CreateStorageAccount(ctx, sa))
		gotSA, err := s.GetStorageAccount(ctx, sa.Name)
		must(t, "GetStorageAccount", err)
		check("storage account CreatedAt", gotSA.CreatedAt, sa.CreatedAt)
		check("storage account UpdatedAt", gotSA.UpdatedAt, sa.UpdatedAt)

		k := newKey(0)
		k.CreatedAt, k.RetiredAt, k.RemoveAfter = tm, ptr(tm.Add(time.Second)), ptr(tm.Add(time.Hour+7))
		must(t, "CreateKey", s.CreateKey(ctx, k))
		keys, err := s.ListKeys(ctx)
		must(t, "ListKeys", err)
		found := false
		for _, got := range keys {
			if got.ID != k.ID {
				continue
			}
			found = true
			check("key CreatedAt", got.CreatedAt, k.CreatedAt)
			if got.RetiredAt == nil || got.RemoveAfter == nil {
				t.Errorf("key times came back nil: %+v", got)
				continue
			}
			check("key RetiredAt", *got.RetiredAt, *k.RetiredAt)
			check("key RemoveAfter", *got.RemoveAfter, *k.RemoveAfter)
		}
		if !found {
			t.Errorf("key %s missing from ListKeys", k.ID)
		}
	}

	// The zero time is a value like any other.
	g := newGroup("rg-zero")
	g.CreatedAt = time.Time{}
	must(t, "CreateGroup", s.CreateGroup(ctx, g))
	got, err := s.GetGroup(ctx, g.Name)
	must(t, "GetGroup", err)
	if !got.CreatedAt.IsZero() {
		t.Errorf("zero CreatedAt came back as %v", got.CreatedAt)
	}
}
