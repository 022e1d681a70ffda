package sqlitequeue

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// sendChunk bounds the rows of one INSERT, well under SQLite's limit on parameters.
const sendChunk = 256

// What the broker writes as the description of its own dead-lettering.
const (
	ttlDescription = "The message expired and was dead lettered."
	maxDeliveryFmt = "Message could not be consumed after %d delivery attempts."
)

func (s *Store) Send(ctx context.Context, q messaging.Queue, msgs []messaging.Message) ([]int64, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, messaging.Invalid("no messages")
	}
	for _, m := range msgs {
		if err := messaging.CheckMessage(m); err != nil {
			return nil, err
		}
	}
	var seqs []int64
	err := s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		fresh, err := dropDuplicates(ctx, tx, q, msgs, micros(now))
		if err != nil {
			return fmt.Errorf("sqlitequeue: send: %w", err)
		}
		kept := make([]messaging.Message, 0, len(msgs))
		for i, m := range msgs {
			if fresh[i] {
				kept = append(kept, m)
			}
		}
		seqs = make([]int64, len(msgs))
		if len(kept) == 0 {
			return nil
		}
		var last int64
		n := int64(len(kept))
		if err := tx.queryRow(ctx, `INSERT INTO queues (namespace, queue, last_seq) VALUES (?, ?, ?)
ON CONFLICT (namespace, queue) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq`,
			q.Namespace, q.Name, n).Scan(&last); err != nil {
			return fmt.Errorf("sqlitequeue: send: %w", err)
		}
		first := last - n + 1
		// Chunks of a power of two rows: few distinct statements, each prepared once.
		for lo := 0; lo < len(kept); {
			n := sendChunk
			for n > len(kept)-lo {
				n /= 2
			}
			if err := insertMessages(ctx, tx, q, kept[lo:lo+n], first+int64(lo), micros(now), nil); err != nil {
				return fmt.Errorf("sqlitequeue: send: %w", err)
			}
			lo += n
		}
		next := first
		for i := range msgs {
			if fresh[i] {
				seqs[i] = next
				next++
			}
		}
		return nil
	}, func() {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.Active})
	})
	if err != nil {
		return nil, err
	}
	return seqs, nil
}

// letter is why a message is stored in the dead-letter queue; no reason: it is not.
type letter struct{ reason, description string }

