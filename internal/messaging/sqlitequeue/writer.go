package sqlitequeue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The writer commits every change the store makes, from one goroutine (group commit):
// it takes the first operation waiting, then every other one waiting by then, up to
// maxBatch, runs them in one transaction, each under its own savepoint so that one
// failing undoes only itself, and commits once: one fsync for all of them. Callers wait
// for the commit, so nothing is acknowledged before it is on disk. Nothing waits for a
// batch to fill: a lone operation commits at once.
//
// Locks need not survive a crash: a lock lost with the process or the machine only makes
// its message available again, and its token died with the receiver's connection anyway.
// So a batch of operations that only take, renew or give back locks (doLocks) commits
// with synchronous=NORMAL: written to the WAL, not fsynced. Any other batch commits with
// synchronous=FULL, and its fsync of the WAL makes every earlier commit durable too: the
// WAL is one file, appended in commit order, so a crash can lose only a tail of lock-only
// commits, never a durable change nor what came before one.
const (
	maxBatch = 256
	// batchTimeout bounds one transaction; the operations' own contexts do not, since a
	// batch is shared.
	batchTimeout = 30 * time.Second
	// probeInterval is how often a writer whose last write failed tries a write of its
	// own, so that Ready recovers when the disk does, without waiting for traffic.
	probeInterval = time.Second
)

var errClosed = errors.New("sqlitequeue: the store is closed")

// op is one operation of a batch.
type op struct {
	ctx context.Context
	// run makes the operation's changes in tx, at the batch's time now.
	run func(ctx context.Context, tx wtx, now time.Time) error
	// committed runs once the batch committed with the operation's changes in it.
	committed func()
	// locksOnly: the operation's changes may be lost in a crash (see doLocks).
	locksOnly bool
	err       error
	done      chan struct{}
}

type writer struct {
	db    *sql.DB // one connection
	now   func() time.Time
	log   *slog.Logger
	ops   chan *op
	quit  chan struct{}
	ended chan struct{}

	// synced: the connection commits with synchronous=FULL (the DSN's), as it does until
	// a lock-only batch sets NORMAL. Only the writer's goroutine touches it.
	synced bool

	mu     sync.Mutex
	failed error // the last write's storage failure; nil once a write succeeds

	// Statements prepared on the writer's connection, by their text, and those run
	// unprepared in the last batch: the writer prepares them between batches, when its
	// connection is free. Only the writer's goroutine touches these.
	prepared map[string]*sql.Stmt
	wanted   map[string]bool
}

// maxPrepared bounds the statements kept prepared; the store's queries are fewer.
const maxPrepared = 64

// wtx is a batch's transaction, running statements prepared once where it can: parsing
// would otherwise be most of the writer's work.
type wtx struct {
	tx *sql.Tx
	w  *writer
}

func (t wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.w.prepared[query]; st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	if len(t.w.prepared)+len(t.w.wanted) < maxPrepared {
		t.w.wanted[query] = true
	}
	return nil
}

func (t wtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t wtx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t wtx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// prepareWanted prepares the statements the last batch ran unprepared.
func (w *writer) prepareWanted() {
	for q := range w.wanted {
		delete(w.wanted, q)
		st, err := w.db.PrepareContext(context.Background(), q)
		if err != nil {
			continue // it runs unprepared, and fails there if it must
		}
		w.prepared[q] = st
	}
}

func newWriter(db *sql.DB, now func() time.Time, log *slog.Logger) *writer {
	w := &writer{db: db, now: now, log: log, ops: make(chan *op), quit: make(chan struct{}), ended: make(chan struct{}),
		prepared: map[string]*sql.Stmt{}, wanted: map[string]bool{}, synced: true}
	go w.loop()
	return w
}

// do runs fn in the next batch and returns once that batch committed (or failed). A ctx
// done before the batch starts on the operation leaves the store unchanged.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx wtx, now time.Time) error, committed func()) error {
	return w.enqueue(ctx, &op{ctx: ctx, run: fn, committed: committed})
}

// doLocks is do for an operation that only takes, renews or gives back locks, whose
// changes a crash may undo: it returns once they are committed and visible to every later
// operation, but they are durable only with the next durable commit.
func (w *writer) doLocks(ctx context.Context, fn func(ctx context.Context, tx wtx, now time.Time) error, committed func()) error {
	return w.enqueue(ctx, &op{ctx: ctx, run: fn, committed: committed, locksOnly: true})
}

func (w *writer) enqueue(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.done = make(chan struct{})
	select {
	case w.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	<-o.done // the batch is short and bounded; its outcome decides what the caller is told
	return o.err
}

func (w *writer) close() {
	close(w.quit)
	<-w.ended
}

// ready is the last write's failure, if it failed.
func (w *writer) ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return fmt.Errorf("sqlitequeue: the last write failed: %w", w.failed)
	}
	return nil
}

