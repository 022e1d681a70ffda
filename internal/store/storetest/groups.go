package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()

	a := newGroup("rg-Alpha")
	b := newGroup("RG-beta")
	b.Location, b.CreatedAt = "eastus", at(time.Hour)
	must(t, "CreateGroup a", s.CreateGroup(ctx, a))
	must(t, "CreateGroup b", s.CreateGroup(ctx, b))

	for _, name := range []string{"rg-Alpha", "rg-alpha", "RG-ALPHA"} {
		got, err := s.GetGroup(ctx, name)
		must(t, "GetGroup "+name, err)
		same(t, "GetGroup "+name, got, a, normGroup)
	}
	_, err := s.GetGroup(ctx, "rg-gamma")
	wantNotFound(t, "GetGroup of a missing group", err)

	dup := newGroup("RG-alpha")
	dup.Location = "japaneast"
	wantConflict(t, "CreateGroup differing only by case", s.CreateGroup(ctx, dup))
	if got, err := s.GetGroup(ctx, "rg-alpha"); err != nil || got.Name != "rg-Alpha" || got.Location != a.Location {
		t.Errorf("a refused CreateGroup changed the group: got %+v, %v", got, err)
	}

	list, err := s.ListGroups(ctx)
	must(t, "ListGroups", err)
	sameSet(t, "ListGroups", list, []lanyard.ResourceGroup{a, b}, normGroup, groupName)

	// Update hands the updater the stored value and stores what it returns.
	var seen lanyard.ResourceGroup
	updated, err := s.UpdateGroup(ctx, "RG-ALPHA", func(g lanyard.ResourceGroup) (lanyard.ResourceGroup, error) {
		seen = g
		g.Location = "francecentral"
		g.Tags = map[string]string{"env": "prod", "new": "tag"}
		return g, nil
	})
	must(t, "UpdateGroup", err)
	same(t, "the value UpdateGroup passes its updater", seen, a, normGroup)
	want := a
	want.Location, want.Tags = "francecentral", map[string]string{"env": "prod", "new": "tag"}
	same(t, "UpdateGroup result", updated, want, normGroup)
	got, err := s.GetGroup(ctx, "rg-alpha")
	must(t, "GetGroup after update", err)
	same(t, "GetGroup after update", got, want, normGroup)

	// Removing every tag must stick too.
	_, err = s.UpdateGroup(ctx, "rg-alpha", func(g lanyard.ResourceGroup) (lanyard.ResourceGroup, error) {
		g.Tags = nil
		return g, nil
	})
	must(t, "UpdateGroup clearing tags", err)
	if got, err := s.GetGroup(ctx, "rg-alpha"); err != nil || len(got.Tags) != 0 {
		t.Errorf("tags after clearing = %v, %v; want none", got.Tags, err)
	}

	boom := errors.New("boom")
	_, err = s.UpdateGroup(ctx, "rg-beta", func(g lanyard.ResourceGroup) (lanyard.ResourceGroup, error) {
		g.Location = "changed"
		return g, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateGroup with a failing updater: got %v, want the updater's error", err)
	}
	if got, err := s.GetGroup(ctx, "rg-beta"); err != nil || got.Location != b.Location {
		t.Errorf("a failed update changed the group: got %+v, %v", got, err)
	}

	called := false
	_, err = s.UpdateGroup(ctx, "rg-gamma", func(g lanyard.ResourceGroup) (lanyard.ResourceGroup, error) {
		called = true
		return g, nil
	})
	wantNotFound(t, "UpdateGroup of a missing group", err)
	if called {
		t.Error("UpdateGroup called its updater for a missing group")
	}

	must(t, "DeleteGroup", s.DeleteGroup(ctx, strings.ToUpper(a.Name)))
	_, err = s.GetGroup(ctx, a.Name)
	wantNotFound(t, "GetGroup after delete", err)
	wantNotFound(t, "DeleteGroup twice", s.DeleteGroup(ctx, a.Name))
	list, err = s.ListGroups(ctx)
	must(t, "ListGroups after delete", err)
	sameSet(t, "ListGroups after delete", list, []lanyard.ResourceGroup{b}, normGroup, groupName)

	// The name is free again.
	must(t, "CreateGroup after delete", s.CreateGroup(ctx, dup))
	if got, err := s.GetGroup(ctx, "rg-alpha"); err != nil || got.Name != "RG-alpha" {
		t.Errorf("GetGroup of the recreated group = %+v, %v; want the new spelling RG-alpha", got, err)
	}
}
