package sqlstore

import (
	"context"
	"database/sql"
)

// Handle is what a backend keeping its own tables in a Store's database uses of the
// Store: the SQL blob metadata store (package blob/sqlmeta) does, so that the data
// plane's SQL lives beside its contract while sqlstore keeps the one schema (migrations,
// PostgreSQL objects) and the control plane. It is deliberately narrow: connections,
// write transactions, the engine's facts a query must adapt to, and error
// classification.
//
// Queries are written with ? placeholders, as in this package; Exec, Query and QueryRow
// rewrite them for the engine. A Handle passed to an InTx function is bound to that
// transaction and must not outlive it.
type Handle struct{ s *Store }

// Handle returns the Handle of s, sharing its connections. It must be called on a Store
// returned by OpenSQLite or OpenPostgres, not on one bound to a transaction. Closing s
// ends the Handle too; whoever opened s closes it, after what uses the Handle.
func (s *Store) Handle() Handle {
	if s.tx != nil {
		panic("sqlstore: Handle called on a transaction-bound Store")
	}
	return Handle{s}
}

// Exec runs a statement on the Handle's connections or transaction.
func (h Handle) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return h.s.exec(ctx, query, args...)
}

// Query runs a query on the Handle's connections or transaction.
func (h Handle) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return h.s.query(ctx, query, args...)
}

// QueryRow runs a query of at most one row on the Handle's connections or transaction.
func (h Handle) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return h.s.queryRow(ctx, query, args...)
}

// InTx runs fn in one write transaction, as the Store's own writes run: on SQLite behind
// the in-process writer gate, with BEGIN IMMEDIATE; on a transaction-bound Handle, in a
// savepoint of that transaction. An error of fn rolls it back and is returned, given the
// kind Unavailable when it means the database cannot be reached.
func (h Handle) InTx(ctx context.Context, fn func(tx Handle) error) error {
	return h.s.inTx(ctx, func(tx *Store) error { return fn(Handle{tx}) })
}

// RowLocks reports whether reads made to update a row can lock it (SELECT ... FOR
// UPDATE OF); false on SQLite, where a write transaction already excludes every other
// writer.
func (h Handle) RowLocks() bool { return h.s.d.rowLocks }

// RowVersion names a system column that changes with every write of a row and that a
// statement can compare, as text, to a value read before (PostgreSQL's xmin); "" where
// the engine has none.
func (h Handle) RowVersion() string { return h.s.d.rowVersion }

// IsUniqueViolation reports whether err is the engine's unique (or primary key)
// constraint violation.
func (h Handle) IsUniqueViolation(err error) bool { return h.s.d.isUniqueViolation(err) }

// IsForeignKeyViolation reports whether err is the engine's foreign key violation.
func (h Handle) IsForeignKeyViolation(err error) bool { return h.s.d.isForeignKeyViolation(err) }

// WrapErr classifies err as the Store's own methods do: a *lanyard.Error passes
// unchanged, a unique violation becomes a Conflict with message conflict, an error that
// means the database cannot be reached becomes Unavailable, and anything else stays
// internal, wrapped with op.
func (h Handle) WrapErr(op string, err error, conflict string) error {
	return h.s.wrapErr(op, err, conflict)
}

// DSN returns the PostgreSQL connection string the Store was opened with, for sessions a
// backend holds on its own (advisory locks, LISTEN); "" on SQLite, which one process owns.
func (h Handle) DSN() string { return h.s.dsn }

// Redial runs session, on a connection of its own, until ctx ends: again after each
// failure, which it reports to down, with the change feed's backoff. first tells session
// whether it is the first run; session calls up once it is connected, so that a session
// that stayed up long enough is redialed at once.
func Redial(ctx context.Context, session func(first bool, up func()) error, down func(error)) {
	redial(ctx, defaultRedial, session, down)
}
