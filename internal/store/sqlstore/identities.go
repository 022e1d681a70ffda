package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const identityColumns = "i.principal_id, i.client_id, i.kind, i.resource_id, i.resource_group, i.name, i.location, i.tags, i.enabled, i.created_at, i.updated_at"

func scanIdentity(r rowScanner) (lanyard.Identity, error) {
	var (
		id               lanyard.Identity
		kind, tags       string
		created, updated int64
	)
	if err := r.Scan(&id.PrincipalID, &id.ClientID, &kind, &id.ResourceID, &id.ResourceGroup, &id.Name, &id.Location,
		&tags, &id.Enabled, &created, &updated); err != nil {
		return id, err
	}
	var err error
	if id.Tags, err = decodeTags(tags); err != nil {
		return id, err
	}
	id.Kind = lanyard.IdentityKind(kind)
	id.CreatedAt, id.UpdatedAt = fromMicros(created), fromMicros(updated)
	return id, nil
}

func identityNotFound(what string) error {
	return notFound("IdentityNotFound", "The managed identity %s was not found.", what)
}

const identityConflict = "A managed identity with the same principal id, client id or resource id already exists."

func (s *Store) CreateIdentity(ctx context.Context, id lanyard.Identity) error {
	err := s.inTx(ctx, func(tx *Store) error {
		tags, err := encodeTags(id.Tags)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO identities (principal_id, client_id, kind, resource_id, resource_id_key, resource_group,
	resource_group_key, name, location, tags, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id.PrincipalID, id.ClientID, string(id.Kind), id.ResourceID, key(id.ResourceID), id.ResourceGroup,
			key(id.ResourceGroup), id.Name, id.Location, tags, id.Enabled, micros(id.CreatedAt), micros(id.UpdatedAt))
		return err
	})
	return s.wrapErr("create identity", err, identityConflict)
}

// getIdentity reads the one identity matching where; lock takes its row lock.
func (s *Store) getIdentity(ctx context.Context, missing func() error, lock bool, where string, args ...any) (lanyard.Identity, error) {
	q := "SELECT " + identityColumns + " FROM identities i WHERE " + where
	if lock {
		q += s.d.lockRows("i")
	}
	id, err := scanIdentity(s.queryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return id, missing()
	}
	return id, err
}

func (s *Store) GetIdentity(ctx context.Context, principalID string) (lanyard.Identity, error) {
	id, err := s.getIdentity(ctx, func() error { return identityNotFound("with principal id " + principalID) }, false,
		"i.principal_id = ?", principalID)
	return id, s.wrapErr("get identity", err, "")
}

func (s *Store) GetIdentityByClientID(ctx context.Context, clientID string) (lanyard.Identity, error) {
	id, err := s.getIdentity(ctx, func() error { return identityNotFound("with client id " + clientID) }, false,
		"i.client_id = ?", clientID)
	return id, s.wrapErr("get identity by client id", err, "")
}

func (s *Store) GetIdentityByResourceID(ctx context.Context, resourceID string) (lanyard.Identity, error) {
	// The kind is a literal so that the partial unique index serves the lookup.
	id, err := s.getIdentity(ctx, func() error { return identityNotFound("'" + resourceID + "'") }, false,
		"i.resource_id_key = ? AND i.kind = 'UserAssigned'", key(resourceID))
	return id, s.wrapErr("get identity by resource id", err, "")
}

// ListIdentities lists identities of kind k in group; an empty k or group matches all.
func (s *Store) ListIdentities(ctx context.Context, k lanyard.IdentityKind, group string) ([]lanyard.Identity, error) {
	q := "SELECT " + identityColumns + " FROM identities i WHERE 1 = 1"
	var args []any
	if k != "" {
		q += " AND i.kind = ?"
		args = append(args, string(k))
	}
	if group != "" {
		q += " AND i.resource_group_key = ?"
		args = append(args, key(group))
	}
	q += " ORDER BY i.resource_group_key, i.resource_id_key, i.principal_id"
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr("list identities", err, "")
	}
	defer rows.Close()
	var ids []lanyard.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, s.wrapErr("list identities", err, "")
		}
		ids = append(ids, id)
	}
	return ids, s.wrapErr("list identities", rows.Err(), "")
}

// ListUserAssignedIdentitiesPage implements store.Identities, by keyset on the resource
// id, which the partial unique index on user-assigned identities orders (the kind is a
// literal so that it serves the query), with the group in the query.
func (s *Store) ListUserAssignedIdentitiesPage(ctx context.Context, group, after string, limit int) ([]lanyard.Identity, error) {
	if limit < 1 {
		return nil, nil
	}
	q := "SELECT " + identityColumns + " FROM identities i WHERE i.kind = 'UserAssigned' AND i.resource_id_key > ?"
	args := []any{key(after)}
	if group != "" {
		q += " AND i.resource_group_key = ?"
		args = append(args, key(group))
	}
	return queryPage(ctx, s, "list identities", limit, scanIdentity, q+" ORDER BY i.resource_id_key LIMIT ?", append(args, limit)...)
}

func (s *Store) UpdateIdentity(ctx context.Context, principalID string, fn func(lanyard.Identity) (lanyard.Identity, error)) (lanyard.Identity, error) {
	var out lanyard.Identity
	missing := func() error { return identityNotFound("with principal id " + principalID) }
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getIdentity(ctx, missing, true, "i.principal_id = ?", principalID)
		if err != nil {
			return err
		}
		id, err := fn(cur)
		if err != nil {
			return err
		}
		if id.PrincipalID != cur.PrincipalID {
			return fmt.Errorf("sqlstore: update identity %s: the updater changed its principal id to %q", cur.PrincipalID, id.PrincipalID)
		}
		tags, err := encodeTags(id.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE identities SET client_id = ?, kind = ?, resource_id = ?, resource_id_key = ?,
	resource_group = ?, resource_group_key = ?, name = ?, location = ?, tags = ?, enabled = ?, created_at = ?, updated_at = ?
	WHERE principal_id = ?`,
			id.ClientID, string(id.Kind), id.ResourceID, key(id.ResourceID), id.ResourceGroup, key(id.ResourceGroup),
			id.Name, id.Location, tags, id.Enabled, micros(id.CreatedAt), micros(id.UpdatedAt), cur.PrincipalID); err != nil {
			return err
		}
		out, err = tx.getIdentity(ctx, missing, false, "i.principal_id = ?", cur.PrincipalID)
		return err
	})
	return out, s.wrapErr("update identity", err, identityConflict)
}

// DeleteIdentity deletes the identity and, with it, its assignments to apps.
func (s *Store) DeleteIdentity(ctx context.Context, principalID string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return identityNotFound("with principal id " + principalID) },
			"DELETE FROM identities WHERE principal_id = ?", principalID)
	})
	return s.wrapErr("delete identity", err, "")
}
