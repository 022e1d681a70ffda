package sqlmeta

import (
	"context"
	"database/sql"
	"time"

	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// sqlDB is the database the blob tables live in, reached through the SQL store's Handle:
// its own connections, or one of its transactions (then it is bound to it).
type sqlDB struct{ h sqlstore.Handle }

func (s sqlDB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.h.Exec(ctx, query, args...)
}

func (s sqlDB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.h.Query(ctx, query, args...)
}

func (s sqlDB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.h.QueryRow(ctx, query, args...)
}

// inTx runs fn in one write transaction of the store (see sqlstore.Handle.InTx).
func (s sqlDB) inTx(ctx context.Context, fn func(tx sqlDB) error) error {
	return s.h.InTx(ctx, func(tx sqlstore.Handle) error { return fn(sqlDB{tx}) })
}

func (s sqlDB) wrapErr(op string, err error, conflict string) error {
	return s.h.WrapErr(op, err, conflict)
}

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface {
	Scan(dest ...any) error
}

// Times are stored as microseconds since the epoch, as everywhere in the store's schema:
// exact on both engines, ordered, and free of time-zone handling in either driver.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// optMicros and fromOptMicros store a time that may be unset as 0.
func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromOptMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// nullBlob stores an empty byte string as NULL.
func nullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
