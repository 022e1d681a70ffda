package sqlitequeue

import (
	"context"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Publish implements messaging.Store: one write transaction records the topic's message
// ids, takes the publications' numbers from the topic's counter (its row in queues), and
// inserts every copy under its publication's number.
func (s *Store) Publish(ctx context.Context, topic messaging.Queue, pubs []messaging.Publication) ([]int64, error) {
	if err := messaging.CheckPublish(topic, pubs); err != nil {
		return nil, err
	}
	var (
		seqs    []int64
		touched map[messaging.ArrivalKey]bool
	)
	err := s.w.do(ctx, func(ctx context.Context, tx wtx, now time.Time) error {
		ids := make([]messaging.Message, len(pubs))
		for i, p := range pubs {
			ids[i].MessageID = p.MessageID
		}
		fresh, err := dropDuplicates(ctx, tx, topic, ids, micros(now))
		if err != nil {
			return fmt.Errorf("sqlitequeue: publish: %w", err)
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
		if err := tx.queryRow(ctx, `INSERT INTO queues (namespace, queue, last_seq) VALUES (?, ?, ?)
ON CONFLICT (namespace, queue) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq`,
			topic.Namespace, topic.Name, n).Scan(&last); err != nil {
			return fmt.Errorf("sqlitequeue: publish: %w", err)
		}
		next := last - n + 1
		for i, f := range fresh {
			if f {
				k, _ := pubs[i].Numbers()
				seqs[i] = next
				next += k
			}
		}
		return insertCopies(ctx, tx, pubs, seqs, micros(now), touched)
	}, func() {
		for k := range touched {
			s.arrivals.Signal(k)
		}
	})
	if err != nil {
		return nil, err
	}
	return seqs, nil
}

// insertCopies inserts the copies of the publications numbered from seqs (0: a
// duplicate, skipped), per subscription queue, in runs of consecutive numbers so that insertMessages
// numbers them; it notes the sub-queues it filled in touched.
func insertCopies(ctx context.Context, tx wtx, pubs []messaging.Publication, seqs []int64, now int64, touched map[messaging.ArrivalKey]bool) error {
	type run struct {
		q       messaging.Queue
		first   int64
		msgs    []messaging.Message
		letters []letter
	}
	runs := map[string]*run{}
	flush := func(r *run) error {
		for lo := 0; lo < len(r.msgs); {
			n := sendChunk
			for n > len(r.msgs)-lo {
				n /= 2
			}
			if err := insertMessages(ctx, tx, r.q, r.msgs[lo:lo+n], r.first+int64(lo), now, r.letters[lo:lo+n]); err != nil {
				return fmt.Errorf("sqlitequeue: publish: %w", err)
			}
			lo += n
		}
		return nil
	}
	for i, p := range pubs {
		if seqs[i] == 0 {
			continue
		}
		_, offsets := p.Numbers()
		for j, c := range p.Copies {
			seq := seqs[i] + offsets[j]
			r := runs[c.Queue.Name]
			if r != nil && r.first+int64(len(r.msgs)) != seq {
				if err := flush(r); err != nil {
					return err
				}
				r = nil
			}
			if r == nil {
				r = &run{q: c.Queue, first: seq}
				runs[c.Queue.Name] = r
			}
			r.msgs = append(r.msgs, c.Message)
			r.letters = append(r.letters, letter{reason: c.DeadLetterReason, description: c.DeadLetterDescription})
			touched[messaging.ArrivalKey{Namespace: c.Queue.Namespace, Queue: c.Queue.Name, Sub: c.Sub()}] = true
		}
	}
	for _, r := range runs {
		if err := flush(r); err != nil {
			return err
		}
	}
	return nil
}
