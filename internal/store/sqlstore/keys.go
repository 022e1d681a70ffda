package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const keyColumns = "k.id, k.sealed_key, k.certificate, k.created_at, k.retired_at, k.remove_after"

func scanKey(r rowScanner) (lanyard.SigningKey, error) {
	var (
		k                    lanyard.SigningKey
		created              int64
		retired, removeAfter sql.NullInt64
	)
	if err := r.Scan(&k.ID, &k.SealedKey, &k.Certificate, &created, &retired, &removeAfter); err != nil {
		return k, err
	}
	k.CreatedAt = fromMicros(created)
	k.RetiredAt, k.RemoveAfter = fromNullMicros(retired), fromNullMicros(removeAfter)
	return k, nil
}

func keyNotFound(id string) error {
	return notFound("KeyNotFound", "The signing key %s was not found.", id)
}

func (s *Store) CreateKey(ctx context.Context, k lanyard.SigningKey) error {
	err := s.inTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, "INSERT INTO signing_keys (id, sealed_key, certificate, created_at, retired_at, remove_after) VALUES (?, ?, ?, ?, ?, ?)",
			k.ID, blob(k.SealedKey), blob(k.Certificate), micros(k.CreatedAt), nullMicros(k.RetiredAt), nullMicros(k.RemoveAfter))
		return err
	})
	return s.wrapErr("create key", err, "A signing key with id "+k.ID+" already exists.")
}

// ListKeys returns every key, newest first; keys created in the same microsecond come in
// descending id order.
func (s *Store) ListKeys(ctx context.Context) ([]lanyard.SigningKey, error) {
	rows, err := s.query(ctx, "SELECT "+keyColumns+" FROM signing_keys k ORDER BY k.created_at DESC, k.id DESC")
	if err != nil {
		return nil, s.wrapErr("list keys", err, "")
	}
	defer rows.Close()
	var ks []lanyard.SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.wrapErr("list keys", err, "")
		}
		ks = append(ks, k)
	}
	return ks, s.wrapErr("list keys", rows.Err(), "")
}

func (s *Store) UpdateKey(ctx context.Context, id string, fn func(lanyard.SigningKey) (lanyard.SigningKey, error)) (lanyard.SigningKey, error) {
	var out lanyard.SigningKey
	get := func(tx *Store, lock bool) (lanyard.SigningKey, error) {
		q := "SELECT " + keyColumns + " FROM signing_keys k WHERE k.id = ?"
		if lock {
			q += s.d.lockRows("k")
		}
		k, err := scanKey(tx.queryRow(ctx, q, id))
		if errors.Is(err, sql.ErrNoRows) {
			return k, keyNotFound(id)
		}
		return k, err
	}
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := get(tx, true)
		if err != nil {
			return err
		}
		k, err := fn(cur)
		if err != nil {
			return err
		}
		if k.ID != cur.ID {
			return fmt.Errorf("sqlstore: update key %s: the updater changed its id to %q", cur.ID, k.ID)
		}
		if _, err := tx.exec(ctx, "UPDATE signing_keys SET sealed_key = ?, certificate = ?, created_at = ?, retired_at = ?, remove_after = ? WHERE id = ?",
			blob(k.SealedKey), blob(k.Certificate), micros(k.CreatedAt), nullMicros(k.RetiredAt), nullMicros(k.RemoveAfter), cur.ID); err != nil {
			return err
		}
		out, err = get(tx, false)
		return err
	})
	return out, s.wrapErr("update key", err, "The signing key changed concurrently.")
}

func (s *Store) DeleteKey(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return keyNotFound(id) }, "DELETE FROM signing_keys WHERE id = ?", id)
	})
	return s.wrapErr("delete key", err, "")
}
