package access

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

const (
	sub              = "11111111-2222-3333-4444-555555555555"
	blobDataContrib  = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	blobDataReader   = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	blobWrite        = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	blobRead         = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	roleAssignWrite  = "Microsoft.Authorization/roleAssignments/write"
	accountScope     = "/subscriptions/" + sub + "/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct"
	containerScope   = accountScope + "/blobServices/default/containers/c1"
	otherContainer   = accountScope + "/blobServices/default/containers/c2"
	blobInContainer1 = containerScope + "/blobs/x.txt"
)

type fixture struct {
	svc   *Service
	store store.Store
	known map[string]bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(t.Context(), st, lanyard.Tenant{ID: "tid", SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: st, known: map[string]bool{}}
}

// principal makes a principal the lookup knows.
func (f *fixture) principal() string {
	p := uuid.NewString()
	f.known[p] = true
	return p
}

func (f *fixture) exists(_ context.Context, p string) error {
	if f.known[p] {
		return nil
	}
	return lanyard.Errorf(lanyard.KindNotFound, "no such principal")
}

func (f *fixture) assign(t *testing.T, principal, role, scope string) lanyard.RoleAssignment {
	t.Helper()
	a, err := f.svc.CreateRoleAssignment(t.Context(), lanyard.RoleAssignment{Scope: scope, RoleDefinitionID: role, PrincipalID: principal}, f.exists)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDecisionsAreLive(t *testing.T) {
	f := newFixture(t)
	p := f.principal()
	if f.svc.Decide(p, blobWrite, true, blobInContainer1).Allowed {
		t.Fatal("allowed before any assignment")
	}
	a := f.assign(t, p, "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+blobDataContrib, accountScope)
	d := f.svc.Decide(p, blobWrite, true, blobInContainer1)
	if !d.Allowed || d.AssignmentID != a.ID || d.RoleName != "Storage Blob Data Contributor" {
		t.Fatalf("after assignment: %+v", d)
	}
	if _, err := f.svc.DeleteRoleAssignment(t.Context(), a.Scope, a.ID); err != nil {
		t.Fatal(err)
	}
	if f.svc.Decide(p, blobWrite, true, blobInContainer1).Allowed {
		t.Fatal("still allowed right after the assignment was deleted")
	}
	// A new service over the same store sees the same state: nothing was only in memory.
	b := f.assign(t, p, blobDataReader, containerScope)
	fresh, err := New(t.Context(), f.store, lanyard.Tenant{ID: "tid", SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	if d := fresh.Decide(p, blobRead, true, blobInContainer1); !d.Allowed || d.AssignmentID != b.ID {
		t.Fatalf("reloaded service: %+v", d)
	}
	if fresh.Decide(p, blobRead, true, otherContainer+"/blobs/y").Allowed {
		t.Fatal("a container-scoped role opened another container")
	}
	if fresh.Decide(p, blobWrite, true, blobInContainer1).Allowed {
		t.Fatal("Reader may write")
	}
}

func TestReloadSeesChangesMadeElsewhere(t *testing.T) {
	f := newFixture(t)
	other, err := New(t.Context(), f.store, lanyard.Tenant{ID: "tid", SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal()
	f.assign(t, p, blobDataReader, accountScope)
	if other.Decide(p, blobRead, true, blobInContainer1).Allowed {
		t.Fatal("a second node saw the change without reloading: the test proves nothing")
	}
	if err := other.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !other.Decide(p, blobRead, true, blobInContainer1).Allowed {
		t.Fatal("Reload did not pick up the assignment")
	}
}

func TestCreateRoleAssignmentValidation(t *testing.T) {
	f := newFixture(t)
	p := f.principal()
	for _, tc := range []struct {
		name string
		a    lanyard.RoleAssignment
		code string
	}{
		{"unknown role", lanyard.RoleAssignment{Scope: accountScope, RoleDefinitionID: uuid.NewString(), PrincipalID: p}, "RoleDefinitionDoesNotExist"},
		{"unknown principal", lanyard.RoleAssignment{Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: uuid.NewString()}, "PrincipalNotFound"},
		{"principal not a guid", lanyard.RoleAssignment{Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: "bob"}, "InvalidPrincipalId"},
		{"bad scope", lanyard.RoleAssignment{Scope: "/nope/x", RoleDefinitionID: blobDataReader, PrincipalID: p}, "InvalidScope"},
		{"other subscription", lanyard.RoleAssignment{Scope: "/subscriptions/" + uuid.NewString(), RoleDefinitionID: blobDataReader, PrincipalID: p}, "SubscriptionNotFound"},
		{"id not a guid", lanyard.RoleAssignment{ID: "x", Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: p}, "InvalidRoleAssignmentId"},
		{"user principal type", lanyard.RoleAssignment{Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: p, PrincipalType: lanyard.PrincipalUser}, "UnsupportedPrincipalType"},
		{"bad condition", lanyard.RoleAssignment{Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: p, Condition: "((("}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateRoleAssignment(t.Context(), tc.a, f.exists)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.code != "" && lanyard.CodeOf(err) != tc.code {
				t.Fatalf("code = %q (%v), want %s", lanyard.CodeOf(err), err, tc.code)
			}
		})
	}
	f.assign(t, p, blobDataReader, accountScope)
	_, err := f.svc.CreateRoleAssignment(t.Context(), lanyard.RoleAssignment{Scope: accountScope + "/", RoleDefinitionID: blobDataReader, PrincipalID: p}, f.exists)
	if lanyard.CodeOf(err) != "RoleAssignmentExists" {
		t.Fatalf("duplicate assignment: %v", err)
	}
}

// A PUT repeated as a template redeploy repeats it: the same id and body is the
// assignment that exists, not created again; the same id with another role (or scope) is
// RoleAssignmentUpdateNotPermitted; another id for the same role, principal and scope is
// RoleAssignmentExists.
func TestPutRoleAssignmentIsIdempotent(t *testing.T) {
	f := newFixture(t)
	p := f.principal()
	a := lanyard.RoleAssignment{ID: uuid.NewString(), Scope: accountScope, RoleDefinitionID: blobDataReader, PrincipalID: p}
	first, created, err := f.svc.PutRoleAssignment(t.Context(), a, f.exists)
	if err != nil || !created {
		t.Fatalf("first PUT: created %v, %v", created, err)
	}
	again, created, err := f.svc.PutRoleAssignment(t.Context(), a, f.exists)
	if err != nil || created || again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("redeploy: %+v created %v, %v", again, created, err)
	}
	other := a
	other.RoleDefinitionID = blobDataContrib
	if _, _, err := f.svc.PutRoleAssignment(t.Context(), other, f.exists); lanyard.CodeOf(err) != "RoleAssignmentUpdateNotPermitted" {
		t.Fatalf("same id, other role: %v", err)
	}
	moved := a
	moved.Scope = "/subscriptions/" + sub
	if _, _, err := f.svc.PutRoleAssignment(t.Context(), moved, f.exists); lanyard.CodeOf(err) != "RoleAssignmentUpdateNotPermitted" {
		t.Fatalf("same id, other scope: %v", err)
	}
	twin := a
	twin.ID = uuid.NewString()
	if _, _, err := f.svc.PutRoleAssignment(t.Context(), twin, f.exists); lanyard.CodeOf(err) != "RoleAssignmentExists" {
		t.Fatalf("other id, same role, principal and scope: %v", err)
	}
}

func allowAll(string, string) error { return nil }

func TestCustomRoles(t *testing.T) {
	f := newFixture(t)
	groupScope := "/subscriptions/" + sub + "/resourceGroups/g"
	role := lanyard.RoleDefinition{
		ID: uuid.NewString(), Name: "Blob Peeker", Description: "reads blobs",
		Permissions:      []lanyard.Permission{{DataActions: []string{blobRead}}},
		AssignableScopes: []string{groupScope},
	}
	got, created, err := f.svc.PutRoleDefinition(t.Context(), groupScope, role, allowAll)
	if err != nil || !created || got.BuiltIn {
		t.Fatalf("create: %+v created=%v err=%v", got, created, err)
	}
	p := f.principal()
	a := f.assign(t, p, got.ID, accountScope)
	if !f.svc.Decide(p, blobRead, true, blobInContainer1).Allowed || f.svc.Decide(p, blobWrite, true, blobInContainer1).Allowed {
		t.Fatal("custom role grants the wrong things")
	}
	// Outside its assignable scopes it cannot be assigned.
	_, err = f.svc.CreateRoleAssignment(t.Context(), lanyard.RoleAssignment{Scope: "/subscriptions/" + sub + "/resourceGroups/other", RoleDefinitionID: got.ID, PrincipalID: p}, f.exists)
	if lanyard.CodeOf(err) != "InvalidRoleAssignmentScope" {
		t.Fatalf("assign outside assignable scopes: %v", err)
	}
	// Updating the role changes the very next decision.
	role.Permissions = []lanyard.Permission{{DataActions: []string{blobRead, blobWrite}}}
	if _, created, err := f.svc.PutRoleDefinition(t.Context(), groupScope, role, allowAll); err != nil || created {
		t.Fatalf("update: created=%v err=%v", created, err)
	}
	if !f.svc.Decide(p, blobWrite, true, blobInContainer1).Allowed {
		t.Fatal("updated role not in effect")
	}
	if byName, err := f.svc.FindRole(t.Context(), "blob peeker"); err != nil || byName.ID != got.ID {
		t.Fatalf("FindRole by name: %+v %v", byName, err)
	}
	if list, _ := f.svc.ListRoleDefinitions(t.Context(), "Blob Peeker"); len(list) != 1 {
		t.Fatalf("list by name: %d results", len(list))
	}
	// A role in use cannot be deleted; once unassigned it can.
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), groupScope, got.ID, allowAll); lanyard.CodeOf(err) != "RoleDefinitionHasAssignments" {
		t.Fatalf("delete role in use: %v", err)
	}
	if _, err := f.svc.DeleteRoleAssignment(t.Context(), a.Scope, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), groupScope, got.ID, allowAll); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRoleDefinition(t.Context(), got.ID); lanyard.CodeOf(err) != "RoleDefinitionDoesNotExist" {
		t.Fatalf("deleted role still found: %v", err)
	}
	// Built-in roles are read-only and their names are reserved.
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupScope, lanyard.RoleDefinition{ID: blobDataReader, Name: "x"}, allowAll); lanyard.CodeOf(err) != "RoleDefinitionBuiltIn" {
		t.Fatalf("overwrite built-in: %v", err)
	}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), groupScope, lanyard.RoleDefinition{ID: uuid.NewString(), Name: "reader", Permissions: role.Permissions, AssignableScopes: role.AssignableScopes}, allowAll); lanyard.CodeOf(err) != "RoleDefinitionWithSameNameExists" {
		t.Fatalf("custom role named like a built-in: %v", err)
	}
	if _, err := f.svc.DeleteRoleDefinition(t.Context(), groupScope, blobDataReader, allowAll); lanyard.CodeOf(err) != "RoleDefinitionBuiltIn" {
		t.Fatalf("delete built-in: %v", err)
	}
}

