package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testRoleAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()

	all, err := s.ListRoleAssignments(ctx)
	must(t, "ListRoleAssignments on an empty store", err)
	if len(all) != 0 {
		t.Fatalf("ListRoleAssignments on an empty store = %d assignments", len(all))
	}

	// Assignments name roles and principals the store need not hold: built-in roles are not
	// stored, and assignments outlive their principals.
	role, otherRole, principal, otherPrincipal := guid(), guid(), guid(), guid()
	rg := groupScope("rg-Data")

	a1 := newRoleAssignment(rg, role, principal)
	// The same role for the same principal at another scope, even one above or below.
	a2 := newRoleAssignment("/subscriptions/"+subscription, role, principal)
	a2.ID = strings.ToUpper(a2.ID) // ids come back as they went in
	a2.Description, a2.Condition, a2.ConditionVersion = "subscription-wide", "", ""
	a2.CreatedAt, a2.UpdatedAt = at(time.Hour), at(2*time.Hour)
	// Another role for the same principal at the same scope.
	a3 := newRoleAssignment(rg, otherRole, principal)
	a3.PrincipalType = lanyard.PrincipalUser
	// The same role at the same scope for another principal.
	a4 := newRoleAssignment(rg, strings.ToUpper(role), otherPrincipal)
	a4.PrincipalType = lanyard.PrincipalGroup
	a4.Condition = "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:project<$key_case_sensitive$>] StringEquals 'x'"
	// At the root scope.
	a5 := newRoleAssignment("/", otherRole, otherPrincipal)
	as := []lanyard.RoleAssignment{a1, a2, a3, a4, a5}
	for _, a := range as {
		must(t, "CreateRoleAssignment", s.CreateRoleAssignment(ctx, a))
	}

	for _, want := range as {
		for _, id := range []string{want.ID, strings.ToLower(want.ID), strings.ToUpper(want.ID)} {
			got, err := s.GetRoleAssignment(ctx, id)
			must(t, "GetRoleAssignment "+id, err)
			same(t, "GetRoleAssignment "+id, got, want, normRoleAssignment)
		}
	}
	_, err = s.GetRoleAssignment(ctx, guid())
	wantCode(t, "GetRoleAssignment of a missing assignment", err, lanyard.KindNotFound, "RoleAssignmentNotFound")

	all, err = s.ListRoleAssignments(ctx)
	must(t, "ListRoleAssignments", err)
	sameSet(t, "ListRoleAssignments", all, as, normRoleAssignment, assignmentID)

	// The same role, principal and scope under a new id is a duplicate, whatever the case of
	// the scope and the GUIDs.
	dups := []lanyard.RoleAssignment{
		newRoleAssignment(strings.ToUpper(rg), strings.ToUpper(role), strings.ToUpper(principal)),
		newRoleAssignment(strings.ToLower(rg), role, strings.ToUpper(otherPrincipal)),
		newRoleAssignment("/", strings.ToUpper(otherRole), otherPrincipal),
	}
	for _, dup := range dups {
		dup.Description, dup.Condition, dup.ConditionVersion = "refused", "", ""
		err := s.CreateRoleAssignment(ctx, dup)
		wantCode(t, "CreateRoleAssignment of a duplicate", err, lanyard.KindConflict, "RoleAssignmentExists")
		if lanyard.IsConflict(err) && lanyard.MessageOf(err) != "The role assignment already exists." {
			t.Errorf("CreateRoleAssignment of a duplicate: message %q, want Azure's", lanyard.MessageOf(err))
		}
		_, err = s.GetRoleAssignment(ctx, dup.ID)
		wantNotFound(t, "GetRoleAssignment of a refused duplicate", err)
	}
	// So is a taken id, whatever its case.
	takenID := newRoleAssignment(groupScope("rg-Other"), guid(), guid())
	takenID.ID = strings.ToLower(a2.ID)
	wantConflict(t, "CreateRoleAssignment with a taken id", s.CreateRoleAssignment(ctx, takenID))
	all, err = s.ListRoleAssignments(ctx)
	must(t, "ListRoleAssignments after refused creates", err)
	sameSet(t, "ListRoleAssignments after refused creates", all, as, normRoleAssignment, assignmentID)

	count := func(what, roleID string, want int) {
		t.Helper()
		n, err := s.CountRoleAssignmentsOfRole(ctx, roleID)
		must(t, "CountRoleAssignmentsOfRole", err)
		if n != want {
			t.Errorf("CountRoleAssignmentsOfRole(%s) = %d, want %d", what, n, want)
		}
	}
	count("role", role, 3)
	count("role in upper case", strings.ToUpper(role), 3)
	count("otherRole", otherRole, 2)
	count("an unused role", guid(), 0)

	must(t, "DeleteRoleAssignment", s.DeleteRoleAssignment(ctx, strings.ToUpper(a1.ID)))
	_, err = s.GetRoleAssignment(ctx, a1.ID)
	wantCode(t, "GetRoleAssignment after delete", err, lanyard.KindNotFound, "RoleAssignmentNotFound")
	wantCode(t, "DeleteRoleAssignment twice", s.DeleteRoleAssignment(ctx, a1.ID), lanyard.KindNotFound, "RoleAssignmentNotFound")
	count("role after a delete", role, 2)
	all, err = s.ListRoleAssignments(ctx)
	must(t, "ListRoleAssignments after delete", err)
	sameSet(t, "ListRoleAssignments after delete", all, []lanyard.RoleAssignment{a2, a3, a4, a5}, normRoleAssignment, assignmentID)

	// Role, principal and scope are free again, and so is the id.
	again := dups[0]
	again.ID = a1.ID
	must(t, "CreateRoleAssignment reusing a deleted assignment's id, role, principal and scope", s.CreateRoleAssignment(ctx, again))
	if got, err := s.GetRoleAssignment(ctx, a1.ID); err != nil {
		t.Errorf("GetRoleAssignment of the recreated assignment: %v", err)
	} else {
		same(t, "recreated assignment", got, again, normRoleAssignment)
	}
	count("role after recreating", role, 3)

	// Inside a transaction a duplicate is reported the same way, and the transaction goes on.
	x := newRoleAssignment(groupScope("rg-Tx"), guid(), guid())
	y := newRoleAssignment(groupScope("rg-Tx"), x.RoleDefinitionID, guid())
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateRoleAssignment(ctx, x); err != nil {
			return err
		}
		dup := newRoleAssignment(strings.ToUpper(x.Scope), strings.ToUpper(x.RoleDefinitionID), strings.ToUpper(x.PrincipalID))
		if err := tx.CreateRoleAssignment(ctx, dup); lanyard.CodeOf(err) != "RoleAssignmentExists" {
			return errors.Join(errors.New("duplicate CreateRoleAssignment in a transaction did not report RoleAssignmentExists"), err)
		}
		if n, err := tx.CountRoleAssignmentsOfRole(ctx, x.RoleDefinitionID); err != nil || n != 1 {
			return errors.Join(errors.New("CountRoleAssignmentsOfRole in a transaction is not 1"), err)
		}
		return tx.CreateRoleAssignment(ctx, y)
	})
	must(t, "InTx", err)
	count("the role created in a transaction", x.RoleDefinitionID, 2)
}
