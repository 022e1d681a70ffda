package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Apps are read with their assignments in one statement, so a list is one snapshot even
// outside a transaction: one row per assignment, or one with a NULL principal when none.
const appSelect = `SELECT a.resource_id_key, a.resource_id, a.resource_group, a.name, a.location, a.tags,
	a.system_principal_id, a.header_version, a.header_hash, a.created_at, a.updated_at, u.principal_id
FROM apps a LEFT JOIN app_user_identities u ON u.app_key = a.resource_id_key`

func appNotFound(resourceID string) error {
	return notFound("ResourceNotFound", "The app '%s' was not found.", resourceID)
}

const appConflict = "An app with the same resource id or identity header already exists."

// listApps returns the apps matching where, in resource id order.
func (s *Store) listApps(ctx context.Context, lock bool, where string, args ...any) ([]lanyard.App, error) {
	q := appSelect + " WHERE " + where + " ORDER BY a.resource_id_key"
	if lock {
		q += s.d.lockRows("a")
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		apps    []lanyard.App
		lastKey string
	)
	for rows.Next() {
		var (
			a                lanyard.App
			k, tags          string
			version          int64
			created, updated int64
			principal        *string
		)
		if err := rows.Scan(&k, &a.ResourceID, &a.ResourceGroup, &a.Name, &a.Location, &tags, &a.SystemPrincipalID,
			&version, &a.HeaderHash, &created, &updated, &principal); err != nil {
			return nil, err
		}
		if len(apps) == 0 || k != lastKey {
			if a.Tags, err = decodeTags(tags); err != nil {
				return nil, err
			}
			a.HeaderVersion = int(version)
			a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
			apps = append(apps, a)
			lastKey = k
		}
		if principal != nil {
			cur := &apps[len(apps)-1]
			cur.UserAssigned = append(cur.UserAssigned, *principal)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Sorted here rather than in SQL: PostgreSQL's collation need not be byte order.
	for i := range apps {
		slices.Sort(apps[i].UserAssigned)
	}
	return apps, nil
}

func (s *Store) getApp(ctx context.Context, missing func() error, lock bool, where string, args ...any) (lanyard.App, error) {
	apps, err := s.listApps(ctx, lock, where, args...)
	if err != nil {
		return lanyard.App{}, err
	}
	if len(apps) == 0 {
		return lanyard.App{}, missing()
	}
	return apps[0], nil
}

// writeAssignments makes the app's user-assigned identities exactly ids.
func (s *Store) writeAssignments(ctx context.Context, appKey string, ids []string) error {
	if _, err := s.exec(ctx, "DELETE FROM app_user_identities WHERE app_key = ?", appKey); err != nil {
		return err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		_, err := s.exec(ctx, "INSERT INTO app_user_identities (app_key, principal_id) VALUES (?, ?)", appKey, id)
		if s.d.isForeignKeyViolation(err) {
			return &lanyard.Error{Kind: lanyard.KindNotFound, Code: "IdentityNotFound",
				Message: fmt.Sprintf("The managed identity with principal id %s was not found.", id), Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) CreateApp(ctx context.Context, a lanyard.App) error {
	err := s.inTx(ctx, func(tx *Store) error {
		tags, err := encodeTags(a.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO apps (resource_id_key, resource_id, resource_group, resource_group_key, name, location,
	tags, system_principal_id, header_version, header_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(a.ResourceID), a.ResourceID, a.ResourceGroup, key(a.ResourceGroup), a.Name, a.Location, tags,
			a.SystemPrincipalID, int64(a.HeaderVersion), nullBlob(a.HeaderHash), micros(a.CreatedAt), micros(a.UpdatedAt)); err != nil {
			return err
		}
		return tx.writeAssignments(ctx, key(a.ResourceID), a.UserAssigned)
	})
	return s.wrapErr("create app", err, appConflict)
}

func (s *Store) GetApp(ctx context.Context, resourceID string) (lanyard.App, error) {
	a, err := s.getApp(ctx, func() error { return appNotFound(resourceID) }, false, "a.resource_id_key = ?", key(resourceID))
	return a, s.wrapErr("get app", err, "")
}

func (s *Store) GetAppByHeaderHash(ctx context.Context, h []byte) (lanyard.App, error) {
	missing := func() error { return notFound("ResourceNotFound", "No app has this identity header.") }
	if len(h) == 0 { // stored as NULL, which matches nothing
		return lanyard.App{}, missing()
	}
	a, err := s.getApp(ctx, missing, false, "a.header_hash = ?", h)
	return a, s.wrapErr("get app by header hash", err, "")
}

// ListApps lists the apps in group, or all apps when group is "".
func (s *Store) ListApps(ctx context.Context, group string) ([]lanyard.App, error) {
	where, args := "1 = 1", []any(nil)
	if group != "" {
		where, args = "a.resource_group_key = ?", []any{key(group)}
	}
	apps, err := s.listApps(ctx, false, where, args...)
	return apps, s.wrapErr("list apps", err, "")
}

// ListAppsPage implements store.Apps, by keyset on the primary key, with the group in the
// query. The page's keys are chosen in a subquery, since an app spans one row per
// identity assignment; the apps and their assignments are still read in one statement.
func (s *Store) ListAppsPage(ctx context.Context, group, after string, limit int) ([]lanyard.App, error) {
	if limit < 1 {
		return nil, nil
	}
	sub := "SELECT p.resource_id_key FROM apps p WHERE p.resource_id_key > ?"
	args := []any{key(after)}
	if group != "" {
		sub += " AND p.resource_group_key = ?"
		args = append(args, key(group))
	}
	sub += " ORDER BY p.resource_id_key LIMIT ?"
	apps, err := s.listApps(ctx, false, "a.resource_id_key IN ("+sub+")", append(args, limit)...)
	return apps, s.wrapErr("list apps", err, "")
}

func (s *Store) ListAppsWithIdentity(ctx context.Context, principalID string) ([]lanyard.App, error) {
	apps, err := s.listApps(ctx, false,
		"EXISTS (SELECT 1 FROM app_user_identities w WHERE w.app_key = a.resource_id_key AND w.principal_id = ?)", principalID)
	return apps, s.wrapErr("list apps with identity", err, "")
}

func (s *Store) UpdateApp(ctx context.Context, resourceID string, fn func(lanyard.App) (lanyard.App, error)) (lanyard.App, error) {
	var out lanyard.App
	missing := func() error { return appNotFound(resourceID) }
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getApp(ctx, missing, true, "a.resource_id_key = ?", key(resourceID))
		if err != nil {
			return err
		}
		a, err := fn(cur)
		if err != nil {
			return err
		}
		k := key(cur.ResourceID)
		if key(a.ResourceID) != k {
			return fmt.Errorf("sqlstore: update app %s: the updater changed its resource id to %q", cur.ResourceID, a.ResourceID)
		}
		tags, err := encodeTags(a.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE apps SET resource_id = ?, resource_group = ?, resource_group_key = ?, name = ?, location = ?,
	tags = ?, system_principal_id = ?, header_version = ?, header_hash = ?, created_at = ?, updated_at = ? WHERE resource_id_key = ?`,
			a.ResourceID, a.ResourceGroup, key(a.ResourceGroup), a.Name, a.Location, tags, a.SystemPrincipalID,
			int64(a.HeaderVersion), nullBlob(a.HeaderHash), micros(a.CreatedAt), micros(a.UpdatedAt), k); err != nil {
			return err
		}
		if !slices.Equal(a.UserAssigned, cur.UserAssigned) {
			if err := tx.writeAssignments(ctx, k, a.UserAssigned); err != nil {
				return err
			}
		}
		out, err = tx.getApp(ctx, missing, false, "a.resource_id_key = ?", k)
		return err
	})
	return out, s.wrapErr("update app", err, appConflict)
}

// DeleteApp deletes the app and its assignments, not its identities: the caller deletes
// the system-assigned one.
func (s *Store) DeleteApp(ctx context.Context, resourceID string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return appNotFound(resourceID) }, "DELETE FROM apps WHERE resource_id_key = ?", key(resourceID))
	})
	return s.wrapErr("delete app", err, "")
}
