package pgqueue

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The session operations (messaging.Sessions). A session's lock is its row in
// queue_sessions, taken with an upsert that succeeds only over an expired lock, so that
// two nodes never both hold one; its messages are those of queue_messages with its
// session_id.

// lockSessionSQL takes session $3's lock: $4 token, $5 until, $6 now.
const lockSessionSQL = `INSERT INTO queue_sessions AS s (namespace, queue, session_id, lock_token, locked_until, state, updated_at)
VALUES ($1, $2, $3, $4, $5, NULL, 0)
ON CONFLICT (namespace, queue, session_id) DO UPDATE SET lock_token = excluded.lock_token, locked_until = excluded.locked_until
WHERE s.locked_until <= $6`

// endMessageLocksSQL makes the message locks of session $3 expire at $4, for the rules to
// release (or dead-letter) them.
const endMessageLocksSQL = `UPDATE queue_messages SET locked_until = $4
WHERE namespace = $1 AND queue = $2 AND session_id = $3 AND sub = 0 AND state = 1`

// heldSessionSQL finds a held session lock: $3 session, $4 token, $5 now.
const heldSessionSQL = `SELECT 1 FROM queue_sessions WHERE namespace = $1 AND queue = $2 AND session_id = $3
	AND lock_token = $4 AND locked_until > $5`

// nextSessionSQL finds the unlocked session with the oldest available message: $3 now.
const nextSessionSQL = `SELECT m.session_id FROM queue_messages m
LEFT JOIN queue_sessions s ON s.namespace = m.namespace AND s.queue = m.queue AND s.session_id = m.session_id
WHERE m.namespace = $1 AND m.queue = $2 AND m.sub = 0 AND m.state = 0 AND m.session_id <> ''
	AND (s.locked_until IS NULL OR s.locked_until <= $3)
ORDER BY m.seq LIMIT 1`

func (s *Store) AcceptSession(ctx context.Context, q messaging.Queue, sessionID string) (messaging.SessionLock, error) {
	if err := checkSessionQueue(q); err != nil {
		return messaging.SessionLock{}, err
	}
	if err := messaging.CheckSessionID(sessionID); err != nil {
		return messaging.SessionLock{}, err
	}
	var out messaging.SessionLock
	err := s.change(ctx, "accept session", func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			out, err = s.lockSession(ctx, tx, q, sessionID, s.now())
			return err
		})
	})
	return out, err
}

func (s *Store) AcceptNextSession(ctx context.Context, q messaging.Queue) (messaging.SessionLock, error) {
	if err := checkSessionQueue(q); err != nil {
		return messaging.SessionLock{}, err
	}
	var out messaging.SessionLock
	// Another node may take the session found between the look and the lock: look again.
	for range attempts {
		err := s.change(ctx, "accept next session", func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				now := s.now()
				var id string
				err := tx.QueryRow(ctx, nextSessionSQL, q.Namespace, q.Name, micros(now)).Scan(&id)
				if errors.Is(err, pgx.ErrNoRows) {
					return messaging.ErrNoSessionAvailable
				}
				if err != nil {
					return err
				}
				out, err = s.lockSession(ctx, tx, q, id, now)
				return err
			})
		})
		if !errors.Is(err, messaging.ErrSessionCannotBeLocked) {
			return out, err
		}
	}
	return messaging.SessionLock{}, messaging.ErrNoSessionAvailable
}

// lockSession takes session id's lock in tx and ends the message locks an earlier holder
// left in it, applying the queue's rules to them.
func (s *Store) lockSession(ctx context.Context, tx pgx.Tx, q messaging.Queue, id string, now time.Time) (messaging.SessionLock, error) {
	tok := newLockToken()
	until := micros(now.Add(q.LockDuration))
	tag, err := tx.Exec(ctx, lockSessionSQL, q.Namespace, q.Name, id, tok[:], until, micros(now))
	if err != nil {
		return messaging.SessionLock{}, err
	}
	if tag.RowsAffected() == 0 {
		return messaging.SessionLock{}, messaging.ErrSessionCannotBeLocked
	}
	b := &pgx.Batch{}
	b.Queue(endMessageLocksSQL, q.Namespace, q.Name, id, micros(now))
	var (
		none []messaging.Stored
		dl   int64
	)
	rules, read := s.takeBatch(q, messaging.Active, "", messaging.PeekLock, 0, now, &none, &dl)
	for _, qq := range rules.QueuedQueries {
		b.Queue(qq.SQL, qq.Arguments...)
	}
	if err := sendBatch(ctx, tx, b, append([]func(pgx.Rows) error{nil}, read...)...); err != nil {
		return messaging.SessionLock{}, err
	}
	if dl > 0 {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.DeadLetter})
	}
	return messaging.SessionLock{SessionID: id, Token: tok, LockedUntil: fromMicros(until)}, nil
}