func (w *writer) setFailed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil && w.failed == nil {
		w.log.Error("service bus queue store: write failed", "err", err)
	} else if err == nil && w.failed != nil {
		w.log.Info("service bus queue store: writes succeed again")
	}
	w.failed = err
}

func (w *writer) loop() {
	defer close(w.ended)
	defer func() {
		for _, st := range w.prepared {
			st.Close()
		}
	}()
	batch := make([]*op, 0, maxBatch)
	probe := time.NewTicker(probeInterval)
	defer probe.Stop()
	for {
		select {
		case o := <-w.ops:
			batch = append(batch[:0], o)
		case <-probe.C:
			if w.ready() != nil {
				w.setFailed(w.probe())
			}
			continue
		case <-w.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break more
			}
		}
		w.commit(batch)
		for _, o := range batch {
			if o.err == nil && o.committed != nil {
				o.committed()
			}
			close(o.done)
		}
		w.prepareWanted()
	}
}

// isStorageFailure tells a failure of the disk or database from an operation's refusal.
func isStorageFailure(err error) bool {
	return err != nil && !errors.Is(err, messaging.ErrLockLost) && !errors.Is(err, messaging.ErrInvalid) &&
		!errors.Is(err, messaging.ErrMessageNotFound) && !errors.Is(err, messaging.ErrSessionLockLost) &&
		!errors.Is(err, messaging.ErrSessionCannotBeLocked) && !errors.Is(err, messaging.ErrNoSessionAvailable) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// commit runs batch in one transaction and sets each operation's err.
func (w *writer) commit(batch []*op) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	failAll := func(err error) {
		for _, o := range batch {
			if o.err == nil {
				o.err = err
			}
		}
		w.setFailed(err)
	}
	if err := w.setSync(ctx, durable(batch)); err != nil {
		failAll(err)
		return
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		failAll(fmt.Errorf("sqlitequeue: begin: %w", err))
		return
	}
	now := w.now()
	t := wtx{tx: tx, w: w}
	var storageErr error
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.err = err
			continue
		}
		if _, err := t.exec(ctx, "SAVEPOINT op"); err != nil {
			_ = tx.Rollback()
			failAll(fmt.Errorf("sqlitequeue: savepoint: %w", err))
			return
		}
		o.err = o.run(ctx, t, now)
		if o.err != nil {
			if isStorageFailure(o.err) {
				storageErr = o.err
			}
			// Some failures (a full disk, an I/O error) make SQLite roll the whole
			// transaction back; then the savepoint is gone, and so is everything before.
			if _, err := t.exec(ctx, "ROLLBACK TO op"); err != nil {
				_ = tx.Rollback()
				failAll(fmt.Errorf("sqlitequeue: the batch was rolled back: %w", o.err))
				return
			}
		}
		if _, err := t.exec(ctx, "RELEASE op"); err != nil {
			_ = tx.Rollback()
			failAll(fmt.Errorf("sqlitequeue: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(fmt.Errorf("sqlitequeue: commit: %w", err))
		return
	}
	w.setFailed(storageErr)
}

// setSync sets the connection's synchronous level: FULL for a batch with a durable
// change, NORMAL for one that only touches locks. SQLite refuses the change inside a
// transaction, so it is made before each batch that needs the other level. Should the
// pool replace the connection, the new one opens with the DSN's FULL: never less durable
// than asked.
func (w *writer) setSync(ctx context.Context, full bool) error {
	if full == w.synced {
		return nil
	}
	level := "NORMAL"
	if full {
		level = "FULL"
	}
	w.synced = true // not knowing is FULL: a failed switch is tried again
	if _, err := w.db.ExecContext(ctx, "PRAGMA synchronous = "+level); err != nil {
		return fmt.Errorf("sqlitequeue: set synchronous=%s: %w", level, err)
	}
	w.synced = full
	return nil
}

func durable(batch []*op) bool {
	for _, o := range batch {
		if !o.locksOnly {
			return true
		}
	}
	return false
}

// probe writes and removes a page's worth of bytes, committed: it succeeds only if the
// database can grow and sync again.
func (w *writer) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if err := w.setSync(ctx, true); err != nil {
		return fmt.Errorf("sqlitequeue: probe: %w", err)
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitequeue: probe: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO probe (id, data) VALUES (1, zeroblob(65536))"); err != nil {
		return fmt.Errorf("sqlitequeue: probe: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM probe"); err != nil {
		return fmt.Errorf("sqlitequeue: probe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitequeue: probe: %w", err)
	}
	return nil
}
