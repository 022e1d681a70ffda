package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Every change is one statement, or one batch of statements that PostgreSQL runs as one
// implicit transaction (pgx sends a batch with a single Sync): it is committed, durably,
// before the call returns, and a failed one changes nothing. Receivers compete with
// FOR UPDATE SKIP LOCKED, so they neither wait for each other nor take one row twice:
// a row another transaction holds is passed over, and a row another committed meanwhile
// is checked again against the conditions.

// What the broker writes as the description of its own dead-lettering.
const (
	ttlDescription = "The message expired and was dead lettered."
	maxDeliveryFmt = "Message could not be consumed after %d delivery attempts."
)

// A message's state column (see schema).
const (
	stateAvailable      = 0
	stateLocked         = 1
	stateScheduled      = 2
	stateDeferred       = 3
	stateDeferredLocked = 4
)

// storedColumns are what scanStored reads.
const storedColumns = "seq, sub, state, locked_until, delivery_count, enqueued_at, expires_at, message_id, dl_reason, dl_description, session_id, raw"

// scanStored reads storedColumns after the columns of prefix. A lock is shown as its
// expiry only; the token stays with the receiver that took it.
func scanStored(r pgx.Row, prefix ...any) (messaging.Stored, error) {
	var (
		m                              messaging.Stored
		sub, state                     int16
		lockedUntil, enqueued, expires int64
		deliveries                     int32
	)
	dest := append(prefix, &m.SequenceNumber, &sub, &state, &lockedUntil, &deliveries, &enqueued, &expires,
		&m.MessageID, &m.DeadLetterReason, &m.DeadLetterDescription, &m.SessionID, &m.Raw)
	if err := r.Scan(dest...); err != nil {
		return m, err
	}
	m.SubQueue, m.DeliveryCount = messaging.SubQueue(sub), int(deliveries)
	switch state {
	case stateLocked:
		m.LockedUntil = fromMicros(lockedUntil)
	case stateScheduled:
		m.State = messaging.StateScheduled
	case stateDeferred:
		m.State = messaging.StateDeferred
	case stateDeferredLocked:
		m.State, m.LockedUntil = messaging.StateDeferred, fromMicros(lockedUntil)
	}
	m.EnqueuedAt, m.ExpiresAt = fromMicros(enqueued), fromMicros(expires)
	return m, nil
}

// attempts is how often a change is tried when PostgreSQL aborts it for a deadlock (a
// deletion meeting a renewal) or a serialization failure: it changed nothing, so it is
// run again.
const attempts = 3

func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// change runs fn, again if PostgreSQL aborted it for a conflict, after checking ctx: a
// call whose ctx is done changes nothing.
func (s *Store) change(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	var err error
	for range attempts {
		if err = ctx.Err(); err != nil {
			return err
		}
		if err = fn(ctx); !retryable(err) {
			break
		}
	}
	if err != nil && !errors.Is(err, messaging.ErrLockLost) && !errors.Is(err, messaging.ErrMessageNotFound) &&
		!errors.Is(err, messaging.ErrSessionLockLost) && !errors.Is(err, messaging.ErrSessionCannotBeLocked) &&
		!errors.Is(err, messaging.ErrNoSessionAvailable) {
		return fmt.Errorf("pgqueue: %s: %w", what, err)
	}
	return err
}

// runBatch sends b as one implicit transaction, reads each statement's result with the
// function at its index (nil: none wanted), and returns once it is committed.
func (s *Store) runBatch(ctx context.Context, b *pgx.Batch, read ...func(pgx.Rows) error) error {
	return sendBatch(ctx, s.pool, b, read...)
}

