package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const groupColumns = "g.name, g.location, g.tags, g.created_at"

func scanGroup(r rowScanner) (lanyard.ResourceGroup, error) {
	var (
		g       lanyard.ResourceGroup
		tags    string
		created int64
	)
	if err := r.Scan(&g.Name, &g.Location, &tags, &created); err != nil {
		return g, err
	}
	var err error
	if g.Tags, err = decodeTags(tags); err != nil {
		return g, err
	}
	g.CreatedAt = fromMicros(created)
	return g, nil
}

func groupNotFound(name string) error {
	return notFound("ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
}

func (s *Store) CreateGroup(ctx context.Context, g lanyard.ResourceGroup) error {
	err := s.inTx(ctx, func(tx *Store) error {
		tags, err := encodeTags(g.Tags)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "INSERT INTO resource_groups (name_key, name, location, tags, created_at) VALUES (?, ?, ?, ?, ?)",
			key(g.Name), g.Name, g.Location, tags, micros(g.CreatedAt))
		return err
	})
	return s.wrapErr("create group", err, fmt.Sprintf("Resource group '%s' already exists.", g.Name))
}

func (s *Store) getGroup(ctx context.Context, name string, lock bool) (lanyard.ResourceGroup, error) {
	q := "SELECT " + groupColumns + " FROM resource_groups g WHERE g.name_key = ?"
	if lock {
		q += s.d.lockRows("g")
	}
	g, err := scanGroup(s.queryRow(ctx, q, key(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return g, groupNotFound(name)
	}
	return g, err
}

func (s *Store) GetGroup(ctx context.Context, name string) (lanyard.ResourceGroup, error) {
	g, err := s.getGroup(ctx, name, false)
	return g, s.wrapErr("get group", err, "")
}

func (s *Store) ListGroups(ctx context.Context) ([]lanyard.ResourceGroup, error) {
	rows, err := s.query(ctx, "SELECT "+groupColumns+" FROM resource_groups g ORDER BY g.name_key")
	if err != nil {
		return nil, s.wrapErr("list groups", err, "")
	}
	defer rows.Close()
	var gs []lanyard.ResourceGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, s.wrapErr("list groups", err, "")
		}
		gs = append(gs, g)
	}
	return gs, s.wrapErr("list groups", rows.Err(), "")
}

// ListGroupsPage implements store.Groups, by keyset on the primary key.
func (s *Store) ListGroupsPage(ctx context.Context, after string, limit int) ([]lanyard.ResourceGroup, error) {
	if limit < 1 {
		return nil, nil
	}
	return queryPage(ctx, s, "list groups", limit, scanGroup,
		"SELECT "+groupColumns+" FROM resource_groups g WHERE g.name_key > ? ORDER BY g.name_key LIMIT ?", key(after), limit)
}

func (s *Store) UpdateGroup(ctx context.Context, name string, fn func(lanyard.ResourceGroup) (lanyard.ResourceGroup, error)) (lanyard.ResourceGroup, error) {
	var out lanyard.ResourceGroup
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getGroup(ctx, name, true)
		if err != nil {
			return err
		}
		g, err := fn(cur)
		if err != nil {
			return err
		}
		if key(g.Name) != key(cur.Name) {
			return fmt.Errorf("sqlstore: update group %q: the updater renamed it to %q", cur.Name, g.Name)
		}
		tags, err := encodeTags(g.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE resource_groups SET name = ?, location = ?, tags = ?, created_at = ? WHERE name_key = ?",
			g.Name, g.Location, tags, micros(g.CreatedAt), key(cur.Name)); err != nil {
			return err
		}
		out, err = tx.getGroup(ctx, name, false)
		return err
	})
	return out, s.wrapErr("update group", err, "The resource group changed concurrently.")
}

func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return groupNotFound(name) }, "DELETE FROM resource_groups WHERE name_key = ?", key(name))
	})
	return s.wrapErr("delete group", err, "")
}
