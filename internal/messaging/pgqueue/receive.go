package pgqueue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Receive: the queue's rules, then the taking of available messages, in one batch.

// The statements of Receive, in the order it runs them. Each takes $1 namespace, $2 queue
// and $3 sub-queue, then its own.
const (
	// $4 now, $5 max delivery count, $6 reason, $7 description, $8 the store's id, $9 channel.
	deadLetterExhaustedSQL = `WITH d AS (
	UPDATE queue_messages SET sub = 1, state = 0, lock_token = NULL, locked_until = 0, dl_reason = $6, dl_description = $7
	WHERE id IN (SELECT id FROM queue_messages
		WHERE namespace = $1 AND queue = $2 AND sub = $3 AND state = 1 AND locked_until <= $4 AND delivery_count >= $5
		FOR UPDATE SKIP LOCKED)
	RETURNING 1),
n AS (SELECT pg_notify($9, json_build_object('from', $8::text, 'ns', $1::text, 'q', $2::text, 'sub', 1)::text)
	FROM (SELECT 1 FROM d LIMIT 1) x)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM n)`
	// $4 now, $5 max delivery count: what reached it is dead-lettered above, not released
	// (unless another transaction held it then).
	releaseExpiredSQL = `UPDATE queue_messages SET state = 0, lock_token = NULL, locked_until = 0
WHERE id IN (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND state = 1 AND locked_until <= $4 AND (sub = 1 OR delivery_count < $5)
	FOR UPDATE SKIP LOCKED)`
	expiredSQL = `SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND state = 0 AND expires_at > 0 AND expires_at <= $4
	FOR UPDATE SKIP LOCKED`
	// $4 now.
	dropExpiredSQL = `DELETE FROM queue_messages WHERE id IN (` + expiredSQL + `)`
	// $4 now, $5 reason, $6 description, $7 the store's id, $8 channel.
	deadLetterExpiredSQL = `WITH d AS (
	UPDATE queue_messages SET sub = 1, dl_reason = $5, dl_description = $6 WHERE id IN (` + expiredSQL + `)
	RETURNING 1),
n AS (SELECT pg_notify($8, json_build_object('from', $7::text, 'ns', $1::text, 'q', $2::text, 'sub', 1)::text)
	FROM (SELECT 1 FROM d LIMIT 1) x)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM n)`
	// $3 now (no sub-queue: only the active queue schedules).
	enqueueDueSQL = `UPDATE queue_messages SET state = 0
WHERE id IN (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND state = 2 AND enqueued_at <= $3
	FOR UPDATE SKIP LOCKED)`
	// $4 now: a deferred message whose lock expired is deferred again.
	releaseExpiredDeferredSQL = `UPDATE queue_messages SET state = 3, lock_token = NULL, locked_until = 0
WHERE id IN (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND state = 4 AND locked_until <= $4
	FOR UPDATE SKIP LOCKED)`
	// $4 max.
	availableSQL = `WITH c AS MATERIALIZED (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND state = 0 ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)`
	// $5 locked until. The token is a random (version 4) UUID in RFC 4122 byte order,
	// from PostgreSQL's strong random source.
	lockSQL = availableSQL + `
UPDATE queue_messages m SET state = 1, lock_token = uuid_send(gen_random_uuid()), locked_until = $5,
	delivery_count = m.delivery_count + 1
FROM c WHERE m.id = c.id RETURNING m.lock_token, ` + storedColumns
	removeSQL = availableSQL + `
DELETE FROM queue_messages m USING c WHERE m.id = c.id RETURNING ` + storedColumns
)

// lockSQL and removeSQL within one session: $6 (lock) or $5 (remove) the session id.
var (
	sessionLockSQL   = strings.Replace(lockSQL, "state = 0 ORDER BY", "state = 0 AND session_id = $6 ORDER BY", 1)
	sessionRemoveSQL = strings.Replace(removeSQL, "state = 0 ORDER BY", "state = 0 AND session_id = $5 ORDER BY", 1)
)

func (s *Store) Receive(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	return s.receive(ctx, "receive", q, sub, nil, mode, max)
}