// batcher is the pool, or a transaction a batch is part of.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// sendBatch is runBatch on db: in a transaction, the batch's statements are part of it.
func sendBatch(ctx context.Context, db batcher, b *pgx.Batch, read ...func(pgx.Rows) error) error {
	br := db.SendBatch(ctx, b)
	for i := range b.Len() {
		if i < len(read) && read[i] != nil {
			rows, err := br.Query()
			if err == nil {
				err = read[i](rows)
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
			if err != nil {
				br.Close()
				return err
			}
			continue
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// notifySQL announces that $2/$3's sub-queue $5 gained, to the other nodes.
var notifySQL = "SELECT pg_notify($4, " + noticeSQL("$5::int") + ")"

func (s *Store) notifyArgs(q messaging.Queue, sub messaging.SubQueue) []any {
	return []any{s.id, q.Namespace, q.Name, s.channel, int(sub)}
}

// sendSQL inserts messages numbered from the queue's counter: $1 namespace, $2 queue, $3
// how many, $4 now, then one array per column ($9: session ids). A message scheduled after now is state 2,
// enqueued at its time.
const sendSQL = `WITH c AS (
	INSERT INTO queue_counters AS k (namespace, queue, last_seq) VALUES ($1, $2, $3)
	ON CONFLICT (namespace, queue) DO UPDATE SET last_seq = k.last_seq + excluded.last_seq
	RETURNING last_seq)
INSERT INTO queue_messages (namespace, queue, sub, seq, state, lock_token, locked_until, delivery_count,
	enqueued_at, expires_at, message_id, dl_reason, dl_description, session_id, raw)
SELECT $1, $2, 0, c.last_seq - $3 + t.ord, CASE WHEN t.sched > $4 THEN 2 ELSE 0 END, NULL, 0, 0,
	GREATEST(t.sched, $4), t.exp, t.mid, '', '', t.sid, t.raw
FROM c, unnest($5::bytea[], $6::text[], $7::bigint[], $8::bigint[], $9::text[]) WITH ORDINALITY AS t(raw, mid, exp, sched, sid, ord)
RETURNING seq`

// Send numbers the batch from the queue's counter, whose row lock orders concurrent
// senders on every node. With duplicate detection, it first records the message ids in
// the same transaction (see firstSeen), and stores only the messages first seen.
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
	var (
		seqs      []int64
		available bool
	)
	err := s.change(ctx, "send", func(ctx context.Context) error {
		now := micros(s.now())
		if q.DuplicateDetectionWindow <= 0 {
			var err error
			seqs, available, err = s.insert(ctx, s.pool, q, msgs, now)
			return err
		}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			fresh, err := firstSeen(ctx, tx, q, msgs, now)
			if err != nil {
				return err
			}
			kept := make([]messaging.Message, 0, len(msgs))
			for i, m := range msgs {
				if fresh[i] {
					kept = append(kept, m)
				}
			}
			seqs, available = make([]int64, len(msgs)), false
			if len(kept) == 0 {
				return nil
			}
			got, avail, err := s.insert(ctx, tx, q, kept, now)
			if err != nil {
				return err
			}
			available = avail
			for i := range msgs {
				if fresh[i] {
					seqs[i], got = got[0], got[1:]
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if available {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.Active})
	}
	return seqs, nil
}

// insert stores msgs in q's active queue and returns their sequence numbers in order, and
// whether any is available now (not scheduled), which it then announces to the other
// nodes.
func (s *Store) insert(ctx context.Context, db batcher, q messaging.Queue, msgs []messaging.Message, now int64) ([]int64, bool, error) {
	raws, ids := make([][]byte, len(msgs)), make([]string, len(msgs))
	expires, scheduled := make([]int64, len(msgs)), make([]int64, len(msgs))
	sessions := make([]string, len(msgs))
	available := false
	for i, m := range msgs {
		raws[i], ids[i], expires[i], scheduled[i] = m.Raw, m.MessageID, micros(m.ExpiresAt), micros(m.ScheduledAt)
		sessions[i] = m.SessionID
		available = available || scheduled[i] <= now
	}
	seqs := make([]int64, 0, len(msgs))
	b := &pgx.Batch{}
	b.Queue(sendSQL, q.Namespace, q.Name, int64(len(msgs)), now, raws, ids, expires, scheduled, sessions)
	if available {
		b.Queue(notifySQL, s.notifyArgs(q, messaging.Active)...)
	}
	err := sendBatch(ctx, db, b, func(rows pgx.Rows) error {
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// Numbered in the order of msgs (WITH ORDINALITY), returned in any.
	slices.Sort(seqs)
	return seqs, available, nil
}

// heldSQL selects the message whose lock (a Receive's or a ReceiveDeferred's) is held: $1
// namespace, $2 queue, $3 sub-queue, $4 the token, $5 now.
const heldSQL = "namespace = $1 AND queue = $2 AND sub = $3 AND lock_token = $4 AND state IN (1, 4) AND locked_until > $5"

func (s *Store) Complete(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	return s.change(ctx, "complete", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, "DELETE FROM queue_messages WHERE "+heldSQL,
			q.Namespace, q.Name, int(sub), token[:], micros(s.now()))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return messaging.ErrLockLost
		}
		return nil
	})
}

// settleSQL releases or dead-letters the held lock ($1–$5 as heldSQL). The message moves
// to the dead-letter queue, with reason $7 and description $8, if it is in the active
// queue and either $12 is true or it was locked by Receive and has had $6 deliveries or
// more; otherwise a deferred message is deferred again and any other is available again.
// Its encoding becomes $9 unless that is NULL. A sub-queue that gained an available
// message is announced to the other nodes ($10 the store's id, $11 channel). It returns
// the sub-queue and state the message is now in.
const settleSQL = `WITH u AS (
	UPDATE queue_messages SET
		dl_reason = CASE WHEN ` + deadLettersSQL + ` THEN $7 ELSE dl_reason END,
		dl_description = CASE WHEN ` + deadLettersSQL + ` THEN $8 ELSE dl_description END,
		sub = CASE WHEN ` + deadLettersSQL + ` THEN 1 ELSE sub END,
		state = CASE WHEN ` + deadLettersSQL + ` OR state = 1 THEN 0 ELSE 3 END,
		lock_token = NULL, locked_until = 0, raw = COALESCE($9::bytea, raw)
	WHERE ` + heldSQL + `
	RETURNING sub, state),
n AS (SELECT pg_notify($11, json_build_object('from', $10::text, 'ns', $1::text, 'q', $2::text, 'sub', u.sub)::text)
	FROM u WHERE u.state = 0)
SELECT u.sub, u.state, (SELECT count(*) FROM n) FROM u`

// deadLettersSQL is settleSQL's condition, on the row as it was.
const deadLettersSQL = `(sub = 0 AND ($12::boolean OR state = 1 AND delivery_count >= $6))`

// settle runs settleSQL; it returns ErrLockLost if the lock is not held.
func (s *Store) settle(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken,
	deadLetterAt int, always bool, reason, description string, raw []byte) error {
	var (
		moved, state int16
		notified     int64
	)
	err := s.pool.QueryRow(ctx, settleSQL, q.Namespace, q.Name, int(sub), token[:], micros(s.now()),
		deadLetterAt, reason, description, raw, s.id, s.channel, always).Scan(&moved, &state, &notified)
	if errors.Is(err, pgx.ErrNoRows) {
		return messaging.ErrLockLost
	}
	if err != nil {
		return err
	}
	if state == stateAvailable {
		s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: messaging.SubQueue(moved)})
	}
	return nil
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
	return s.change(ctx, "abandon", func(ctx context.Context) error {
		return s.settle(ctx, q, sub, token, q.MaxDeliveryCount, false,
			messaging.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(maxDeliveryFmt, q.MaxDeliveryCount), raw)
	})
}

// releaseSQL gives the held lock ($1–$5 as heldSQL) back without counting its delivery: a
// deferred message is deferred again, any other is available again, which it announces
// as settleSQL does ($6 the store's id, $7 channel). It returns the state now.
const releaseSQL = `WITH u AS (
	UPDATE queue_messages SET state = CASE WHEN state = 4 THEN 3 ELSE 0 END, lock_token = NULL, locked_until = 0,
		delivery_count = GREATEST(delivery_count - 1, 0)
	WHERE ` + heldSQL + `
	RETURNING sub, state),
n AS (SELECT pg_notify($7, json_build_object('from', $6::text, 'ns', $1::text, 'q', $2::text, 'sub', u.sub)::text)
	FROM u WHERE u.state = 0)
SELECT u.state, (SELECT count(*) FROM n) FROM u`

// Release implements messaging.Store.
func (s *Store) Release(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, token messaging.LockToken) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckSub(sub); err != nil {
		return err
	}
	return s.change(ctx, "release", func(ctx context.Context) error {
		var (
			state    int16
			notified int64
		)
		err := s.pool.QueryRow(ctx, releaseSQL, q.Namespace, q.Name, int(sub), token[:], micros(s.now()), s.id, s.channel).Scan(&state, &notified)
		if errors.Is(err, pgx.ErrNoRows) {
			return messaging.ErrLockLost
		}
		if err != nil {
			return err
		}
		if state == stateAvailable {
			s.arrivals.Signal(messaging.ArrivalKey{Namespace: q.Namespace, Queue: q.Name, Sub: sub})
		}
		return nil
	})
}

func (s *Store) DeadLetter(ctx context.Context, q messaging.Queue, token messaging.LockToken, reason, description string, raw []byte) error {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return err
	}
	if err := messaging.CheckRaw(raw, true); err != nil {
		return err
	}
	return s.change(ctx, "dead-letter", func(ctx context.Context) error {
		return s.settle(ctx, q, messaging.Active, token, 0, true, reason, description, raw)
	})
}

