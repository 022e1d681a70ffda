package pgqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func (s *Store) Peek(ctx context.Context, q messaging.Queue, sub messaging.SubQueue, from int64, max int) ([]messaging.Stored, error) {
	if err := messaging.CheckSub(sub); err != nil {
		return nil, err
	}
	return s.peek(ctx, "peek", q, max, `sub = $3 AND seq >= $4 ORDER BY seq LIMIT $5`, int(sub), from)
}

// peek reads up to max of q's messages that match where ($1 and $2 are the queue's
// names, then args, then max; where ends with the order and the limit), changing
// nothing; a lock that expired shows as none.
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
	now := micros(s.now())
	args = append(append([]any{q.Namespace, q.Name}, args...), max)
	rows, err := s.pool.Query(ctx, `SELECT `+storedColumns+` FROM queue_messages
WHERE namespace = $1 AND queue = $2 AND `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %s: %w", what, err)
	}
	defer rows.Close()
	var out []messaging.Stored
	for rows.Next() {
		m, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("pgqueue: %s: %w", what, err)
		}
		if micros(m.LockedUntil) <= now {
			m.LockedUntil = time.Time{}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgqueue: %s: %w", what, err)
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
	rows, err := s.pool.Query(ctx, `SELECT sub, state = 2, COUNT(*) FROM queue_messages
WHERE namespace = $1 AND queue = $2 GROUP BY sub, state = 2`, q.Namespace, q.Name)
	if err != nil {
		return c, fmt.Errorf("pgqueue: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sub       int16
			scheduled bool
			n         int64
		)
		if err := rows.Scan(&sub, &scheduled, &n); err != nil {
			return c, fmt.Errorf("pgqueue: counts: %w", err)
		}
		switch {
		case scheduled:
			c.Scheduled = n
		case messaging.SubQueue(sub) == messaging.Active:
			c.Active = n
		case messaging.SubQueue(sub) == messaging.DeadLetter:
			c.DeadLetter = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("pgqueue: counts: %w", err)
	}
	return c, nil
}