// insertMessages inserts msgs with sequence numbers from first on: their rows, then their
// bodies under the rows' ids.
// letters, if not nil, holds for each message a dead-letter reason and description: one
// with a reason goes to the dead-letter queue at once (a topic's copy the broker could not
// give its subscription).
func insertMessages(ctx context.Context, tx wtx, q messaging.Queue, msgs []messaging.Message, first, now int64, letters []letter) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO messages (namespace, queue, sub, seq, state, lock_token, locked_until, delivery_count,
	enqueued_at, expires_at, message_id, dl_reason, dl_description, session_id) VALUES `)
	args := make([]any, 0, 11*len(msgs))
	for i, m := range msgs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, NULL, 0, 0, ?, ?, ?, ?, ?, ?)")
		var l letter
		if letters != nil {
			l = letters[i]
		}
		sub, state, enqueued := messaging.Active, stateAvailable, now
		if l.reason != "" {
			sub = messaging.DeadLetter
		} else if at := micros(m.ScheduledAt); at > now {
			state, enqueued = stateScheduled, at
		}
		args = append(args, q.Namespace, q.Name, sub, first+int64(i), state, enqueued, micros(m.ExpiresAt), m.MessageID, l.reason, l.description, m.SessionID)
	}
	b.WriteString(" RETURNING id, seq")
	rows, err := tx.query(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	ids := make([]int64, len(msgs))
	for rows.Next() {
		var id, seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			rows.Close()
			return err
		}
		ids[seq-first] = id
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}

	b.Reset()
	b.WriteString("INSERT INTO bodies (id, raw) VALUES ")
	args = args[:0]
	for i, m := range msgs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, ids[i], m.Raw)
	}
	_, err = tx.exec(ctx, b.String(), args...)
	return err
}

func (s *Store) Receive(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	return s.receive(ctx, "receive", q, sub, nil, mode, max)
}

// receive is Receive, and with session ReceiveSession: the messages of that session only,
// while its lock is held.
func (s *Store) receive(ctx context.Context, what string, q messaging.Queue, sub messaging.SubQueue, session *messaging.SessionLock,
	mode messaging.ReceiveMode, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := messaging.CheckLocking(q); err != nil {
		return nil, err
	}
	if mode != messaging.PeekLock && mode != messaging.ReceiveAndDelete {
		return nil, messaging.Invalid("receive mode %d", mode)
	}
	if max <= 0 {
		return nil, messaging.Invalid("receive of %d messages", max)
	}
	var (
		out          []messaging.Stored
		deadLettered bool
		sessionID    string
	)
	if session != nil {
		sessionID = session.SessionID
	}
	// In PeekLock a receive only takes locks, and its rules' changes follow from the clock
	// and the stored state, so a crash that undoes them lets the next receive make them
	// again: it need not wait for a sync. What ReceiveAndDelete removes must stay removed.
	do := s.w.doLocks
	if mode == messaging.ReceiveAndDelete {
		do = s.w.do
	}
	err := do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		out, deadLettered = nil, false
		if session != nil {
			if err := heldSession(ctx, txRows{tx}, q, *session, now); err != nil {
				return err
			}
		}
		n, err := applyRules(ctx, tx, q, sub, micros(now))
		if err != nil {
			return fmt.Errorf("sqlitequeue: %s: %w", what, err)
		}
		deadLettered = n > 0
		if out, err = take(ctx, tx, q, sub, sessionID, mode, max, now); err != nil {
			return fmt.Errorf("sqlitequeue: %s: %w", what, err)
		}
		return nil
	}, func() {
		if deadLettered {
			s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.DeadLetter})
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyRules releases q's expired locks, dead-lettering what reached its delivery limit,
// and drops or dead-letters expired messages; it returns how many it dead-lettered.
func applyRules(ctx context.Context, tx wtx, q messaging.Queue, sub messaging.SubQueue, now int64) (int64, error) {
	var deadLettered int64
	if sub == messaging.Active {
		if _, err := tx.exec(ctx, `UPDATE messages SET state = 0 WHERE namespace = ? AND queue = ? AND state = 2 AND enqueued_at <= ?`,
			q.Namespace, q.Name, now); err != nil {
			return 0, err
		}
		res, err := tx.exec(ctx, `UPDATE messages SET sub = 1, state = 0, lock_token = NULL, locked_until = 0,
	dl_reason = ?, dl_description = ?
WHERE namespace = ? AND queue = ? AND sub = 0 AND state = 1 AND locked_until <= ? AND delivery_count >= ?`,
			messaging.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(maxDeliveryFmt, q.MaxDeliveryCount),
			q.Namespace, q.Name, now, q.MaxDeliveryCount)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		deadLettered += n
	}
	if _, err := tx.exec(ctx, `UPDATE messages SET state = 0, lock_token = NULL, locked_until = 0
WHERE namespace = ? AND queue = ? AND sub = ? AND state = 1 AND locked_until <= ?`,
		q.Namespace, q.Name, sub, now); err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, `UPDATE messages SET state = 3, lock_token = NULL, locked_until = 0
