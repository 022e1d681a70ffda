// Package pgqueue is the messaging.Store on PostgreSQL, shared by every node of a cluster:
// receivers on any node compete for one queue through row locks taken with SKIP LOCKED,
// message locks and sequence numbers live in the database, and a send on one node wakes
// the receivers of the others through LISTEN/NOTIFY.
package pgqueue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Options tune a Store; the zero value is the production setting.
type Options struct {
	// Clock is the store's time (lock expiry, time to live); nil: time.Now. Nodes sharing
	// a database should keep their clocks in step: a lock expires by the clock of the node
	// that looks at it.
	Clock func() time.Time
	// Logger receives the listening connection's failures and recoveries; nil:
	// slog.Default().
	Logger *slog.Logger
}

// Store keeps queues' messages in the tables queue_counters, queue_messages, queue_sessions and
// queue_message_ids of the schema its DSN's search_path names.
type Store struct {
	pool     *pgxpool.Pool
	dsn      string
	now      func() time.Time
	logger   *slog.Logger
	id       string // this store's name in its notifications, so it skips its own
	channel  string // the NOTIFY channel of the schema
	arrivals messaging.Arrivals
	health   health

	stop      context.CancelFunc
	listening sync.WaitGroup
	closeOnce sync.Once
}

var _ messaging.Store = (*Store)(nil)

// maxConns bounds the pool: enough for the broker's concurrent receivers and senders,
// and few enough that several nodes stay well under PostgreSQL's connection limit.
const maxConns = 16

// migrationLockKey names the advisory lock held while creating the schema, so that nodes
// starting together create it once; it differs from sqlstore's.
const migrationLockKey int64 = 0x6c616e7961726451 // "lanyard" + 'Q'

// The schema. A message's row holds its encoding too: PostgreSQL keeps a large one out of
// line (TOAST) and does not copy it when a lock changes the row. Each query has an index
// that starts where it looks:
//   - by_seq: Peek, Counts and deletion, in sequence order per sub-queue;
//   - available (state 0): Receive, which takes the lowest sequence numbers available
//     without reading past the locked ones;
//   - locks (state 1, by expiry): Receive's release of expired locks;
//   - expiry (active, available, with a time to live): Receive's expiry;
//   - by_token: settlement;
//   - scheduled (state 2, by due time): Receive's enqueueing of due messages;
//   - deferred_locks (state 4, by expiry): Receive's release of expired deferred locks.
//
// state is 0 (available), 1 (locked; lock_token and locked_until set), 2 (scheduled:
// enqueued_at is when it will be enqueued), 3 (deferred) or 4 (deferred and locked by
// ReceiveDeferred). Times are microseconds since the epoch by the clock of the node that
// wrote them; 0 is none. Names and message ids compare byte for byte (COLLATE "C").
//
// queue_message_ids holds the message ids accepted for queues with duplicate detection
// on, with when each was first accepted; its primary key is what makes two nodes sending
// one id at once store it once.
//
// Sessions (messaging.Sessions): a message's session_id (” for none), indexed with its
// sub-queue and sequence for the available messages (ReceiveSession, AcceptNextSession);
// queue_sessions holds a row per session with its lock (lock_token NULL and locked_until 0
// while unlocked), its state (NULL: none) and when that was last set (updated_at, 0:
// never).
//
// Every statement is idempotent, so Open upgrades a database an older version created:
// the first version had states 0 and 1 only, neither the last two indexes of
// queue_messages nor queue_message_ids; the second had no sessions. A column added later is added with
// ALTER TABLE ... ADD COLUMN IF NOT EXISTS, here.
const schema = `
CREATE TABLE IF NOT EXISTS queue_counters (
	namespace TEXT COLLATE "C" NOT NULL,
	queue     TEXT COLLATE "C" NOT NULL,
	last_seq  BIGINT NOT NULL,
	PRIMARY KEY (namespace, queue)
);
CREATE TABLE IF NOT EXISTS queue_messages (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	namespace      TEXT COLLATE "C" NOT NULL,
	queue          TEXT COLLATE "C" NOT NULL,
	sub            SMALLINT NOT NULL,
	seq            BIGINT NOT NULL,
	state          SMALLINT NOT NULL,
	lock_token     BYTEA,
	locked_until   BIGINT NOT NULL,
	delivery_count INTEGER NOT NULL,
	enqueued_at    BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	message_id     TEXT NOT NULL,
	dl_reason      TEXT NOT NULL,
	dl_description TEXT NOT NULL,
	raw            BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_by_seq ON queue_messages (namespace, queue, sub, seq);
CREATE INDEX IF NOT EXISTS queue_messages_available ON queue_messages (namespace, queue, sub, seq) WHERE state = 0;
CREATE INDEX IF NOT EXISTS queue_messages_locks ON queue_messages (namespace, queue, sub, locked_until) WHERE state = 1;
CREATE INDEX IF NOT EXISTS queue_messages_expiry ON queue_messages (namespace, queue, expires_at) WHERE sub = 0 AND state = 0 AND expires_at > 0;
CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_by_token ON queue_messages (lock_token) WHERE lock_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_messages_scheduled ON queue_messages (namespace, queue, enqueued_at) WHERE state = 2;
CREATE INDEX IF NOT EXISTS queue_messages_deferred_locks ON queue_messages (namespace, queue, sub, locked_until) WHERE state = 4;
CREATE TABLE IF NOT EXISTS queue_message_ids (
	namespace  TEXT COLLATE "C" NOT NULL,
	queue      TEXT COLLATE "C" NOT NULL,
	message_id TEXT COLLATE "C" NOT NULL,
	seen_at    BIGINT NOT NULL,
	PRIMARY KEY (namespace, queue, message_id)
);
CREATE INDEX IF NOT EXISTS queue_message_ids_by_time ON queue_message_ids (namespace, queue, seen_at);
ALTER TABLE queue_messages ADD COLUMN IF NOT EXISTS session_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS queue_messages_sessions ON queue_messages (namespace, queue, session_id, sub, seq) WHERE state = 0;
CREATE TABLE IF NOT EXISTS queue_sessions (
	namespace    TEXT COLLATE "C" NOT NULL,
	queue        TEXT COLLATE "C" NOT NULL,
	session_id   TEXT COLLATE "C" NOT NULL,
	lock_token   BYTEA,
	locked_until BIGINT NOT NULL,
	state        BYTEA,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (namespace, queue, session_id)
);
`

