package sqlitequeue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The session operations (messaging.Sessions). A session's lock is its row in sessions;
// its messages are those of messages with its session_id.

func (s *Store) AcceptSession(ctx context.Context, q messaging.Queue, sessionID string) (messaging.SessionLock, error) {
	if err := checkSessionQueue(q); err != nil {
		return messaging.SessionLock{}, err
	}
	if err := messaging.CheckSessionID(sessionID); err != nil {
		return messaging.SessionLock{}, err
	}
	var out messaging.SessionLock
	err := s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		var err error
		out, err = lockSession(ctx, tx, q, sessionID, now)
		return err
	}, nil)
	return out, err
}

func (s *Store) AcceptNextSession(ctx context.Context, q messaging.Queue) (messaging.SessionLock, error) {
	if err := checkSessionQueue(q); err != nil {
		return messaging.SessionLock{}, err
	}
	var (
		out          messaging.SessionLock
		deadLettered bool
	)
	err := s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		n, err := applyRules(ctx, tx, q, messaging.Active, micros(now))
		if err != nil {
			return fmt.Errorf("sqlitequeue: accept next session: %w", err)
		}
		deadLettered = n > 0
		var id string
		err = tx.queryRow(ctx, `SELECT m.session_id FROM messages m
LEFT JOIN sessions s ON s.namespace = m.namespace AND s.queue = m.queue AND s.session_id = m.session_id
WHERE m.namespace = ? AND m.queue = ? AND m.sub = 0 AND m.state = 0 AND m.session_id != ''
	AND (s.locked_until IS NULL OR s.locked_until <= ?)
ORDER BY m.seq LIMIT 1`, q.Namespace, q.Name, micros(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return messaging.ErrNoSessionAvailable
		}
		if err != nil {
			return fmt.Errorf("sqlitequeue: accept next session: %w", err)
		}
		out, err = lockSession(ctx, tx, q, id, now)
		return err
	}, func() {
		if deadLettered {
			s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.DeadLetter})
		}
	})
	return out, err
}

// lockSession takes the lock of session id unless another is held, and ends the message
// locks an earlier holder left in it (the queue's rules then release or dead-letter them).
func lockSession(ctx context.Context, tx wtx, q messaging.Queue, id string, now time.Time) (messaging.SessionLock, error) {
	tok := newLockToken()
	until := micros(now.Add(q.LockDuration))
	res, err := tx.exec(ctx, `INSERT INTO sessions (namespace, queue, session_id, lock_token, locked_until, state, updated_at)
VALUES (?, ?, ?, ?, ?, NULL, 0)
ON CONFLICT (namespace, queue, session_id) DO UPDATE SET lock_token = excluded.lock_token, locked_until = excluded.locked_until
WHERE sessions.locked_until <= ?`, q.Namespace, q.Name, id, tok[:], until, micros(now))
	if err != nil {
		return messaging.SessionLock{}, fmt.Errorf("sqlitequeue: lock session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return messaging.SessionLock{}, messaging.ErrSessionCannotBeLocked
	}
	if _, err := tx.exec(ctx, `UPDATE messages SET locked_until = ?
WHERE namespace = ? AND queue = ? AND session_id = ? AND sub = 0 AND state = 1`, micros(now), q.Namespace, q.Name, id); err != nil {
		return messaging.SessionLock{}, fmt.Errorf("sqlitequeue: lock session: %w", err)
	}
	if _, err := applyRules(ctx, tx, q, messaging.Active, micros(now)); err != nil {
		return messaging.SessionLock{}, fmt.Errorf("sqlitequeue: lock session: %w", err)
	}
	return messaging.SessionLock{SessionID: id, Token: tok, LockedUntil: fromMicros(until)}, nil
}

// heldSession checks that lock is held at now.
func heldSession(ctx context.Context, db interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, q messaging.Queue, lock messaging.SessionLock, now time.Time) error {
	var one int
	err := db.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE namespace = ? AND queue = ? AND session_id = ?
	AND lock_token = ? AND locked_until > ?`, q.Namespace, q.Name, lock.SessionID, lock.Token[:], micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return messaging.ErrSessionLockLost
	}
	if err != nil {
		return fmt.Errorf("sqlitequeue: find session lock: %w", err)
	}
	return nil
}

// txRows lets heldSession read through the writer's transaction.
type txRows struct{ tx wtx }

func (t txRows) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.queryRow(ctx, query, args...)
}

func (s *Store) RenewSessionLock(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) (time.Time, error) {
	if err := checkSessionQueue(q); err != nil {
		return time.Time{}, err
	}
	var until int64
	err := s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		if err := heldSession(ctx, txRows{tx}, q, lock, now); err != nil {
			return err
		}
		until = micros(now.Add(q.LockDuration))
		if _, err := tx.exec(ctx, `UPDATE sessions SET locked_until = ? WHERE namespace = ? AND queue = ? AND session_id = ?`,
			until, q.Namespace, q.Name, lock.SessionID); err != nil {
			return fmt.Errorf("sqlitequeue: renew session lock: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE messages SET locked_until = ?
WHERE namespace = ? AND queue = ? AND session_id = ? AND sub = 0 AND state = 1 AND locked_until > ?`,
			until, q.Namespace, q.Name, lock.SessionID, micros(now)); err != nil {
			return fmt.Errorf("sqlitequeue: renew session lock: %w", err)
		}
		return nil
	}, nil)
	if err != nil {
		return time.Time{}, err
	}
	return fromMicros(until), nil
}

