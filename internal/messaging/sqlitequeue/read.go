package sqlitequeue

import (
	"context"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// storedColumns are what scanStored reads, of messages m joined with bodies b.
const storedColumns = "m.seq, m.sub, m.state, m.locked_until, m.delivery_count, m.enqueued_at, m.expires_at, m.message_id, m.dl_reason, m.dl_description, m.session_id, b.raw"

type rowScanner interface {
	Scan(dest ...any) error
}

// scanStored reads storedColumns after the columns of prefix. A lock is shown as its
// expiry only; the token stays with the receiver that took it.
func scanStored(r rowScanner, prefix ...any) (messaging.Stored, error) {
	var (
		m                              messaging.Stored
		state                          int
		lockedUntil, enqueued, expires int64
	)
	dest := append(prefix, &m.SequenceNumber, &m.SubQueue, &state, &lockedUntil, &m.DeliveryCount, &enqueued, &expires,
		&m.MessageID, &m.DeadLetterReason, &m.DeadLetterDescription, &m.SessionID, &m.Raw)
	if err := r.Scan(dest...); err != nil {
		return m, err
	}
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

func (s *Store) Peek(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, from int64, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	return s.peek(ctx, "peek", q, max, `m.sub = ? AND m.seq >= ?`, sub, from)
}

// peek reads up to max of q's messages that match where (and its args), in sequence
// order, changing nothing; a lock that expired shows as none.
func (s *Store) peek(ctx context.Context, what string, q messaging.Queue, max int, where string, args ...any) ([]messaging.Stored, error) {
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, messaging.Invalid("peek of %d messages", max)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := micros(s.w.now())
	args = append(append([]any{q.Namespace, q.Name}, args...), max)
	rows, err := s.read.QueryContext(ctx, `SELECT `+storedColumns+` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = ? AND m.queue = ? AND `+where+` ORDER BY m.seq LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: %s: %w", what, err)
	}
	defer rows.Close()
	var out []messaging.Stored
	for rows.Next() {
		m, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitequeue: %s: %w", what, err)
		}
		if micros(m.LockedUntil) <= now {
			m.LockedUntil = time.Time{}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %s: %w", what, err)
	}
	return out, nil
}

func (s *Store) Counts(ctx context.Context, q messaging.Queue) (messaging.Counts, error) {
	var c messaging.Counts
	if err := messaging.CheckName(q.Namespace, q.Name); err != nil {
		return c, err
	}
	if err := ctx.Err(); err != nil {
		return c, err
	}
	rows, err := s.read.QueryContext(ctx, "SELECT sub, state = 2, COUNT(*) FROM messages WHERE namespace = ? AND queue = ? GROUP BY sub, state = 2",
		q.Namespace, q.Name)
	if err != nil {
		return c, fmt.Errorf("sqlitequeue: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sub       messaging.SubQueue
			scheduled bool
			n         int64
		)
		if err := rows.Scan(&sub, &scheduled, &n); err != nil {
			return c, fmt.Errorf("sqlitequeue: counts: %w", err)
		}
		switch {
		case scheduled:
			c.Scheduled = n
		case sub == messaging.Active:
			c.Active = n
		case sub == messaging.DeadLetter:
			c.DeadLetter = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("sqlitequeue: counts: %w", err)
	}
	return c, nil
}
