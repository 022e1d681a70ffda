package servicebus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// entityKind is what an entity path names.
type entityKind int

const (
	entityQueue entityKind = iota
	entityTopic
	entitySubscription
)

// splitSubscription reads a subscription's path, "topic/Subscriptions/sub" (the segment
// in any case, as Service Bus takes it).
func splitSubscription(path string) (topic, sub string, ok bool) {
	topic, rest, ok := strings.Cut(path, "/")
	if !ok {
		return "", "", false
	}
	seg, sub, ok := strings.Cut(rest, "/")
	if !ok || !strings.EqualFold(seg, "Subscriptions") || topic == "" || sub == "" || strings.Contains(sub, "/") {
		return "", "", false
	}
	return topic, sub, true
}

// subscriptionPath is a subscription's entity path, as the SDKs address it.
func subscriptionPath(topic, sub string) string { return topic + "/Subscriptions/" + sub }

// topicAsQueue is what the send path needs of a topic: its name, time to live and
// duplicate detection, in a queue's shape (it has no locks: receivers are refused).
func topicAsQueue(t lanyard.ServiceBusTopic) lanyard.ServiceBusQueue {
	return lanyard.ServiceBusQueue{Namespace: t.Namespace, Name: t.Name, DefaultMessageTimeToLive: t.DefaultMessageTimeToLive,
		RequiresDuplicateDetection: t.RequiresDuplicateDetection, DuplicateDetectionHistoryTimeWindow: t.DuplicateDetectionHistoryTimeWindow}
}

// subscriptionAsQueue is a subscription as the queue store holds it: a queue named by its
// path, with the subscription's settings.
func subscriptionAsQueue(s lanyard.ServiceBusSubscription) lanyard.ServiceBusQueue {
	return lanyard.ServiceBusQueue{Namespace: s.Namespace, Name: subscriptionPath(s.Topic, s.Name), LockDuration: s.LockDuration,
		MaxDeliveryCount: s.MaxDeliveryCount, DefaultMessageTimeToLive: s.DefaultMessageTimeToLive, RequiresSession: s.RequiresSession,
		DeadLetteringOnMessageExpiration: s.DeadLetteringOnMessageExpiration}
}

// SubscriptionQueue is what a queue store needs of subscription s: the queue its
// messages are held in.
func SubscriptionQueue(s lanyard.ServiceBusSubscription) messaging.Queue {
	return QueueOf(subscriptionAsQueue(s))
}

// scopeOf is the ARM scope below the namespace of an entity's role assignments.
func scopeOf(q lanyard.ServiceBusQueue, kind entityKind) string {
	switch kind {
	case entityTopic:
		return "topics/" + q.Name
	case entitySubscription:
		t, s, _ := splitSubscription(q.Name)
		return "topics/" + t + "/subscriptions/" + s
	}
	return "queues/" + q.Name
}

func entityNotFound(namespace, path string) error {
	return amqpError(amqp.ErrNotFound, "The messaging entity 'sb://%s/%s' could not be found.", namespace, lanyard.Clip(path, 200))
}

// entity reads what path names: a queue, a topic, or a subscription (as a queue).
func (b *Broker) entity(ctx context.Context, namespace, path string) (lanyard.ServiceBusQueue, entityKind, error) {
	if t, s, ok := splitSubscription(path); ok {
		sub, err := b.cfg.Entities.GetServiceBusSubscription(ctx, namespace, t, s)
		if lanyard.IsNotFound(err) {
			return lanyard.ServiceBusQueue{}, entitySubscription, entityNotFound(namespace, path)
		}
		return subscriptionAsQueue(sub), entitySubscription, err
	}
	if strings.Contains(path, "/") {
		return lanyard.ServiceBusQueue{}, entityQueue, entityNotFound(namespace, path)
	}
	q, err := b.cfg.Entities.GetServiceBusQueue(ctx, namespace, path)
	if !lanyard.IsNotFound(err) {
		return q, entityQueue, err
	}
	t, err := b.cfg.Entities.GetServiceBusTopic(ctx, namespace, path)
	if lanyard.IsNotFound(err) {
		return lanyard.ServiceBusQueue{}, entityTopic, entityNotFound(namespace, path)
	}
	return topicAsQueue(t), entityTopic, err
}

// maxSubscriptions bounds the subscriptions a topic fans out to (Azure's limit per topic).
const maxSubscriptions = 2000

