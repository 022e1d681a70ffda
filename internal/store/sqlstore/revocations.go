package sqlstore

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func (s *Store) CreateRevocation(ctx context.Context, r lanyard.Revocation) error {
	err := s.inTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO revocations (id, kind, token_id, principal_id, principal_key, not_before, expires_at,
	reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, string(r.Kind), r.TokenID, r.PrincipalID, key(r.PrincipalID), micros(r.NotBefore), micros(r.ExpiresAt),
			r.Reason, r.CreatedBy, micros(r.CreatedAt))
		return err
	})
	return s.wrapErrCode("create revocation", err, "RevocationExists", "A revocation with the same id exists.")
}

func (s *Store) ListRevocations(ctx context.Context) ([]lanyard.Revocation, error) {
	rows, err := s.query(ctx, `SELECT id, kind, token_id, principal_id, not_before, expires_at, reason, created_by, created_at
	FROM revocations ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrapErr("list revocations", err, "")
	}
	defer rows.Close()
	var out []lanyard.Revocation
	for rows.Next() {
		var (
			r                         lanyard.Revocation
			kind                      string
			notBefore, expires, added int64
		)
		if err := rows.Scan(&r.ID, &kind, &r.TokenID, &r.PrincipalID, &notBefore, &expires, &r.Reason, &r.CreatedBy, &added); err != nil {
			return nil, s.wrapErr("list revocations", err, "")
		}
		r.Kind = lanyard.RevocationKind(kind)
		r.NotBefore, r.ExpiresAt, r.CreatedAt = fromMicros(notBefore), fromMicros(expires), fromMicros(added)
		out = append(out, r)
	}
	return out, s.wrapErr("list revocations", rows.Err(), "")
}

func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, "DELETE FROM revocations WHERE expires_at <= ?", micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), s.wrapErr("delete expired revocations", err, "")
}
