package sqlitequeue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Scheduling, deferral and duplicate detection: the states 2 to 4 of a message's row,
// and the message_ids table.

// maxSequenceNumbers bounds the numbers one ReceiveDeferred or CancelScheduled takes.
const maxSequenceNumbers = 5000

func checkSeqs(seqs []int64) error {
	if len(seqs) == 0 || len(seqs) > maxSequenceNumbers {
		return invalid("%d sequence numbers (1 to %d)", len(seqs), maxSequenceNumbers)
	}
	seen := make(map[int64]bool, len(seqs))
	for _, n := range seqs {
		if seen[n] {
			return invalid("sequence number %d twice", n)
		}
		seen[n] = true
	}
	return nil
}

// dropDuplicates records the message ids of msgs for q, when q detects duplicates, and
// tells which messages to store: those whose id it had not seen within the window.
func dropDuplicates(ctx context.Context, tx wtx, q messaging.Queue, msgs []messaging.Message, now int64) ([]bool, error) {
	fresh := make([]bool, len(msgs))
	if q.DuplicateDetectionWindow <= 0 {
		for i := range fresh {
			fresh[i] = true
		}
		return fresh, nil
	}
	if _, err := tx.exec(ctx, "DELETE FROM message_ids WHERE namespace = ? AND queue = ? AND seen_at <= ?",
		q.Namespace, q.Name, now-q.DuplicateDetectionWindow.Microseconds()); err != nil {
		return nil, err
	}
	for i, m := range msgs {
		if m.MessageID == "" {
			fresh[i] = true
			continue
		}
		res, err := tx.exec(ctx, `INSERT INTO message_ids (namespace, queue, message_id, seen_at) VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING`, q.Namespace, q.Name, m.MessageID, now)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		fresh[i] = n == 1
	}
	return fresh, nil
}

func (s *Store) CancelScheduled(ctx context.Context, q messaging.Queue, seqs []int64) error {
	if err := checkName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := checkSeqs(seqs); err != nil {
		return err
	}
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		for _, seq := range seqs {
			var id int64
			err := tx.queryRow(ctx, "SELECT id FROM messages WHERE namespace = ? AND queue = ? AND sub = 0 AND seq = ? AND state = 2",
				q.Namespace, q.Name, seq).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err == nil {
				err = deleteMessage(ctx, tx, id)
			}
			if err != nil {
				return fmt.Errorf("sqlitequeue: cancel scheduled: %w", err)
			}
		}
		return nil
	}, nil)
}

func (s *Store) Defer(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken, raw []byte) error {
	if err := checkName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := checkSub(sub); err != nil {
		return err
	}
	if err := checkRaw(raw, true); err != nil {
		return err
	}
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		l, err := heldLock(ctx, tx, q, sub, token, now)
		if err != nil {
			return err
		}
		if err := setAside(ctx, tx, l.id, raw); err != nil {
			return fmt.Errorf("sqlitequeue: defer: %w", err)
		}
		return nil
	}, nil)
}

// setAside makes a locked message deferred, with raw as its encoding if not nil.
func setAside(ctx context.Context, tx wtx, id int64, raw []byte) error {
	if _, err := tx.exec(ctx, "UPDATE messages SET state = 3, lock_token = NULL, locked_until = 0 WHERE id = ?", id); err != nil {
		return err
	}
	return replaceRaw(ctx, tx, id, raw)
}

func (s *Store) ReceiveDeferred(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, seqs []int64) ([]messaging.Stored, error) {
	if err := checkName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := checkSub(sub); err != nil {
		return nil, err
	}
	if err := checkLocking(q); err != nil {
		return nil, err
	}
	if mode != messaging.PeekLock && mode != messaging.ReceiveAndDelete {
		return nil, invalid("receive mode %d", mode)
	}
	if err := checkSeqs(seqs); err != nil {
		return nil, err
	}
	var out []messaging.Stored
	err := s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		out = make([]messaging.Stored, 0, len(seqs))
		until := now.Add(q.LockDuration)
		for _, seq := range seqs {
			var id int64
			// A deferred message, or one whose ReceiveDeferred lock expired.
			m, err := scanStored(tx.queryRow(ctx, `SELECT m.id, `+storedColumns+` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = ? AND m.queue = ? AND m.sub = ? AND m.seq = ? AND (m.state = 3 OR (m.state = 4 AND m.locked_until <= ?))`,
				q.Namespace, q.Name, sub, seq, micros(now)), &id)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: sequence number %d is not a deferred message available in %s", messaging.ErrMessageNotFound, seq, q.Name)
			}
			if err != nil {
				return fmt.Errorf("sqlitequeue: receive deferred: %w", err)
			}
			if mode == messaging.ReceiveAndDelete {
				if err := deleteMessage(ctx, tx, id); err != nil {
					return fmt.Errorf("sqlitequeue: receive deferred: %w", err)
				}
				m.LockedUntil = time.Time{}
				out = append(out, m)
				continue
			}
			tok := newLockToken()
			if _, err := tx.exec(ctx, `UPDATE messages SET state = 4, lock_token = ?, locked_until = ?,
	delivery_count = delivery_count + 1 WHERE id = ?`, tok[:], micros(until), id); err != nil {
				return fmt.Errorf("sqlitequeue: receive deferred: %w", err)
			}
			m.LockToken, m.LockedUntil = tok, fromMicros(micros(until))
			m.DeliveryCount++
			out = append(out, m)
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}