func TestListRoleAssignmentsFilter(t *testing.T) {
	f := newFixture(t)
	p1, p2 := f.principal(), f.principal()
	atSub := f.assign(t, p1, blobDataReader, "/subscriptions/"+sub)
	atAcct := f.assign(t, p1, blobDataContrib, accountScope)
	atCont := f.assign(t, p2, blobDataReader, containerScope)
	ids := func(as []lanyard.RoleAssignment) map[string]bool {
		m := map[string]bool{}
		for _, a := range as {
			m[a.ID] = true
		}
		return m
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{atSub.ID, atAcct.ID, atCont.ID}},
		{"principal", Filter{PrincipalID: p2}, []string{atCont.ID}},
		{"scope: above and below", Filter{Scope: accountScope}, []string{atSub.ID, atAcct.ID, atCont.ID}},
		{"atScope: at or above only", Filter{Scope: accountScope, AtScope: true}, []string{atSub.ID, atAcct.ID}},
		{"scope and principal", Filter{Scope: containerScope, AtScope: true, PrincipalID: p1}, []string{atSub.ID, atAcct.ID}},
		{"scope with a trailing slash", Filter{Scope: accountScope + "/", AtScope: true}, []string{atSub.ID, atAcct.ID}},
		{"below only", Filter{Scope: containerScope + "/blobs/x"}, []string{atSub.ID, atAcct.ID, atCont.ID}},
		{"a sibling's prefix", Filter{Scope: accountScope + "x"}, []string{atSub.ID}},
		{"root", Filter{Scope: "/"}, []string{atSub.ID, atAcct.ID, atCont.ID}},
		{"root, at scope", Filter{Scope: "/", AtScope: true}, []string{atSub.ID, atAcct.ID, atCont.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One assignment a page, so the filter is applied across pages.
			var got []lanyard.RoleAssignment
			for after := ""; ; {
				page, err := f.svc.ListRoleAssignmentsPage(t.Context(), tc.f, after, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got, after = append(got, page...), page[0].ID
			}
			g := ids(got)
			if len(g) != len(tc.want) {
				t.Fatalf("got %d assignments, want %d", len(g), len(tc.want))
			}
			for _, id := range tc.want {
				if !g[id] {
					t.Errorf("missing %s", id)
				}
			}
		})
	}
}
