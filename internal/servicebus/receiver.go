package servicebus

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// maxReceiveGroup bounds the messages taken from the store at once for one receiver (at
// most 128 MiB of bodies). It covers the usual credit of a receive in one group: a credit
// served in two groups reached azservicebus after its ReceiveMessages had returned more
// often, and it released what came late: a lock and a release each, for nothing.
const maxReceiveGroup = 128

// serveDeliveries sends a client's receiver the queue's messages while it has credit:
// messages are taken from the store only for credit given, so none sits locked for a
// receiver that stopped asking. It waits for arrivals, or polls for expired locks.
func (c *connection) serveDeliveries(lk *link) {
	l := lk.amqp
	for {
		credit, credited := l.Credit()
		if credit == 0 {
			select {
			case <-credited:
				continue
			case <-l.Detached():
				return
			case <-c.ctx.Done():
				return
			}
		}
		q := QueueOf(lk.queue.Load())
		arrivals := c.b.cfg.Store.Arrivals(q, lk.addr.sub)
		msgs, err := c.take(lk, q, int(min(credit, maxReceiveGroup)))
		if err != nil && c.ctx.Err() == nil {
			c.log.Warn("receiving from the store failed", "entity", lk.entity, "err", err)
		}
		if len(msgs) == 0 {
			timer := time.NewTimer(c.b.cfg.RedeliveryPoll)
			select {
			case <-arrivals:
			case <-timer.C:
			case <-l.Detached():
				timer.Stop()
				return
			case <-c.ctx.Done():
				timer.Stop()
				return
			}
			timer.Stop()
			continue
		}
		for i, s := range msgs {
			if !c.deliver(lk, q, s) {
				c.release(lk, q, msgs[i+1:])
				return
			}
		}
	}
}

// deliver sends one message; false when the link is gone (the message is then released
// back to the queue if it was locked).
func (c *connection) deliver(lk *link, q messaging.Queue, s messaging.Stored) bool {
	payload, err := outgoing(s, lk.entity)
	if err != nil {
		// Stored bytes that no longer decode cannot reach any receiver: set them aside.
		c.log.Error("a stored message does not decode; dead-lettering it", "entity", lk.entity, "sequence", s.SequenceNumber, "err", err)
		if lk.mode == messaging.PeekLock && s.SubQueue == messaging.Active {
			_ = c.b.cfg.Store.DeadLetter(c.ctx, q, s.LockToken, "MessageCorrupted", "The stored message does not decode.", nil)
		}
		return true
	}
	var tag []byte
	settled := lk.mode == messaging.ReceiveAndDelete
	if settled {
		tag = binary.BigEndian.AppendUint64(nil, uint64(s.SequenceNumber))
	} else {
		t := dotNetOrder(s.LockToken)
		tag = t[:]
	}
	id, err := lk.amqp.Send(c.ctx, tag, payload, 0, settled)
	if err != nil {
		c.release(lk, q, []messaging.Stored{s})
		return false
	}
	c.b.cfg.Metrics.received(q)
	if settled {
		return true
	}
	lk.mu.Lock()
	if state, early := lk.early[id]; early {
		// The client settled before Send returned.
		delete(lk.early, id)
		lk.mu.Unlock()
		c.work.Go(func() { c.settle(lk, id, s.LockToken, state) })
		return true
	}
	lk.pending[id] = s.LockToken
	lk.mu.Unlock()
	return true
}

// release gives back locked messages a receiver will not get.
func (c *connection) release(lk *link, q messaging.Queue, msgs []messaging.Stored) {
	if lk.mode != messaging.PeekLock {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
	defer cancel()
	for _, s := range msgs {
		_ = c.b.cfg.Store.Release(ctx, q, lk.addr.sub, s.LockToken)
	}
}

// settle applies a client's outcome for a peek-locked message, and answers with the same
// outcome once it is on disk, or with rejected and Service Bus's condition.
func (c *connection) settle(lk *link, id uint32, tok messaging.LockToken, state amqp.DeliveryState) {
	q := QueueOf(lk.queue.Load())
	var err error
	outcome := "completed"
	switch s := state.(type) {
	case *amqp.Accepted:
		err = c.b.cfg.Store.Complete(c.ctx, q, lk.addr.sub, tok)
	case *amqp.Released:
		// Not a failed delivery: azservicebus releases what arrives after ReceiveMessages
		// returned, and Service Bus does not count those.
		outcome = "released"
		err = c.b.cfg.Store.Release(c.ctx, q, lk.addr.sub, tok)
	case *amqp.Modified:
		outcome = "abandoned"
		if s.UndeliverableHere { // the SDKs' DeferMessage
			outcome = "deferred"
			err = c.b.cfg.Store.Defer(c.ctx, q, lk.addr.sub, tok, nil)
		} else {
			err = c.b.cfg.Store.Abandon(c.ctx, q, lk.addr.sub, tok, nil)
		}
	case *amqp.Rejected:
		outcome = "suspended"
		if lk.addr.sub == messaging.DeadLetter {
			err = amqpError(amqp.ErrNotAllowed, "A message of a dead-letter queue cannot be dead-lettered again.")
			break
		}
		reason, description := deadLetterReason(s.Error)
		err = c.b.cfg.Store.DeadLetter(c.ctx, q, tok, reason, description, nil)
	default:
		return // not an outcome (received): nothing to settle yet
	}
	if err != nil {
		err = settleError(lk, err, c.b.now())
		c.b.cfg.Metrics.lockLost(q, err)
		_ = lk.amqp.SettleSent(id, &amqp.Rejected{Error: conditionOf(err)})
		return
	}
	c.b.cfg.Metrics.settled(q, outcome)
	if _, rejected := state.(*amqp.Rejected); rejected {
		// The same outcome, as clients check, but without the client's error: rhea's
		// receivers take an error in the broker's outcome for a failed settlement.
		state = &amqp.Rejected{}
	}
	_ = lk.amqp.SettleSent(id, state)
}

func deadLetterReason(e *amqp.Error) (reason, description string) {
	if e == nil {
		return "", ""
	}
	for _, p := range e.Info {
		k, _ := p.Key.(string)
		if sym, ok := p.Key.(amqp.Symbol); ok {
			k = string(sym)
		}
		v, _ := p.Value.(string)
		switch k {
		case propertyDeadLetterReason:
			reason = v
		case propertyDeadLetterDescription:
			description = v
		}
	}
	return reason, description
}
