package pgqueue

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Statements of Publish.
const (
	// $1 namespace, $2 topic, $3 how many numbers: the last one taken.
	takeSeqsSQL = `INSERT INTO queue_counters AS k (namespace, queue, last_seq) VALUES ($1, $2, $3)
ON CONFLICT (namespace, queue) DO UPDATE SET last_seq = k.last_seq + excluded.last_seq
RETURNING last_seq`
	// $1 namespace, $2 now, then one array per column: each copy's queue and number ($9:
	// session ids; $10, $11: dead-letter reasons and descriptions). A copy scheduled after
	// now is state 2, enqueued at its time; one with a reason is in sub-queue 1 at once.
	insertCopiesSQL = `INSERT INTO queue_messages (namespace, queue, sub, seq, state, lock_token, locked_until, delivery_count,
	enqueued_at, expires_at, message_id, dl_reason, dl_description, session_id, raw)
SELECT $1, t.queue, CASE WHEN t.dlr <> '' THEN 1 ELSE 0 END, t.seq, CASE WHEN t.dlr = '' AND t.sched > $2 THEN 2 ELSE 0 END, NULL, 0, 0,
	CASE WHEN t.dlr <> '' THEN $2 ELSE GREATEST(t.sched, $2) END, t.exp, t.mid, t.dlr, t.dld, t.sid, t.raw
FROM unnest($3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[])
	AS t(queue, seq, raw, mid, exp, sched, sid, dlr, dld)`
)

// Publish implements messaging.Store in one transaction: the topic's message ids first
// (see firstSeen), then its counter, whose row lock orders the topic's senders on every
// node, then every copy in one statement, and a notice per subscription queue that
// gained an available message.
func (s *Store) Publish(ctx context.Context, topic messaging.Queue, pubs []messaging.Publication) ([]int64, error) {
	if err := messaging.CheckPublish(topic, pubs); err != nil {
		return nil, err
	}
	var (
		seqs    []int64
		touched map[messaging.ArrivalKey]bool
	)
	err := s.change(ctx, "publish", func(ctx context.Context) error {
		now := micros(s.now())
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			fresh := make([]bool, len(pubs))
			if topic.DuplicateDetectionWindow > 0 {
				ids := make([]messaging.Message, len(pubs))
				for i, p := range pubs {
					ids[i].MessageID = p.MessageID
				}
				var err error
				if fresh, err = firstSeen(ctx, tx, topic, ids, now); err != nil {
					return err
				}
			} else {
				for i := range fresh {
					fresh[i] = true
				}
			}
			var n int64
			for i, f := range fresh {
				if f {
					k, _ := pubs[i].Numbers()
					n += k
				}
			}
			seqs, touched = make([]int64, len(pubs)), map[messaging.ArrivalKey]bool{}
			if n == 0 {
				return nil
			}
			var last int64
			if err := tx.QueryRow(ctx, takeSeqsSQL, topic.Namespace, topic.Name, n).Scan(&last); err != nil {
				return err
			}
			next := last - n + 1
			var (
				queues, mids, sessions   []string
				reasons, descriptions    []string
				nums, expires, scheduled []int64
				raws                     [][]byte
			)
			for i, p := range pubs {
				if !fresh[i] {
					continue
				}
				k, offsets := p.Numbers()
				seqs[i] = next
				next += k
				for j, c := range p.Copies {
					m := c.Message
					queues, nums, raws, mids = append(queues, c.Queue.Name), append(nums, seqs[i]+offsets[j]), append(raws, m.Raw), append(mids, m.MessageID)
					expires, scheduled = append(expires, micros(m.ExpiresAt)), append(scheduled, micros(m.ScheduledAt))
					sessions = append(sessions, m.SessionID)
					reasons, descriptions = append(reasons, c.DeadLetterReason), append(descriptions, c.DeadLetterDescription)
					if c.Sub() == messaging.DeadLetter || micros(m.ScheduledAt) <= now {
						touched[messaging.ArrivalKey{Namespace: topic.Namespace, Queue: c.Queue.Name, Sub: c.Sub()}] = true
					}
				}
			}
			if len(queues) == 0 {
				return nil
			}
			b := &pgx.Batch{}
			b.Queue(insertCopiesSQL, topic.Namespace, now, queues, nums, raws, mids, expires, scheduled, sessions, reasons, descriptions)
			for k := range touched {
				b.Queue(notifySQL, s.notifyArgs(messaging.Queue{Namespace: k.Namespace, Name: k.Queue}, k.Sub)...)
			}
			return sendBatch(ctx, tx, b)
		})
	})
	if err != nil {
		return nil, err
	}
	for k := range touched {
		s.arrivals.Signal(k)
	}
	return seqs, nil
}