// receive is Receive, and with session ReceiveSession: the messages of that session only,
// in a transaction that first checks the session's lock is held.
func (s *Store) receive(ctx context.Context, what string, q messaging.Queue, sub messaging.SubQueue, session *messaging.SessionLock,
	mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := messaging.CheckLocking(q); err != nil {
		return nil, err
	}
	if mode != messaging.PeekLock && mode != messaging.ReceiveAndDelete {
		return nil, messaging.Invalid("receive of mode %d", mode)
	}
	if max <= 0 {
		return nil, messaging.Invalid("receive of %d messages", max)
	}
	var (
		out          []messaging.Stored
		deadLettered int64
	)
	err := s.change(ctx, what, func(ctx context.Context) error {
		out, deadLettered = out[:0], 0
		if session == nil {
			b, read := s.takeBatch(q, sub, "", mode, max, s.now(), &out, &deadLettered)
			return s.runBatch(ctx, b, read...)
		}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			now := s.now()
			if err := heldSession(ctx, tx, q, *session, now); err != nil {
				return err
			}
			b, read := s.takeBatch(q, sub, session.SessionID, mode, max, now, &out, &deadLettered)
			return sendBatch(ctx, tx, b, read...)
		})
	})
	if err != nil {
		return nil, err
	}
	if deadLettered > 0 {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.DeadLetter})
	}
	slices.SortFunc(out, func(a, b messaging.Stored) int { return int(a.SequenceNumber - b.SequenceNumber) })
	return out, nil
}

// takeBatch is Receive's batch: the queue's rules, then the taking of up to max available
// messages (of session only, if not empty) into *out, counting what the rules
// dead-lettered in *deadLettered.
func (s *Store) takeBatch(q messaging.Queue, sub messaging.SubQueue, session string, mode messaging.ReceiveMode, max int, now time.Time,
	out *[]messaging.Stored, deadLettered *int64) (*pgx.Batch, []func(pgx.Rows) error) {
	b := &pgx.Batch{}
	var read []func(pgx.Rows) error
	countDeadLettered := func(rows pgx.Rows) error {
		for rows.Next() {
			var n, notified int64
			if err := rows.Scan(&n, &notified); err != nil {
				return err
			}
			*deadLettered += n
		}
		return nil
	}
	if sub == messaging.Active {
		b.Queue(enqueueDueSQL, q.Namespace, q.Name, micros(now))
		read = append(read, nil)
		b.Queue(deadLetterExhaustedSQL, q.Namespace, q.Name, int(sub), micros(now), q.MaxDeliveryCount,
			messaging.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(maxDeliveryFmt, q.MaxDeliveryCount), s.id, s.channel)
		read = append(read, countDeadLettered)
	}
	b.Queue(releaseExpiredSQL, q.Namespace, q.Name, int(sub), micros(now), q.MaxDeliveryCount)
	b.Queue(releaseExpiredDeferredSQL, q.Namespace, q.Name, int(sub), micros(now))
	read = append(read, nil, nil)
	if sub == messaging.Active { // the dead-letter queue's messages do not expire
		if q.DeadLetterOnExpiration {
			b.Queue(deadLetterExpiredSQL, q.Namespace, q.Name, int(sub), micros(now),
				messaging.ReasonTTLExpired, ttlDescription, s.id, s.channel)
			read = append(read, countDeadLettered)
		} else {
			b.Queue(dropExpiredSQL, q.Namespace, q.Name, int(sub), micros(now))
			read = append(read, nil)
		}
	}
	if mode == messaging.PeekLock {
		if session == "" {
			b.Queue(lockSQL, q.Namespace, q.Name, int(sub), max, micros(now.Add(q.LockDuration)))
		} else {
			b.Queue(sessionLockSQL, q.Namespace, q.Name, int(sub), max, micros(now.Add(q.LockDuration)), session)
		}
		read = append(read, func(rows pgx.Rows) error {
			for rows.Next() {
				var token []byte
				m, err := scanStored(rows, &token)
				if err != nil {
					return err
				}
				if len(token) != len(m.LockToken) {
					return fmt.Errorf("a lock token of %d bytes", len(token))
				}
				copy(m.LockToken[:], token)
				*out = append(*out, m)
			}
			return nil
		})
	} else {
		if session == "" {
			b.Queue(removeSQL, q.Namespace, q.Name, int(sub), max)
		} else {
			b.Queue(sessionRemoveSQL, q.Namespace, q.Name, int(sub), max, session)
		}
		read = append(read, func(rows pgx.Rows) error {
			for rows.Next() {
				m, err := scanStored(rows)
				if err != nil {
					return err
				}
				m.LockedUntil = time.Time{}
				*out = append(*out, m)
			}
			return nil
		})
	}
	return b, read
}
