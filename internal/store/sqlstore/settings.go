package sqlstore

import (
	"context"
	"database/sql"
	"errors"
)

// Setting names are internal keys, not ARM names: they match exactly.

func (s *Store) GetSetting(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.queryRow(ctx, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("SettingNotFound", "The setting %q was not found.", name)
	}
	if err != nil {
		return nil, s.wrapErr("get setting", err, "")
	}
	return v, nil
}

func (s *Store) PutSetting(ctx context.Context, name string, value []byte) error {
	err := s.inTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
			name, blob(value))
		return err
	})
	return s.wrapErr("put setting", err, "The setting was changed concurrently.")
}

func (s *Store) CreateSetting(ctx context.Context, name string, value []byte) error {
	err := s.inTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?)", name, blob(value))
		return err
	})
	return s.wrapErr("create setting", err, "The setting \""+name+"\" already exists.")
}