// Open connects to the PostgreSQL database named by dsn (a URL or key=value string, as pgx
// accepts), creates the queue tables in its search_path if they are missing (or upgrades
// them), and starts
// listening for other nodes' arrivals.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	s := &Store{pool: pool, dsn: dsn, now: opts.Clock, logger: opts.Logger, id: newStoreID()}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var current string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	s.channel = channelFor(current)
	// The first listening connection is made here, so that a new store is ready and
	// hears every arrival committed after Open returns.
	conn, err := s.listenConn(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.listening.Go(func() { s.listen(lctx, conn) })
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgqueue: create schema: %w", err)
	}
	return nil
}

// channelFor is the NOTIFY channel of the queues in schema: a name of their own per schema,
// so that Lanyards in different schemas of one database do not wake each other, and short
// enough for PostgreSQL's 63-byte identifiers.
func channelFor(schema string) string {
	const prefix = "lanyard_queues_"
	if len(prefix)+len(schema) <= 63 {
		return prefix + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return prefix + hex.EncodeToString(sum[:16])
}

func newStoreID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand does not fail
	return hex.EncodeToString(b)
}

var errClosed = errors.New("pgqueue: the store is closed")

// Ready reports whether the database is reachable, as the listening connection last
// found it: it fails while that connection is down and recovers once it is back.
func (s *Store) Ready() error {
	return s.health.err()
}

// Close stops listening and closes the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.health.close()
		s.stop()
		s.listening.Wait()
		s.pool.Close()
	})
	return nil
}

func (s *Store) Arrivals(q messaging.Queue, sub messaging.SubQueue) <-chan struct{} {
	return s.arrivals.Wait(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: sub})
}

// health is the database's reachability as the listener last saw it.
type health struct {
	mu     sync.Mutex
	down   error
	closed bool
}

func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errClosed
	}
	return h.down
}

func (h *health) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = err
}

func (h *health) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
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
