package servicebus

import (
	"net/http"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The $management operations of scheduling (schedule-message, cancel-scheduled-message)
// and deferral (receive-by-sequence-number), with the request and response maps the
// SDKs use.

// maxSequenceNumbers bounds the numbers or messages of one request, as the store does.
const maxSequenceNumbers = messaging.MaxSequenceNumbers

// condMessageNotFound is Service Bus's condition for a sequence number that names no
// message in the state asked for.
const condMessageNotFound = amqp.Symbol("com.microsoft:message-not-found")

func sequenceNumbers(body amqp.Map) ([]int64, bool) {
	v, _ := body.Get("sequence-numbers")
	seqs, ok := v.([]int64)
	return seqs, ok && len(seqs) > 0 && len(seqs) <= maxSequenceNumbers
}

// schedule stores the messages of a schedule-message request, each scheduled by its
// x-opt-scheduled-enqueue-time annotation, and answers their sequence numbers.
func (c *connection) schedule(q lanyard.ServiceBusQueue, mq messaging.Queue, body amqp.Map, target entityKind) response {
	v, _ := body.Get("messages")
	entries, ok := v.([]any)
	if !ok || len(entries) == 0 || len(entries) > maxSequenceNumbers {
		return badRequest("schedule-message needs messages: a list of 1 to 5000 maps, each with the encoded message as binary under 'message'.")
	}
	now := c.b.now()
	msgs := make([]messaging.Message, 0, len(entries))
	for i, e := range entries {
		entry, _ := e.(amqp.Map)
		rawV, _ := entry.Get("message")
		raw, ok := rawV.([]byte)
		if !ok || len(raw) == 0 {
			return badRequest("schedule-message: an entry of messages has no binary 'message'.")
		}
		m, err := amqp.UnmarshalMessage(raw)
		if err != nil {
			return response{status: http.StatusBadRequest, condition: amqp.ErrDecode,
				description: "schedule-message: message " + strconv.Itoa(i) + " does not decode."}
		}
		msg := incoming(m, raw, now, q.DefaultMessageTimeToLive)
		if target != entityTopic { // a topic's copies are checked per subscription
			if err := applySessionRule(q, &msg); err != nil {
				return failed(err)
			}
		}
		msgs = append(msgs, msg)
	}
	var seqs []int64
	var err error
	if target == entityTopic {
		seqs, err = c.b.publish(c.ctx, q, msgs)
	} else {
		seqs, err = c.b.cfg.Store.Send(c.ctx, mq, msgs)
	}
	if err != nil {
		return failed(err)
	}
	c.b.cfg.Metrics.sent(mq, len(msgs))
	var out amqp.Map
	out.Set("sequence-numbers", seqs)
	return response{status: http.StatusOK, body: out}
}

func (c *connection) cancelScheduled(q messaging.Queue, body amqp.Map) response {
	seqs, ok := sequenceNumbers(body)
	if !ok {
		return badRequest("cancel-scheduled-message needs sequence-numbers: an array of 1 to 5000 longs.")
	}
	if err := c.b.cfg.Store.CancelScheduled(c.ctx, q, seqs); err != nil {
		return failed(err)
	}
	return response{status: http.StatusOK}
}

// receiveDeferred answers receive-by-sequence-number: the deferred messages, each as
// {lock-token, message} (the lock token also in the message's delivery annotations,
// where azservicebus reads it; rhea's SDK reads the map's).
func (c *connection) receiveDeferred(q messaging.Queue, sub messaging.SubQueue, body amqp.Map, entity string) response {
	seqs, ok := sequenceNumbers(body)
	modeV, _ := body.Get("receiver-settle-mode")
	mode, okMode := modeV.(uint32)
	if !ok || !okMode || mode > 1 {
		return badRequest("receive-by-sequence-number needs sequence-numbers (an array of 1 to 5000 longs) and receiver-settle-mode (uint 0 or 1).")
	}
	rm := messaging.PeekLock
	if mode == 0 {
		rm = messaging.ReceiveAndDelete
	}
	msgs, err := c.b.cfg.Store.ReceiveDeferred(c.ctx, q, sub, rm, seqs)
	if err != nil {
		return failed(err)
	}
	list := make([]any, 0, len(msgs))
	for _, s := range msgs {
		m, err := amqp.UnmarshalMessage(s.Raw)
		if err != nil {
			c.log.Error("a stored message does not decode", "entity", entity, "sequence", s.SequenceNumber, "err", err)
			return failed(err)
		}
		annotate(m, s, entity)
		var item amqp.Map
		if rm == messaging.PeekLock {
			m.DeliveryAnnotations.Set(annotationLockToken, amqp.UUID(s.LockToken))
			item.Set("lock-token", amqp.UUID(s.LockToken))
		}
		raw, err := m.Marshal()
		if err != nil {
			return failed(err)
		}
		item.Set("message", raw)
		list = append(list, item)
		c.b.cfg.Metrics.received(q)
	}
	var out amqp.Map
	out.Set("messages", list)
	return response{status: http.StatusOK, body: out}
}
