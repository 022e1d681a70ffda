package servicebus

import (
	"errors"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// senderCredit is how many messages a client's sender may have in flight on a link: the
// messages that arrived together are stored in one write.
const senderCredit = 500

// maxSendGroup bounds the deliveries stored in one write.
const maxSendGroup = 256

// serveSends stores what a client's sender sends, in order: the deliveries waiting are
// taken together and stored in one write; each is settled accepted once on disk (or
// rejected with Service Bus's condition), and its credit given back.
func (c *connection) serveSends(lk *link) {
	group := make([]*amqp.Delivery, 0, maxSendGroup)
	for d := range lk.requests {
		group = append(group[:0], d)
	more:
		for len(group) < maxSendGroup {
			select {
			case d, ok := <-lk.requests:
				if !ok {
					break more
				}
				group = append(group, d)
			default:
				break more
			}
		}
		c.storeSends(lk, group)
		_ = lk.amqp.IssueCredit(uint32(len(group)))
	}
}

// pendingSend is one delivery's messages, decoded, and what became of them.
type pendingSend struct {
	d      *amqp.Delivery
	msgs   []messaging.Message
	reject *amqp.Error // refused before the store
	stored error       // the store's failure
}

func (c *connection) storeSends(lk *link, group []*amqp.Delivery) {
	q := lk.queue.Load()
	mq := QueueOf(q)
	now := c.b.now()
	sends := make([]pendingSend, len(group))
	var all []messaging.Message
	for i, d := range group {
		sends[i].d = d
		msgs, err := decodeSend(d, now, q.DefaultMessageTimeToLive)
		for j := range msgs {
			if err == nil && lk.target != entityTopic { // a topic's copies are checked per subscription
				err = applySessionRule(q, &msgs[j])
			}
			if err == nil && len(msgs[j].SessionID) > messaging.MaxSessionIDLength {
				err = amqpError(amqp.ErrInvalidField, "The SessionId of a message is longer than %d characters.", messaging.MaxSessionIDLength)
			}
		}
		if err != nil {
			sends[i].reject = err
			continue
		}
		sends[i].msgs = msgs
		all = append(all, msgs...)
	}
	switch {
	case len(all) == 0:
	case lk.target == entityTopic:
		c.publishSends(q, sends)
	default:
		_, err := c.b.cfg.Store.Send(c.ctx, mq, all)
		for i := range sends {
			sends[i].stored = err
		}
	}
	var failed error
	for _, s := range sends {
		state := amqp.DeliveryState(&amqp.Accepted{})
		switch {
		case s.reject != nil:
			state = &amqp.Rejected{Error: s.reject}
		case s.stored != nil:
			state = &amqp.Rejected{Error: conditionOf(s.stored)}
			failed = s.stored
		default:
			c.b.cfg.Metrics.sent(mq, len(s.msgs))
		}
		if !s.d.Settled {
			_ = lk.amqp.Settle(s.d.ID(), true, state)
		}
	}
	if failed != nil {
		c.log.Warn("storing sent messages failed", "entity", lk.entity, "messages", len(all), "err", failed)
	}
}

// decodeSend reads one delivery: a message, or a batch of them (the batch message format).
func decodeSend(d *amqp.Delivery, now time.Time, ttl time.Duration) ([]messaging.Message, *amqp.Error) {
	if d.Format() == amqp.BatchMessageFormat {
		_, batch, err := amqp.UnmarshalBatch(d.Payload)
		if err != nil {
			return nil, amqpError(amqp.ErrDecode, "The batch does not decode: %v", err)
		}
		out := make([]messaging.Message, 0, len(batch))
		for _, m := range batch {
			raw, err := m.Marshal()
			if err != nil {
				return nil, amqpError(amqp.ErrDecode, "A message of the batch does not encode: %v", err)
			}
			out = append(out, incoming(m, raw, now, ttl))
		}
		if len(out) == 0 {
			return nil, amqpError(amqp.ErrInvalidField, "The batch holds no message.")
		}
		return out, nil
	}
	m, err := amqp.UnmarshalMessage(d.Payload)
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, amqpError(amqp.ErrDecode, "The message does not decode: %v", err)
	}
	return []messaging.Message{incoming(m, d.Payload, now, ttl)}, nil
}