WHERE namespace = ? AND queue = ? AND sub = ? AND state = 4 AND locked_until <= ?`,
		q.Namespace, q.Name, sub, now); err != nil {
		return 0, err
	}
	if sub != messaging.Active {
		return deadLettered, nil // the dead-letter queue's messages do not expire
	}
	const expired = "namespace = ? AND queue = ? AND sub = 0 AND state = 0 AND expires_at > 0 AND expires_at <= ?"
	if q.DeadLetterOnExpiration {
		res, err := tx.exec(ctx, "UPDATE messages SET sub = 1, dl_reason = ?, dl_description = ? WHERE "+expired,
			messaging.ReasonTTLExpired, ttlDescription, q.Namespace, q.Name, now)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		return deadLettered + n, nil
	}
	if _, err := tx.exec(ctx, "DELETE FROM bodies WHERE id IN (SELECT id FROM messages WHERE "+expired+")",
		q.Namespace, q.Name, now); err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, "DELETE FROM messages WHERE "+expired, q.Namespace, q.Name, now); err != nil {
		return 0, err
	}
	return deadLettered, nil
}

// take locks or removes up to max available messages of q's sub-queue, lowest sequence
// numbers first: of session only, if not empty.
func take(ctx context.Context, tx wtx, q messaging.Queue, sub messaging.SubQueue, session string, mode messaging.ReceiveMode, max int, now time.Time) ([]messaging.Stored, error) {
	query, args := `SELECT m.id, `+storedColumns+` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = ? AND m.queue = ? AND m.sub = ? AND m.state = 0 ORDER BY m.seq LIMIT ?`, []any{q.Namespace, q.Name, sub, max}
	if session != "" {
		query, args = `SELECT m.id, `+storedColumns+` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = ? AND m.queue = ? AND m.session_id = ? AND m.sub = ? AND m.state = 0 ORDER BY m.seq LIMIT ?`,
			[]any{q.Namespace, q.Name, session, sub, max}
	}
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var (
		out []messaging.Stored
		ids []int64
	)
	for rows.Next() {
		var id int64
		m, err := scanStored(rows, &id)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if mode == messaging.ReceiveAndDelete {
		for _, id := range ids {
			if err := deleteMessage(ctx, tx, id); err != nil {
				return nil, err
			}
		}
		for i := range out {
			out[i].LockedUntil = time.Time{}
		}
		return out, nil
	}
	until := now.Add(q.LockDuration)
	for i, id := range ids {
		tok := newLockToken()
		if _, err := tx.exec(ctx, `UPDATE messages SET state = 1, lock_token = ?, locked_until = ?,
	delivery_count = delivery_count + 1 WHERE id = ?`, tok[:], micros(until), id); err != nil {
			return nil, err
		}
		out[i].LockToken = tok
		out[i].LockedUntil = fromMicros(micros(until))
		out[i].DeliveryCount++
	}
	return out, nil
}

func deleteMessage(ctx context.Context, tx wtx, id int64) error {
	if _, err := tx.exec(ctx, "DELETE FROM messages WHERE id = ?", id); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "DELETE FROM bodies WHERE id = ?", id)
	return err
}

// newLockToken is a random (version 4) UUID, in RFC 4122 byte order.
func newLockToken() messaging.LockToken {
	var t messaging.LockToken
	_, _ = rand.Read(t[:]) // crypto/rand does not fail; the runtime aborts if it cannot read
	t[6] = t[6]&0x0f | 0x40
	t[8] = t[8]&0x3f | 0x80
	return t
}

// A message's state column.
const (
	stateAvailable      = 0
	stateLocked         = 1
	stateScheduled      = 2
	stateDeferred       = 3
	stateDeferredLocked = 4
)

// lock is a held lock: its message's row, deliveries, and whether it is deferred.
type lock struct {
	id         int64
	deliveries int
	deferred   bool
}

// heldLock finds the message token locks in q's sub-queue, if the lock is held.
func heldLock(ctx context.Context, tx wtx, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken, now time.Time) (lock, error) {
	var (
		l     lock
		state int
	)
	err := tx.queryRow(ctx, `SELECT id, delivery_count, state FROM messages
