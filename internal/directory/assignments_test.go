package directory

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Role assignments go with the resource they are scoped to, as ARM's extension resources
// do, so they never apply to a resource re-created under the same name.
func TestAssignmentsGoWithTheirScope(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	var forgotten []string
	s.OnAssignmentsRemoved = func(ids []string) { forgotten = append(forgotten, ids...) }
	for _, g := range []string{"g", "h"} {
		if _, _, err := s.PutGroup(ctx, g, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	acct, _, err := s.PutStorageAccount(ctx, "g", "acct1", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	id1, _, err := s.PutIdentity(ctx, "g", "id1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := s.PutApp(ctx, "g", "web", AppSpec{SystemAssigned: true})
	if err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{Directory: s, FreeAddress: func() (string, error) { return "127.0.0.1:16999", nil }}
	srv, _, err := pg.PutServer(ctx, "g", "pg1", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	assign := func(scope string) string {
		t.Helper()
		now := time.Now().UTC()
		a := lanyard.RoleAssignment{ID: uuid.NewString(), Scope: scope, RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
			PrincipalID: uuid.NewString(), PrincipalType: lanyard.PrincipalServicePrincipal, CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateRoleAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	container := assign(acct.ResourceID + "/blobServices/default/containers/c1")
	atAccount := assign(acct.ResourceID)
	atIdentity := assign(id1.ResourceID)
	atApp := assign(app.ResourceID)
	atGroup := assign(lanyard.GroupID("sub-1", "g"))
	// Same name prefix, another resource: must stay.
	twin := assign(acct.ResourceID + "2")
	atOtherGroup := assign(lanyard.GroupID("sub-1", "h"))
	atSub := assign("/subscriptions/sub-1")
	atServer := assign(srv.ResourceID)
	if err := pg.DeleteServer(ctx, "g", "pg1"); err != nil {
		t.Fatal(err)
	}

	remaining := func() []string {
		t.Helper()
		all, err := s.store.ListRoleAssignments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range all {
			ids = append(ids, a.ID)
		}
		return ids
	}
	check := func(step string, gone, kept []string) {
		t.Helper()
		left := remaining()
		for _, id := range gone {
			if slices.Contains(left, id) || !slices.Contains(forgotten, id) {
				t.Errorf("%s: assignment %s still stored or not reported", step, id)
			}
		}
		for _, id := range kept {
			if !slices.Contains(left, id) || slices.Contains(forgotten, id) {
				t.Errorf("%s: assignment %s removed", step, id)
			}
		}
	}
	if err := s.DeleteStorageAccount(ctx, "g", "acct1"); err != nil {
		t.Fatal(err)
	}
	check("account deleted", []string{container, atAccount, atServer}, []string{atIdentity, atApp, atGroup, twin, atOtherGroup, atSub})
	if err := s.DeleteIdentity(ctx, "g", "id1"); err != nil {
		t.Fatal(err)
	}
	check("identity deleted", []string{atIdentity}, []string{atApp, atGroup, twin, atOtherGroup, atSub})
	if err := s.DeleteApp(ctx, "g", "web"); err != nil {
		t.Fatal(err)
	}
	check("app deleted", []string{atApp}, []string{atGroup, twin, atOtherGroup, atSub})
	if err := s.DeleteGroup(ctx, "G"); err != nil {
		t.Fatal(err)
	}
	check("group deleted", []string{atGroup, twin}, []string{atOtherGroup, atSub})
}
