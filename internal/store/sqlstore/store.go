// Package sqlstore implements store.Store over database/sql, once, for two engines: SQLite
// through modernc.org/sqlite (no cgo) and PostgreSQL through pgx. What differs between them
// is kept in a dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lanyard-id/lanyard/internal/store"
)

// Store is a store.Store backed by a SQL database; its methods are documented there. A
// Store passed to an InTx function is bound to that transaction and must not outlive it.
type Store struct {
	db *sql.DB
	d  *dialect
	// writer holds one token per in-process write transaction when the dialect serializes
	// writes; nil otherwise.
	writer chan struct{}
	q      querier  // db, or the *sql.Tx when bound to a transaction
	tx     *txState // nil outside a transaction
	dsn    string   // PostgreSQL only: the change feed opens its own connection with it
	// segment is the audit trail's encoding buffer, shared with the Stores of this one's
	// transactions; nil on a Store made for a migration.
	segment *segmentBuffer

	// OnFeedUp and OnFeedDown, when set before Watch, are told when the change feed
	// connects and when it loses its connection.
	OnFeedUp   func()
	OnFeedDown func(error)
}

var _ store.Store = (*Store)(nil)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type txState struct {
	depth int // savepoints open
}

// maxConns bounds the connections one store holds.
const maxConns = 32

func open(ctx context.Context, d *dialect, dsn string) (*Store, error) {
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", d.name, err)
	}
	// Keep connections open: database/sql keeps two idle by default, so concurrent
	// requests would connect (PostgreSQL) or open and configure the file (SQLite) anew
	// nearly every time.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", d.name, err)
	}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, d: d, q: db, segment: &segmentBuffer{}}
	if d.serializeWrites {
		s.writer = make(chan struct{}, 1)
	}
	return s, nil
}

// Close closes the database. It is an error on a transaction-bound Store.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("sqlstore: Close called on a transaction-bound store")
	}
	return s.db.Close()
}

// InTx runs fn in one transaction; see store.Store. Inside fn, use tx only: on SQLite a
// write through s waits for the transaction to end, which it never does.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	return s.inTx(ctx, func(tx *Store) error { return fn(tx) })
}

// inTx runs fn in a new transaction or, on a transaction-bound Store, in a savepoint of
// the current one. Every write goes through here. The savepoint makes a failed call (a
// conflict, say) undo only its own work and leave the caller's transaction usable, as it
// is on SQLite; PostgreSQL would otherwise refuse every later statement.
func (s *Store) inTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return s.savepoint(ctx, fn)
	}
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: wait to write: %w", ctx.Err())
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.unavailable(fmt.Errorf("sqlstore: begin: %w", err))
	}
	finished := false
	defer func() {
		if !finished { // fn panicked or called runtime.Goexit
			_ = tx.Rollback()
		}
	}()
	err = fn(&Store{db: s.db, d: s.d, writer: s.writer, q: tx, tx: &txState{}, segment: s.segment})
	finished = true
	if err != nil {
		_ = tx.Rollback() // fn's error says what went wrong; a failed rollback adds nothing
		return s.unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return s.unavailable(fmt.Errorf("sqlstore: commit: %w", err))
	}
	return nil
}

func (s *Store) savepoint(ctx context.Context, fn func(tx *Store) error) error {
	s.tx.depth++
	defer func() { s.tx.depth-- }()
	name := "lanyard_sp" + strconv.Itoa(s.tx.depth)
	if _, err := s.q.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	if err := fn(s); err != nil {
		// Should undoing fail too, the transaction is broken and its next statement
		// (or its commit) reports it.
		if _, rerr := s.q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr == nil {
			_, _ = s.q.ExecContext(ctx, "RELEASE SAVEPOINT "+name)
		}
		return err
	}
	if _, err := s.q.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return nil
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.q.ExecContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.q.QueryContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.q.QueryRowContext(ctx, s.d.rebind(query), args...)
}

// execOne runs a statement that must touch exactly one row; none is a NotFound built by
// missing.
func (s *Store) execOne(ctx context.Context, missing func() error, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return missing()
	}
	return nil
}