WHERE lock_token = ? AND namespace = ? AND queue = ? AND sub = ? AND state IN (1, 4) AND locked_until > ?`,
		token[:], q.Namespace, q.Name, sub, micros(now)).Scan(&l.id, &l.deliveries, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return l, messaging.ErrLockLost
	}
	if err != nil {
		return l, fmt.Errorf("sqlitequeue: find lock: %w", err)
	}
	l.deferred = state == stateDeferredLocked
	return l, nil
}

func (s *Store) Complete(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		l, err := heldLock(ctx, tx, q, sub, token, now)
		if err != nil {
			return err
		}
		if err := deleteMessage(ctx, tx, l.id); err != nil {
			return fmt.Errorf("sqlitequeue: complete: %w", err)
		}
		return nil
	}, nil)
}

func (s *Store) Abandon(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken, raw []byte) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	if err := messaging.CheckLocking(q); err != nil {
		return err
	}
	if err := messaging.CheckRaw(raw, true); err != nil {
		return err
	}
	var to messaging.SubQueue
	err := s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		l, err := heldLock(ctx, tx, q, sub, token, now)
		if err != nil {
			return err
		}
		to = sub
		switch {
		case l.deferred:
			err = setAside(ctx, tx, l.id, raw)
		case sub == messaging.Active && l.deliveries >= q.MaxDeliveryCount:
			to = messaging.DeadLetter
			err = moveToDeadLetter(ctx, tx, l.id, messaging.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(maxDeliveryFmt, q.MaxDeliveryCount), raw)
		default:
			err = release(ctx, tx, l.id, raw)
		}
		if err != nil {
			return fmt.Errorf("sqlitequeue: abandon: %w", err)
		}
		return nil
	}, func() { s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: to}) })
	return err
}

func (s *Store) Release(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	return s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		l, err := heldLock(ctx, tx, q, sub, token, now)
		if err != nil {
			return err
		}
		state := 0
		if l.deferred {
			state = stateDeferred // a deferred message released stays deferred
		}
		if _, err := tx.exec(ctx, `UPDATE messages SET state = ?, lock_token = NULL, locked_until = 0,
	delivery_count = max(delivery_count - 1, 0) WHERE id = ?`, state, l.id); err != nil {
			return fmt.Errorf("sqlitequeue: release: %w", err)
		}
		return nil
	}, func() { s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: sub}) })
}

func (s *Store) DeadLetter(ctx context.Context, q messaging.Queue, token messaging.LockToken, reason, description string, raw []byte) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckRaw(raw, true); err != nil {
		return err
	}
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		l, err := heldLock(ctx, tx, q, messaging.Active, token, now)
		if err != nil {
			return err
		}
		if err := moveToDeadLetter(ctx, tx, l.id, reason, description, raw); err != nil {
			return fmt.Errorf("sqlitequeue: dead-letter: %w", err)
		}
		return nil
	}, func() {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.DeadLetter})
	})
}

// release makes a locked message available again, with raw as its encoding if not nil.
func release(ctx context.Context, tx wtx, id int64, raw []byte) error {
	if _, err := tx.exec(ctx, "UPDATE messages SET state = 0, lock_token = NULL, locked_until = 0 WHERE id = ?", id); err != nil {
		return err
	}
	return replaceRaw(ctx, tx, id, raw)
}

func moveToDeadLetter(ctx context.Context, tx wtx, id int64, reason, description string, raw []byte) error {
	if _, err := tx.exec(ctx, `UPDATE messages SET sub = 1, state = 0, lock_token = NULL, locked_until = 0,
	dl_reason = ?, dl_description = ? WHERE id = ?`, reason, description, id); err != nil {
		return err
	}
	return replaceRaw(ctx, tx, id, raw)
}

func replaceRaw(ctx context.Context, tx wtx, id int64, raw []byte) error {
	if raw == nil {
		return nil
	}
	_, err := tx.exec(ctx, "UPDATE bodies SET raw = ? WHERE id = ?", raw, id)
	return err
}

func (s *Store) RenewLock(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, tokens []messaging.LockToken) ([]time.Time, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	if err := messaging.CheckLocking(q); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, messaging.Invalid("no lock tokens")
	}
	var out []time.Time
	err := s.w.doLocks(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		ids := make([]int64, len(tokens))
		for i, tok := range tokens {
			l, err := heldLock(ctx, tx, q, sub, tok, now)
			if err != nil {
				return err
			}
			ids[i] = l.id
		}
		until := micros(now.Add(q.LockDuration))
		out = make([]time.Time, len(tokens))
		for i, id := range ids {
			if _, err := tx.exec(ctx, "UPDATE messages SET locked_until = ? WHERE id = ?", until, id); err != nil {
				return fmt.Errorf("sqlitequeue: renew lock: %w", err)
			}
			out[i] = fromMicros(until)
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteQueue(ctx context.Context, namespace, name string) error {
	if err := messaging.CheckName(namespace, name); err != nil {
		return err
	}
	lo, hi := messaging.Below(name)
	return s.deleteWhere(ctx, "namespace = ? AND (queue = ? OR queue >= ? AND queue < ?)", namespace, name, lo, hi)
}

// DeleteNamespace implements messaging.Store.
func (s *Store) DeleteNamespace(ctx context.Context, namespace string) error {
	if err := messaging.CheckName(namespace, "-"); err != nil {
		return err
	}
	return s.deleteWhere(ctx, "namespace = ?", namespace)
}

// deleteWhere removes the messages, bodies and sequence counters of the queues where
// selects (a fixed condition; args are its parameters).
func (s *Store) deleteWhere(ctx context.Context, where string, args ...any) error {
	return s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		for _, stmt := range []string{
			"DELETE FROM bodies WHERE id IN (SELECT id FROM messages WHERE " + where + ")",
			"DELETE FROM messages WHERE " + where,
			"DELETE FROM queues WHERE " + where,
			"DELETE FROM message_ids WHERE " + where,
			"DELETE FROM sessions WHERE " + where,
		} {
			if _, err := tx.exec(ctx, stmt, args...); err != nil {
				return fmt.Errorf("sqlitequeue: delete: %w", err)
			}
		}
		return nil
	}, nil)
}
