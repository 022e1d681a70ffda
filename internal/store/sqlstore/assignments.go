package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

const roleAssignmentColumns = `a.id, a.scope, a.role_definition_id, a.principal_id, a.principal_type, a.description,
	a.condition, a.condition_version, a.created_at, a.updated_at`

func scanRoleAssignment(r rowScanner) (lanyard.RoleAssignment, error) {
	var (
		a                lanyard.RoleAssignment
		principalType    string
		created, updated int64
	)
	if err := r.Scan(&a.ID, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &principalType, &a.Description,
		&a.Condition, &a.ConditionVersion, &created, &updated); err != nil {
		return a, err
	}
	a.PrincipalType = lanyard.PrincipalType(principalType)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

func roleAssignmentNotFound(id string) error {
	return notFound("RoleAssignmentNotFound", "The role assignment '%s' is not found.", id)
}

// roleAssignmentConflict says which unique key a refused CreateRoleAssignment of a hit. An
// assignment of the same role to the same principal at the same scope is Azure's
// RoleAssignmentExists, whatever its id; otherwise the id is taken. cause is the driver's
// error; the write that raised it has been undone, so s can read again.
func (s *Store) roleAssignmentConflict(ctx context.Context, a lanyard.RoleAssignment, cause error) error {
	exists := &lanyard.Error{Kind: lanyard.KindConflict, Code: "RoleAssignmentExists",
		Message: "The role assignment already exists.", Err: cause}
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM role_assignments a
	WHERE a.scope_key = ? AND a.role_definition_id_key = ? AND a.principal_id_key = ?`,
		key(a.Scope), key(a.RoleDefinitionID), key(a.PrincipalID)).Scan(&n)
	if err != nil || n > 0 { // when it cannot tell, the likelier one
		return exists
	}
	return &lanyard.Error{Kind: lanyard.KindConflict,
		Message: fmt.Sprintf("A role assignment with id '%s' already exists.", a.ID), Err: cause}
}

func (s *Store) CreateRoleAssignment(ctx context.Context, a lanyard.RoleAssignment) error {
	err := s.inTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO role_assignments (id_key, id, scope, scope_key, role_definition_id, role_definition_id_key,
	principal_id, principal_id_key, principal_type, description, condition, condition_version, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(a.ID), a.ID, a.Scope, key(a.Scope), a.RoleDefinitionID, key(a.RoleDefinitionID),
			a.PrincipalID, key(a.PrincipalID), string(a.PrincipalType), a.Description, a.Condition, a.ConditionVersion,
			micros(a.CreatedAt), micros(a.UpdatedAt))
		return err
	})
	if s.d.isUniqueViolation(err) {
		return s.roleAssignmentConflict(ctx, a, err)
	}
	return s.wrapErr("create role assignment", err, "")
}

func (s *Store) GetRoleAssignment(ctx context.Context, id string) (lanyard.RoleAssignment, error) {
	a, err := scanRoleAssignment(s.queryRow(ctx, "SELECT "+roleAssignmentColumns+" FROM role_assignments a WHERE a.id_key = ?", key(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return a, roleAssignmentNotFound(id)
	}
	return a, s.wrapErr("get role assignment", err, "")
}

// ListRoleAssignments returns every assignment, by scope and then id.
func (s *Store) ListRoleAssignments(ctx context.Context) ([]lanyard.RoleAssignment, error) {
	rows, err := s.query(ctx, "SELECT "+roleAssignmentColumns+" FROM role_assignments a ORDER BY a.scope_key, a.id_key")
	if err != nil {
		return nil, s.wrapErr("list role assignments", err, "")
	}
	defer rows.Close()
	var as []lanyard.RoleAssignment
	for rows.Next() {
		a, err := scanRoleAssignment(rows)
		if err != nil {
			return nil, s.wrapErr("list role assignments", err, "")
		}
		as = append(as, a)
	}
	return as, s.wrapErr("list role assignments", rows.Err(), "")
}

// ListRoleAssignmentsPage implements store.RoleAssignments: keyset paging on the primary
// key, with the filter in the query, so a page costs one index range scan and no more than
// limit rows whatever the table holds.
func (s *Store) ListRoleAssignmentsPage(ctx context.Context, after string, limit int, f store.RoleAssignmentFilter) ([]lanyard.RoleAssignment, error) {
	if limit < 1 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString("SELECT " + roleAssignmentColumns + " FROM role_assignments a WHERE a.id_key > ?")
	args := []any{key(after)}
	if f.PrincipalID != "" {
		q.WriteString(" AND a.principal_id_key = ?")
		args = append(args, key(f.PrincipalID))
	}
	var scope []string
	if len(f.Scopes) > 0 {
		scope = append(scope, "a.scope_key IN (?"+strings.Repeat(", ?", len(f.Scopes)-1)+")")
		for _, sc := range f.Scopes {
			args = append(args, key(sc))
		}
	}
	if f.Below != "" {
		// A prefix test by substr rather than LIKE, which would need its wildcards escaped.
		prefix := strings.TrimSuffix(key(f.Below), "/") + "/"
		// (The root's prefix is the root itself, which is not below itself.)
		scope = append(scope, "(substr(a.scope_key, 1, ?) = ? AND a.scope_key <> ?)")
		args = append(args, utf8.RuneCountInString(prefix), prefix, prefix)
	}
	if len(scope) > 0 {
		q.WriteString(" AND (" + strings.Join(scope, " OR ") + ")")
	}
	q.WriteString(" ORDER BY a.id_key LIMIT ?")
	args = append(args, limit)
	return queryPage(ctx, s, "list role assignments", limit, scanRoleAssignment, q.String(), args...)
}

// CountRoleAssignmentsOfRole counts the assignments of the role with GUID roleDefinitionID,
// matched case-insensitively.
func (s *Store) CountRoleAssignmentsOfRole(ctx context.Context, roleDefinitionID string) (int, error) {
	var n int64
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM role_assignments a WHERE a.role_definition_id_key = ?", key(roleDefinitionID)).Scan(&n)
	if err != nil {
		return 0, s.wrapErr("count role assignments", err, "")
	}
	return int(n), nil
}

func (s *Store) DeleteRoleAssignment(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return roleAssignmentNotFound(id) }, "DELETE FROM role_assignments WHERE id_key = ?", key(id))
	})
	return s.wrapErr("delete role assignment", err, "")
}
