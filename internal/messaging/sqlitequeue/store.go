// Package sqlitequeue is the embedded messaging.Store: one SQLite database (pure Go, WAL,
// synchronous=FULL but for commits that only touch locks) in a directory of its own,
// written by a group-commit writer.
package sqlitequeue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Options tune a Store; the zero value is the production setting.
type Options struct {
	// Clock is the store's time (lock expiry, time to live); nil: time.Now.
	Clock func() time.Time
	// Logger receives write failures and recoveries; nil: slog.Default().
	Logger *slog.Logger
}

// Store keeps queues' messages in dir/queues.db.
type Store struct {
	read     *sql.DB // readers (Peek, Counts), concurrent with the writer under WAL
	write    *sql.DB // the writer's one connection
	w        *writer
	arrivals messaging.Arrivals

	closeOnce sync.Once
	closeErr  error
}

var _ messaging.Store = (*Store)(nil)

// FileName is the database's name in the store's directory.
const FileName = "queues.db"

// schemaVersion is the schema this code writes (PRAGMA user_version): the number of
// migrations.
const schemaVersion = 3

// Open opens (creating if need be) the store in dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	path := filepath.Join(abs, FileName)
	// Create the file ourselves, private: SQLite would use the umask, and its -wal and
	// -shm files take the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}

	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	s := &Store{read: read, write: write}
	s.w = newWriter(write, opts.Clock, opts.Logger)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL") // a committed write survives power loss, not only a crash
	// A backup or a second process by mistake may hold the lock a while: wait for it.
	q.Set("_busy_timeout", "10000")
	// BEGIN IMMEDIATE takes the write lock up front.
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "temp_store(memory)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}

// The schema. A message's row is small and changes with each lock; its encoding, which
// can be a megabyte, is in bodies and is written once (and again only if a settlement
// replaces it). Each query has an index that starts where it looks:
//   - by_seq: Peek, Counts and DeleteQueue, in sequence order per sub-queue;
//   - available (state 0): Receive, which takes the lowest sequence numbers available
//     without reading past the locked ones;
//   - locks (state 1, by expiry): Receive's release of expired locks, which reads only the
//     expired ones;
//   - expiry (active, available, with a time to live): Receive's expiry, which reads only
//     the expired ones;
//   - by_token: settlement.
//
// state is 0 (available), 1 (locked; lock_token and locked_until set), 2 (scheduled:
// enqueued_at is when it will be enqueued), 3 (deferred) or 4 (deferred and locked by
// ReceiveDeferred). Times are microseconds since the epoch; 0 is none.
const schemaV1 = `
CREATE TABLE queues (
	namespace TEXT NOT NULL,
	queue     TEXT NOT NULL,
	last_seq  INTEGER NOT NULL,
	PRIMARY KEY (namespace, queue)
) WITHOUT ROWID;
CREATE TABLE messages (
	id             INTEGER PRIMARY KEY,
	namespace      TEXT NOT NULL,
	queue          TEXT NOT NULL,
	sub            INTEGER NOT NULL,
	seq            INTEGER NOT NULL,
	state          INTEGER NOT NULL,
	lock_token     BLOB,
	locked_until   INTEGER NOT NULL,
	delivery_count INTEGER NOT NULL,
	enqueued_at    INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	message_id     TEXT NOT NULL,
	dl_reason      TEXT NOT NULL,
	dl_description TEXT NOT NULL
);
CREATE TABLE bodies (
	id  INTEGER PRIMARY KEY,
	raw BLOB NOT NULL
);
CREATE UNIQUE INDEX messages_by_seq ON messages (namespace, queue, sub, seq);
CREATE INDEX messages_available ON messages (namespace, queue, sub, seq) WHERE state = 0;
CREATE INDEX messages_locks ON messages (namespace, queue, sub, locked_until) WHERE state = 1;
CREATE INDEX messages_expiry ON messages (namespace, queue, expires_at) WHERE sub = 0 AND state = 0 AND expires_at > 0;
CREATE UNIQUE INDEX messages_by_token ON messages (lock_token) WHERE lock_token IS NOT NULL;
CREATE TABLE probe (id INTEGER PRIMARY KEY, data BLOB);
`

// schemaV2 adds scheduling, deferral and duplicate detection. Its indexes:
//   - scheduled (state 2, by due time): Receive's enqueueing of due messages;
//   - deferred_locks (state 4, by expiry): Receive's release of expired deferred locks;
//   - message_ids_by_time: Send's forgetting of ids older than the window.
//
// message_ids holds the message ids accepted for queues with duplicate detection on,
// with when they were first accepted.
const schemaV2 = `
CREATE INDEX messages_scheduled ON messages (namespace, queue, enqueued_at) WHERE state = 2;
CREATE INDEX messages_deferred_locks ON messages (namespace, queue, sub, locked_until) WHERE state = 4;
CREATE TABLE message_ids (
	namespace  TEXT NOT NULL,
	queue      TEXT NOT NULL,
	message_id TEXT NOT NULL,
	seen_at    INTEGER NOT NULL,
	PRIMARY KEY (namespace, queue, message_id)
) WITHOUT ROWID;
CREATE INDEX message_ids_by_time ON message_ids (namespace, queue, seen_at);
`

// schemaV3 adds sessions: a message's session id (” for none), and a row per session
// with its lock and state. Its indexes:
//   - messages_sessions (available, by session then sequence): ReceiveSession, and
//     AcceptNextSession's look for an unlocked session with an available message;
//   - sessions' primary key: the session operations.
//
// A session's lock_token is NULL and locked_until 0 while it is not locked; state is NULL
// when none is set; updated_at is when the state was last set or cleared (0: never).
const schemaV3 = `
ALTER TABLE messages ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_sessions ON messages (namespace, queue, session_id, sub, seq) WHERE state = 0;
CREATE TABLE sessions (
	namespace    TEXT NOT NULL,
	queue        TEXT NOT NULL,
	session_id   TEXT NOT NULL,
	lock_token   BLOB,
	locked_until INTEGER NOT NULL,
	state        BLOB,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (namespace, queue, session_id)
) WITHOUT ROWID;
`

// migrations are applied in order; a database at version v has the first v.
var migrations = []string{schemaV1, schemaV2, schemaV3}

func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlitequeue: read schema version: %w", err)
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("sqlitequeue: the database has schema version %d, newer than this program's %d", v, schemaVersion)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitequeue: migrate from schema version %d: %w", v, err)
	}
	defer tx.Rollback()
	for _, m := range migrations[v:] {
		if _, err := tx.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("sqlitequeue: migrate from schema version %d: %w", v, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("sqlitequeue: migrate from schema version %d: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitequeue: migrate from schema version %d: %w", v, err)
	}
	return nil
}

// Ready reports the last write's failure, until a write succeeds again.
func (s *Store) Ready() error {
	select {
	case <-s.w.quit:
		return errClosed
	default:
	}
	return s.w.ready()
}

// Close waits for the batch being written, then closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.w.close()
		s.closeErr = errors.Join(s.read.Close(), s.write.Close())
	})
	return s.closeErr
}

func (s *Store) Arrivals(q messaging.Queue, sub messaging.SubQueue) <-chan struct{} {
	return s.arrivals.Wait(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: sub})
}

// Times are microseconds since the epoch, 0 for none.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
