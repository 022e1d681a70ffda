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
			out = append(out, route{queue: SubscriptionQueue(s), settings: subscriptionAsQueue(s), rules: rules})
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Name
	}
	return out, nil
}

// publish fans msgs, sent to topic t, out to its subscriptions whose rules let them
// through, in one write, and returns their sequence numbers.
func (b *Broker) publish(ctx context.Context, t lanyard.ServiceBusQueue, msgs []messaging.Message) ([]int64, error) {
	routes, err := b.routes(ctx, t.Namespace, t.Name)
	if err != nil {
		return nil, err
	}
	now := b.now()
	pubs := make([]messaging.Publication, len(msgs))
	for i, msg := range msgs {
		pubs[i].MessageID = msg.MessageID
		if len(routes) == 0 {
			continue
		}
		m, err := amqp.UnmarshalMessage(msg.Raw)
		if err != nil {
			return nil, amqpError(amqp.ErrDecode, "The message does not decode: %v", err)
		}
		props := propertiesOf(m, msg, now)
		for _, r := range routes {
			for _, raw := range b.route(r, m, msg.Raw, props) {
				c := messaging.Copy{Queue: r.queue, Message: msg}
				c.Message.Raw = raw
				c.Message.ExpiresAt = expiryFor(msg, r.settings.DefaultMessageTimeToLive, now)
				if err := applySessionRule(r.settings, &c.Message); err != nil {
					return nil, err
				}
				pubs[i].Copies = append(pubs[i].Copies, c)
			}
		}
	}
	return b.cfg.Store.Publish(ctx, QueueOf(t), pubs)
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

// cancelScheduledAll cancels a topic's scheduled messages in each of its subscriptions.
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
		if err := c.b.cfg.Store.CancelScheduled(c.ctx, r.queue, seqs); err != nil {
			return failed(err)
		}
	}
	return response{status: 200}
}