func heldSession(ctx context.Context, db pgx.Tx, q messaging.Queue, lock messaging.SessionLock, now time.Time) error {
	var one int
	err := db.QueryRow(ctx, heldSessionSQL+" FOR UPDATE", q.Namespace, q.Name, lock.SessionID, lock.Token[:], micros(now)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return messaging.ErrSessionLockLost
	}
	return err
}

func (s *Store) RenewSessionLock(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) (time.Time, error) {
	if err := checkSessionQueue(q); err != nil {
		return time.Time{}, err
	}
	var until int64
	err := s.change(ctx, "renew session lock", func(ctx context.Context) error {
		now := s.now()
		until = micros(now.Add(q.LockDuration))
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE queue_sessions SET locked_until = $6 WHERE namespace = $1 AND queue = $2
	AND session_id = $3 AND lock_token = $4 AND locked_until > $5`, q.Namespace, q.Name, lock.SessionID, lock.Token[:], micros(now), until)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return messaging.ErrSessionLockLost
			}
			_, err = tx.Exec(ctx, `UPDATE queue_messages SET locked_until = $5 WHERE namespace = $1 AND queue = $2
	AND session_id = $3 AND sub = 0 AND state = 1 AND locked_until > $4`, q.Namespace, q.Name, lock.SessionID, micros(now), until)
			return err
		})
	})
	if err != nil {
		return time.Time{}, err
	}
	return fromMicros(until), nil
}

func (s *Store) ReleaseSession(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	released := false
	err := s.change(ctx, "release session", func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE queue_sessions SET lock_token = NULL, locked_until = 0
WHERE namespace = $1 AND queue = $2 AND session_id = $3 AND lock_token = $4`, q.Namespace, q.Name, lock.SessionID, lock.Token[:])
			if err != nil {
				return err
			}
			if released = tag.RowsAffected() > 0; !released {
				return nil
			}
			b := &pgx.Batch{}
			b.Queue(endMessageLocksSQL, q.Namespace, q.Name, lock.SessionID, micros(s.now()))
			b.Queue(notifySQL, s.notifyArgs(q, messaging.Active)...)
			return sendBatch(ctx, tx, b)
		})
	})
	if released {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.Active})
	}
	return err
}

func (s *Store) ReceiveSession(ctx context.Context, q messaging.Queue, lock messaging.SessionLock, mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	return s.receive(ctx, "receive session", q, messaging.Active, &lock, mode, max)
}

func (s *Store) PeekSession(ctx context.Context, q messaging.Queue, sessionID string, from int64, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSessionID(sessionID); err != nil {
		return nil, err
	}
	return s.peek(ctx, "peek session", q, max, `sub = 0 AND session_id = $3 AND seq >= $4 ORDER BY seq LIMIT $5`, sessionID, from)
}

func (s *Store) SessionState(ctx context.Context, q messaging.Queue, lock messaging.SessionLock) ([]byte, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var state []byte
	err := s.pool.QueryRow(ctx, `SELECT state FROM queue_sessions WHERE namespace = $1 AND queue = $2 AND session_id = $3
	AND lock_token = $4 AND locked_until > $5`, q.Namespace, q.Name, lock.SessionID, lock.Token[:], micros(s.now())).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, messaging.ErrSessionLockLost
	}
	if err != nil {
		return nil, fmt.Errorf("pgqueue: session state: %w", err)
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
	err := s.change(ctx, "set session state", func(ctx context.Context) error {
		now := micros(s.now())
		tag, err := s.pool.Exec(ctx, `UPDATE queue_sessions SET state = $6, updated_at = $5 WHERE namespace = $1 AND queue = $2
	AND session_id = $3 AND lock_token = $4 AND locked_until > $5`, q.Namespace, q.Name, lock.SessionID, lock.Token[:], now, state)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return messaging.ErrSessionLockLost
		}
		return nil
	})
	return err
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
	query := `SELECT session_id FROM queue_messages WHERE namespace = $1 AND queue = $2 AND sub = 0 AND session_id <> ''
UNION SELECT session_id FROM queue_sessions WHERE namespace = $1 AND queue = $2 AND state IS NOT NULL
ORDER BY 1 LIMIT $3 OFFSET $4`
	args := []any{q.Namespace, q.Name, top, skip}
	if !updatedAfter.IsZero() {
		query = `SELECT session_id FROM queue_sessions WHERE namespace = $1 AND queue = $2 AND updated_at > $5
ORDER BY 1 LIMIT $3 OFFSET $4`
		args = append(args, micros(updatedAfter))
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: list sessions: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgqueue: list sessions: %w", err)
	}
	return ids, nil
}

// newLockToken is a random (version 4) UUID in RFC 4122 byte order, as gen_random_uuid
// makes message lock tokens.
func newLockToken() messaging.LockToken {
	var t messaging.LockToken
	_, _ = rand.Read(t[:]) // crypto/rand does not fail
	t[6] = t[6]&0x0f | 0x40
	t[8] = t[8]&0x3f | 0x80
	return t
}

func checkSessionQueue(q messaging.Queue) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	return messaging.CheckLocking(q)
}
