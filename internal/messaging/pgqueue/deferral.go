package pgqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Scheduling, deferral and duplicate detection: the states 2 to 4 of a message's row,
// and the table queue_message_ids.

// The statements of firstSeen: $1 namespace, $2 queue, then their own.
const (
	// $3 the window's start: ids first seen then or before are forgotten. Rows another
	// sender holds are left to a later send.
	forgetIDsSQL = `DELETE FROM queue_message_ids WHERE (namespace, queue, message_id) IN (
	SELECT namespace, queue, message_id FROM queue_message_ids
	WHERE namespace = $1 AND queue = $2 AND seen_at <= $3 FOR UPDATE SKIP LOCKED)`
	// $3 now, $4 the ids, $5 the window's start. It returns the ids first seen now: new
	// ones, and those last seen before the window (which the DELETE above may have
	// skipped). An id another transaction is recording waits for it to end, then counts
	// as seen if it committed: the primary key orders two nodes sending one id. Sorted, so
	// that two senders take the ids' row locks in one order.
	recordIDsSQL = `INSERT INTO queue_message_ids AS k (namespace, queue, message_id, seen_at)
SELECT $1, $2, d.id, $3 FROM (SELECT DISTINCT unnest($4::text[]) AS id) d WHERE d.id <> '' ORDER BY d.id
ON CONFLICT (namespace, queue, message_id) DO UPDATE SET seen_at = excluded.seen_at WHERE k.seen_at <= $5
RETURNING message_id`
)

// firstSeen records the message ids of msgs for q, which detects duplicates, in tx, and
// tells which messages to store: those without an id, and the first with an id not seen
// within the window.
func firstSeen(ctx context.Context, tx pgx.Tx, q messaging.Queue, msgs []messaging.Message, now int64) ([]bool, error) {
	start := now - q.DuplicateDetectionWindow.Microseconds()
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.MessageID
	}
	fresh := map[string]bool{}
	b := &pgx.Batch{}
	b.Queue(forgetIDsSQL, q.Namespace, q.Name, start)
	b.Queue(recordIDsSQL, q.Namespace, q.Name, now, ids, start)
	err := sendBatch(ctx, tx, b, nil, func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			fresh[id] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keep := make([]bool, len(msgs))
	for i, m := range msgs {
		switch {
		case m.MessageID == "":
			keep[i] = true
		case fresh[m.MessageID]:
			keep[i] = true
			fresh[m.MessageID] = false // a second one in this send is a duplicate
		}
	}
	return keep, nil
}

func (s *Store) CancelScheduled(ctx context.Context, q messaging.Queue, seqs []int64) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSequenceNumbers(seqs); err != nil {
		return err
	}
	// A message Receive is enqueueing meanwhile is waited for, then left alone: it is no
	// longer scheduled.
	return s.change(ctx, "cancel scheduled", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM queue_messages
WHERE namespace = $1 AND queue = $2 AND sub = 0 AND state = 2 AND seq = ANY($3::bigint[])`, q.Namespace, q.Name, seqs)
		return err
	})
}

func (s *Store) Defer(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken, raw []byte) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	if err := messaging.CheckRaw(raw, true); err != nil {
		return err
	}
	return s.change(ctx, "defer", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE queue_messages SET state = 3, lock_token = NULL, locked_until = 0,
	raw = COALESCE($6::bytea, raw) WHERE `+heldSQL, q.Namespace, q.Name, int(sub), token[:], micros(s.now()), raw)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return messaging.ErrLockLost
		}
		return nil
	})
}

// The statements of ReceiveDeferred. deferredSQL locks the deferred messages ($1
// namespace, $2 queue, $3 sub-queue) with the sequence numbers $4 that are not locked by
// ReceiveDeferred at $5 (now); it waits for a row another transaction holds, then checks
// it again. The statement after it changes them only if it found all $6 of them.
const (
	deferredSQL = `WITH w AS MATERIALIZED (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND seq = ANY($4::bigint[])
		AND (state = 3 OR state = 4 AND locked_until <= $5)
	ORDER BY id FOR UPDATE)`
	// $7 locked until.
	lockDeferredSQL = deferredSQL + `
UPDATE queue_messages m SET state = 4, lock_token = uuid_send(gen_random_uuid()), locked_until = $7,
	delivery_count = m.delivery_count + 1
FROM w WHERE m.id = w.id AND (SELECT count(*) FROM w) = $6 RETURNING m.lock_token, ` + storedColumns
	removeDeferredSQL = deferredSQL + `
DELETE FROM queue_messages m USING w WHERE m.id = w.id AND (SELECT count(*) FROM w) = $6 RETURNING ` + storedColumns
)

func (s *Store) ReceiveDeferred(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, seqs []int64) ([]messaging.Stored, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	if err := messaging.CheckLocking(q); err != nil {
		return nil, err
	}
	if mode != messaging.PeekLock && mode != messaging.ReceiveAndDelete {
		return nil, messaging.Invalid("receive of mode %d", mode)
	}
	if err := messaging.CheckSequenceNumbers(seqs); err != nil {
		return nil, err
	}
	var out []messaging.Stored
	err := s.change(ctx, "receive deferred", func(ctx context.Context) error {
		out = out[:0]
		now := s.now()
		b := &pgx.Batch{}
		if mode == messaging.PeekLock {
			b.Queue(lockDeferredSQL, q.Namespace, q.Name, int(sub), seqs, micros(now), int64(len(seqs)), micros(now.Add(q.LockDuration)))
		} else {
			b.Queue(removeDeferredSQL, q.Namespace, q.Name, int(sub), seqs, micros(now), int64(len(seqs)))
		}
		err := s.runBatch(ctx, b, func(rows pgx.Rows) error {
			for rows.Next() {
				var (
					m     messaging.Stored
					token []byte
					err   error
				)
				if mode == messaging.PeekLock {
					if m, err = scanStored(rows, &token); err != nil {
						return err
					}
					if len(token) != len(m.LockToken) {
						return fmt.Errorf("a lock token of %d bytes", len(token))
					}
					copy(m.LockToken[:], token)
				} else {
					if m, err = scanStored(rows); err != nil {
						return err
					}
					m.LockedUntil = time.Time{}
				}
				out = append(out, m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(out) != len(seqs) {
			return fmt.Errorf("%w: sequence numbers %v are not all deferred messages, unlocked, of %s", messaging.ErrMessageNotFound, seqs, q.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// In the order asked.
	at := make(map[int64]messaging.Stored, len(out))
	for _, m := range out {
		at[m.SequenceNumber] = m
	}
	for i, seq := range seqs {
		out[i] = at[seq]
	}
	return out, nil
}
