package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const roleDefinitionColumns = "r.id, r.name, r.description, r.built_in, r.permissions, r.assignable_scopes, r.created_at, r.updated_at"

// permissionJSON is the stored form of a permission block. Its field names are part of the
// schema: they must not follow renames of lanyard.Permission.
type permissionJSON struct {
	Actions          []string `json:"actions,omitempty"`
	NotActions       []string `json:"notActions,omitempty"`
	DataActions      []string `json:"dataActions,omitempty"`
	NotDataActions   []string `json:"notDataActions,omitempty"`
	Condition        string   `json:"condition,omitempty"`
	ConditionVersion string   `json:"conditionVersion,omitempty"`
}

func encodePermissions(ps []lanyard.Permission) (string, error) {
	out := make([]permissionJSON, len(ps))
	for i, p := range ps {
		out[i] = permissionJSON(p)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode permissions: %w", err)
	}
	return string(b), nil
}

func decodePermissions(s string) ([]lanyard.Permission, error) {
	var in []permissionJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode permissions: %w", err)
	}
	var ps []lanyard.Permission
	for _, p := range in {
		ps = append(ps, lanyard.Permission(p))
	}
	return ps, nil
}

func encodeStrings(ss []string) (string, error) {
	if len(ss) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

func decodeStrings(s string) ([]string, error) {
	var ss []string
	if err := json.Unmarshal([]byte(s), &ss); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

func scanRoleDefinition(r rowScanner) (lanyard.RoleDefinition, error) {
	var (
		d                lanyard.RoleDefinition
		permissions      string
		scopes           string
		created, updated int64
	)
	if err := r.Scan(&d.ID, &d.Name, &d.Description, &d.BuiltIn, &permissions, &scopes, &created, &updated); err != nil {
		return d, err
	}
	var err error
	if d.Permissions, err = decodePermissions(permissions); err != nil {
		return d, err
	}
	if d.AssignableScopes, err = decodeStrings(scopes); err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

func roleDefinitionNotFound(id string) error {
	return notFound("RoleDefinitionDoesNotExist", "The role definition '%s' does not exist.", id)
}

// Azure's words for a role name that another role has.
const (
	roleNameTakenCode    = "RoleDefinitionWithSameNameExists"
	roleNameTakenMessage = "A role definition cannot be updated with a name that already exists."
)

// roleDefinitionConflict says which unique column a refused CreateRoleDefinition of d hit:
// the name, held by another role, or the id. cause is the driver's error; the write that
// raised it has been undone, so s can read again.
func (s *Store) roleDefinitionConflict(ctx context.Context, d lanyard.RoleDefinition, cause error) error {
	var holder string
	err := s.queryRow(ctx, "SELECT r.id FROM role_definitions r WHERE r.name_key = ?", key(d.Name)).Scan(&holder)
	switch {
	case err == nil && key(holder) != key(d.ID):
		return &lanyard.Error{Kind: lanyard.KindConflict, Code: roleNameTakenCode, Message: roleNameTakenMessage, Err: cause}
	case err == nil || errors.Is(err, sql.ErrNoRows):
		return &lanyard.Error{Kind: lanyard.KindConflict,
			Message: fmt.Sprintf("A role definition with id '%s' already exists.", d.ID), Err: cause}
	default: // cannot tell which
		return &lanyard.Error{Kind: lanyard.KindConflict,
			Message: "A role definition with the same id or name already exists.", Err: cause}
	}
}

func (s *Store) CreateRoleDefinition(ctx context.Context, d lanyard.RoleDefinition) error {
	err := s.inTx(ctx, func(tx *Store) error {
		permissions, err := encodePermissions(d.Permissions)
		if err != nil {
			return err
		}
		scopes, err := encodeStrings(d.AssignableScopes)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO role_definitions (id_key, id, name, name_key, description, built_in, permissions,
	assignable_scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(d.ID), d.ID, d.Name, key(d.Name), d.Description, d.BuiltIn, permissions, scopes,
			micros(d.CreatedAt), micros(d.UpdatedAt))
		return err
	})
	if s.d.isUniqueViolation(err) {
		return s.roleDefinitionConflict(ctx, d, err)
	}
	return s.wrapErr("create role definition", err, "")
}

func (s *Store) getRoleDefinition(ctx context.Context, id string, lock bool) (lanyard.RoleDefinition, error) {
	q := "SELECT " + roleDefinitionColumns + " FROM role_definitions r WHERE r.id_key = ?"
	if lock {
		q += s.d.lockRows("r")
	}
	d, err := scanRoleDefinition(s.queryRow(ctx, q, key(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return d, roleDefinitionNotFound(id)
	}
	return d, err
}

func (s *Store) GetRoleDefinition(ctx context.Context, id string) (lanyard.RoleDefinition, error) {
	d, err := s.getRoleDefinition(ctx, id, false)
	return d, s.wrapErr("get role definition", err, "")
}

func (s *Store) ListRoleDefinitions(ctx context.Context) ([]lanyard.RoleDefinition, error) {
	rows, err := s.query(ctx, "SELECT "+roleDefinitionColumns+" FROM role_definitions r ORDER BY r.name_key")
	if err != nil {
		return nil, s.wrapErr("list role definitions", err, "")
	}
	defer rows.Close()
	var ds []lanyard.RoleDefinition
	for rows.Next() {
		d, err := scanRoleDefinition(rows)
		if err != nil {
			return nil, s.wrapErr("list role definitions", err, "")
		}
		ds = append(ds, d)
	}
	return ds, s.wrapErr("list role definitions", rows.Err(), "")
}

// UpdateRoleDefinition may rename the role (never change its id); a name another role has
// is a Conflict with code RoleDefinitionWithSameNameExists.
func (s *Store) UpdateRoleDefinition(ctx context.Context, id string, fn func(lanyard.RoleDefinition) (lanyard.RoleDefinition, error)) (lanyard.RoleDefinition, error) {
	var out lanyard.RoleDefinition
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getRoleDefinition(ctx, id, true)
		if err != nil {
			return err
		}
		d, err := fn(cur)
		if err != nil {
			return err
		}
		k := key(cur.ID)
		if key(d.ID) != k {
			return fmt.Errorf("sqlstore: update role definition %s: the updater changed its id to %q", cur.ID, d.ID)
		}
		permissions, err := encodePermissions(d.Permissions)
		if err != nil {
			return err
		}
		scopes, err := encodeStrings(d.AssignableScopes)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE role_definitions SET id = ?, name = ?, name_key = ?, description = ?, built_in = ?,
	permissions = ?, assignable_scopes = ?, created_at = ?, updated_at = ? WHERE id_key = ?`,
			d.ID, d.Name, key(d.Name), d.Description, d.BuiltIn, permissions, scopes, micros(d.CreatedAt), micros(d.UpdatedAt), k); err != nil {
			return err
		}
		out, err = tx.getRoleDefinition(ctx, cur.ID, false)
		return err
	})
	// The id cannot change, so the only unique column an update can collide on is the name.
	return out, s.wrapErrCode("update role definition", err, roleNameTakenCode, roleNameTakenMessage)
}

// DeleteRoleDefinition deletes the definition and nothing else: assignments of the role
// stay (and grant nothing). Callers that refuse to delete a role in use, as Azure does,
// check CountRoleAssignmentsOfRole first.
func (s *Store) DeleteRoleDefinition(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return roleDefinitionNotFound(id) }, "DELETE FROM role_definitions WHERE id_key = ?", key(id))
	})
	return s.wrapErr("delete role definition", err, "")
}