// route is one subscription of a topic, with its rules compiled.
type route struct {
	queue    messaging.Queue
	settings lanyard.ServiceBusQueue // the subscription's settings, as a queue's
	rules    []*compiledRule
	// deadLetterOnFilterError is the subscription's deadLetteringOnFilterEvaluationExceptions.
	deadLetterOnFilterError bool
}

// routes reads the subscriptions of topic and their rules, on each call, so that a
// change applies at once; compiled expressions come from the broker's cache.
func (b *Broker) routes(ctx context.Context, namespace, topic string) ([]route, error) {
	var out []route
	after := ""
	for len(out) < maxSubscriptions {
		page, err := b.cfg.Entities.ListServiceBusSubscriptionsPage(ctx, namespace, topic, after, 500)
		if err != nil {
			return nil, fmt.Errorf("list the subscriptions of %s: %w", topic, err)
		}
		for _, s := range page {
			rules, err := b.rulesOf(ctx, s)
			if err != nil {
				return nil, err
			}
			out = append(out, route{queue: SubscriptionQueue(s), settings: subscriptionAsQueue(s), rules: rules,
				deadLetterOnFilterError: s.DeadLetteringOnFilterEvaluationExceptions})
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Name
	}
	return out, nil
}

// Service Bus's dead-letter reason and description for a message without a session id
// routed to a session-enabled subscription: the send is accepted, that copy dead-lettered.
const (
	reasonSessionIDNull      = "Session id is null."
	descriptionSessionIDNull = "Session enabled entity doesn't allow a message whose session identifier is null."
)

// DefaultMaxPublishBytes is the default bound on the copies one write of a topic's sends
// holds (Config.MaxPublishBytes).
const DefaultMaxPublishBytes = 64 << 20

// copyOverhead is what a copy weighs in that bound besides its encoding: a row and its
// indexes, so that many small copies count too.
const copyOverhead = 256

// fanOut is what msgs, sent to a topic, make for its subscriptions (routes): one
// publication per message, and their weight (bytes of copies, see copyOverhead).
func (b *Broker) fanOut(routes []route, msgs []messaging.Message, now time.Time) ([]messaging.Publication, int64, *amqp.Error) {
	pubs := make([]messaging.Publication, len(msgs))
	var weight int64
	for i, msg := range msgs {
		pubs[i].MessageID = msg.MessageID
		if len(routes) == 0 {
			continue
		}
		m, err := amqp.UnmarshalMessage(msg.Raw)
		if err == nil {
			msg.Raw, err = unmarked(m, msg.Raw)
		}
		if err != nil {
			return nil, 0, amqpError(amqp.ErrDecode, "The message does not decode: %v", err)
		}
		props := propertiesOf(m, msg, now)
		for _, r := range routes {
			copies, filterErr := b.route(r, m, msg.Raw, props)
			if filterErr != nil {
				pubs[i].Copies = append(pubs[i].Copies, filterFailed(r, msg, filterErr))
				weight += int64(len(msg.Raw)) + copyOverhead
				continue
			}
			for j, raw := range copies {
				if j > 0 {
					if raw, err = markCopy(raw, j); err != nil {
						return nil, 0, amqpError(amqp.ErrInternal, "A copy of the message does not encode: %v", err)
					}
				}
				c := messaging.Copy{Queue: r.queue, Message: msg}
				c.Message.Raw = raw
				c.Message.ExpiresAt = expiryFor(msg, r.settings.DefaultMessageTimeToLive, now)
				if err := applySessionRule(r.settings, &c.Message); err != nil {
					if c.Message.SessionID != "" {
						return nil, 0, err
					}
					c.DeadLetterReason, c.DeadLetterDescription = reasonSessionIDNull, descriptionSessionIDNull
				}
				pubs[i].Copies = append(pubs[i].Copies, c)
				weight += int64(len(raw)) + copyOverhead
			}
		}
	}
	return pubs, weight, nil
}

// reasonFilterException is the dead-letter reason of a message whose filter could not be
// evaluated: Service Bus gives the type name of the broker's exception.
const reasonFilterException = "FilterException"

// filterFailed is the copy of msg for a subscription that dead-letters a message its
// filter cannot be evaluated for: the message as sent, in its dead-letter queue.
func filterFailed(r route, msg messaging.Message, err error) messaging.Copy {
	if !r.settings.RequiresSession {
		msg.SessionID = "" // as any copy for such a subscription
	}
	return messaging.Copy{Queue: r.queue, Message: msg, DeadLetterReason: reasonFilterException,
		DeadLetterDescription: lanyard.Clip(err.Error(), 1024)}
}

// tooBig refuses a send whose copies alone exceed the bound on one write.
func tooBig(weight, limit int64) *amqp.Error {
	return amqpError(amqp.ErrResourceLimit, "The message's copies for the topic's subscriptions come to %d bytes, over the limit of %d for one send: send smaller messages, or fewer at a time.", weight, limit)
}

// publish fans msgs, sent to topic t, out to its subscriptions whose rules let them
// through, in one write, and returns their sequence numbers.
func (b *Broker) publish(ctx context.Context, t lanyard.ServiceBusQueue, msgs []messaging.Message) ([]int64, error) {
	routes, err := b.routes(ctx, t.Namespace, t.Name)
	if err != nil {
		return nil, err
	}
	pubs, weight, aerr := b.fanOut(routes, msgs, b.now())
	if aerr != nil {
		return nil, aerr
	}
	if weight > b.cfg.MaxPublishBytes {
		return nil, tooBig(weight, b.cfg.MaxPublishBytes)
	}
	return b.cfg.Store.Publish(ctx, QueueOf(t), pubs)
}

// publishSends stores the deliveries of a topic's sender (those not refused already) in
// as few writes as the bound on one write allows: each delivery's copies all in one, a
// delivery too big alone refused. It notes each delivery's outcome in sends.
func (c *connection) publishSends(t lanyard.ServiceBusQueue, sends []pendingSend) {
	routes, err := c.b.routes(c.ctx, t.Namespace, t.Name)
	if err != nil {
		for i := range sends {
			sends[i].stored = err
		}
		return
	}
	limit, now := c.b.cfg.MaxPublishBytes, c.b.now()
	var (
		chunk  []int
		pubs   []messaging.Publication
		weight int64
	)
	flush := func() {
		if len(pubs) == 0 {
			return
		}
		_, err := c.b.cfg.Store.Publish(c.ctx, QueueOf(t), pubs)
		for _, i := range chunk {
			sends[i].stored = err
		}
		chunk, pubs, weight = chunk[:0], nil, 0
	}
	for i := range sends {
		if sends[i].reject != nil {
			continue
		}
		p, w, aerr := c.b.fanOut(routes, sends[i].msgs, now)
		switch {
		case aerr != nil:
			sends[i].reject = aerr
			continue
		case w > limit:
			sends[i].reject = tooBig(w, limit)
			continue
		case weight+w > limit:
			flush()
		}
		chunk, pubs, weight = append(chunk, i), append(pubs, p...), weight+w
	}
	flush()
}

// expiryFor is when msg's copy expires in a subscription: the message's own expiry, or
// sooner by the subscription's default time to live.
func expiryFor(msg messaging.Message, ttl time.Duration, now time.Time) time.Time {
	if ttl <= 0 || ttl >= maxTTL {
		return msg.ExpiresAt
	}
	enqueued := now
	if msg.ScheduledAt.After(now) {
		enqueued = msg.ScheduledAt
	}
	if at := enqueued.Add(ttl); msg.ExpiresAt.IsZero() || at.Before(msg.ExpiresAt) {
		return at
	}
	return msg.ExpiresAt
}

// cancelScheduledAll cancels a topic's scheduled messages in each of its subscriptions:
// every copy of each, those its rules' actions made included.
func (c *connection) cancelScheduledAll(t lanyard.ServiceBusQueue, body amqp.Map) response {
	seqs, ok := sequenceNumbers(body)
	if !ok {
		return badRequest("cancel-scheduled-message needs sequence-numbers: an array of 1 to 5000 longs.")
	}
	routes, err := c.b.routes(c.ctx, t.Namespace, t.Name)
	if err != nil {
		return failed(err)
	}
	for _, r := range routes {
		var all []int64
		for _, seq := range seqs {
			copies, err := c.b.copiesOf(c.ctx, r.queue, seq)
			if err != nil {
				return failed(err)
			}
			all = append(all, copies...)
		}
		for len(all) > 0 {
			n := min(len(all), messaging.MaxSequenceNumbers)
			if err := c.b.cfg.Store.CancelScheduled(c.ctx, r.queue, all[:n]); err != nil {
				return failed(err)
			}
			all = all[n:]
		}
	}
	return response{status: 200}
}