// renewSQL extends the held locks of tokens $4 ($1–$3, $5 as heldSQL) to $6, all of them
// or, unless all $7 are held, none.
const renewSQL = `WITH held AS MATERIALIZED (SELECT id FROM queue_messages
	WHERE namespace = $1 AND queue = $2 AND sub = $3 AND lock_token = ANY($4) AND state IN (1, 4) AND locked_until > $5
	ORDER BY id FOR UPDATE),
u AS (UPDATE queue_messages m SET locked_until = $6 FROM held
	WHERE m.id = held.id AND (SELECT count(*) FROM held) = $7 RETURNING 1)
SELECT count(*) FROM u`

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
	distinct := map[messaging.LockToken]bool{}
	raw := make([][]byte, 0, len(tokens))
	for _, t := range tokens {
		if !distinct[t] {
			distinct[t] = true
			raw = append(raw, t[:])
		}
	}
	var out []time.Time
	err := s.change(ctx, "renew lock", func(ctx context.Context) error {
		now := s.now()
		until := micros(now.Add(q.LockDuration))
		var renewed int64
		if err := s.pool.QueryRow(ctx, renewSQL, q.Namespace, q.Name, int(sub), raw, micros(now), until, int64(len(raw))).Scan(&renewed); err != nil {
			return err
		}
		if renewed != int64(len(raw)) {
			return messaging.ErrLockLost
		}
		out = make([]time.Time, len(tokens))
		for i := range out {
			out[i] = fromMicros(until)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteQueue(ctx context.Context, namespace, name string) error {
	if err := messaging.CheckName(namespace, name); err != nil {
		return err
	}
	// starts_with, not a range: a range's order would follow the database's collation.
	lo, _ := messaging.Below(name)
	return s.deleteWhere(ctx, "namespace = $1 AND (queue = $2 OR starts_with(queue, $3))", namespace, name, lo)
}

func (s *Store) DeleteNamespace(ctx context.Context, namespace string) error {
	if err := messaging.CheckName(namespace, "-"); err != nil {
		return err
	}
	return s.deleteWhere(ctx, "namespace = $1", namespace)
}

// deleteWhere removes the messages, sequence counters and message ids of the queues where
// selects (a fixed condition; args are its parameters), in one transaction.
func (s *Store) deleteWhere(ctx context.Context, where string, args ...any) error {
	return s.change(ctx, "delete", func(ctx context.Context) error {
		b := &pgx.Batch{}
		b.Queue("DELETE FROM queue_messages WHERE "+where, args...)
		b.Queue("DELETE FROM queue_counters WHERE "+where, args...)
		b.Queue("DELETE FROM queue_message_ids WHERE "+where, args...)
		b.Queue("DELETE FROM queue_sessions WHERE "+where, args...)
		return s.runBatch(ctx, b)
	})
}