func (s *Store) ReleaseSession(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	return s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		res, err := tx.exec(ctx, `UPDATE sessions SET lock_token = NULL, locked_until = 0
WHERE namespace = ? AND queue = ? AND session_id = ? AND lock_token = ?`, q.Namespace, q.Name, lock.SessionID, lock.Token[:])
		if err != nil {
			return fmt.Errorf("sqlitequeue: release session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.exec(ctx, `UPDATE messages SET locked_until = ?
WHERE namespace = ? AND queue = ? AND session_id = ? AND sub = 0 AND state = 1`, micros(now), q.Namespace, q.Name, lock.SessionID); err != nil {
			return fmt.Errorf("sqlitequeue: release session: %w", err)
		}
		return nil
	}, func() {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.Active})
	})
}

func (s *Store) ReceiveSession(ctx context.Context, q messaging.Queue, lock messaging.SessionLock, mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	return s.receive(ctx, "receive session", q, messaging.Active, &lock, mode, max)
}

func (s *Store) SessionState(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) ([]byte, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := heldSession(ctx, s.read, q, lock, s.w.now()); err != nil {
		return nil, err
	}
	var (
		state []byte
		none  bool
	)
	if err := s.read.QueryRowContext(ctx, `SELECT state IS NULL, state FROM sessions WHERE namespace = ? AND queue = ? AND session_id = ?`,
		q.Namespace, q.Name, lock.SessionID).Scan(&none, &state); err != nil {
		return nil, fmt.Errorf("sqlitequeue: session state: %w", err)
	}
	if !none && state == nil {
		state = []byte{} // the driver reads an empty blob as nil
	}
	return state, nil
}

func (s *Store) SetSessionState(ctx context.Context, q messaging.Queue, lock messaging.SessionLock, state []byte) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if len(state) > messaging.MaxSessionStateSize {
		return messaging.Invalid("a session state of %d bytes, over the limit of %d", len(state), messaging.MaxSessionStateSize)
	}
	if state != nil && len(state) == 0 {
		state = []byte{} // an empty state is a state, not none
	}
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		if err := heldSession(ctx, txRows{tx}, q, lock, now); err != nil {
			return err
		}
		var v any
		if state != nil {
			v = state
		}
		if _, err := tx.exec(ctx, `UPDATE sessions SET state = ?, updated_at = ? WHERE namespace = ? AND queue = ? AND session_id = ?`,
			v, micros(now), q.Namespace, q.Name, lock.SessionID); err != nil {
			return fmt.Errorf("sqlitequeue: set session state: %w", err)
		}
		return nil
	}, nil)
}

func (s *Store) ListSessions(ctx context.Context, q messaging.Queue, updatedAfter time.Time, skip, top int) ([]string, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if skip < 0 || top <= 0 {
		return nil, messaging.Invalid("list of sessions skipping %d, top %d", skip, top)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	query := `SELECT session_id FROM messages WHERE namespace = ?1 AND queue = ?2 AND sub = 0 AND session_id != ''
UNION SELECT session_id FROM sessions WHERE namespace = ?1 AND queue = ?2 AND state IS NOT NULL
ORDER BY 1 LIMIT ?3 OFFSET ?4`
	args := []any{q.Namespace, q.Name, top, skip}
	if !updatedAfter.IsZero() {
		query = `SELECT session_id FROM sessions WHERE namespace = ?1 AND queue = ?2 AND updated_at > ?5
ORDER BY 1 LIMIT ?3 OFFSET ?4`
		args = append(args, micros(updatedAfter))
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: list sessions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlitequeue: list sessions: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitequeue: list sessions: %w", err)
	}
	return out, nil
}

func checkSessionQueue(q messaging.Queue) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	return messaging.CheckLocking(q)
}

func (s *Store) PeekSession(ctx context.Context, q messaging.Queue, sessionID string, from int64, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSessionID(sessionID); err != nil {
		return nil, err
	}
	return s.peek(ctx, "peek session", q, max, `m.sub = 0 AND m.session_id = ? AND m.seq >= ?`, sessionID, from)
}
