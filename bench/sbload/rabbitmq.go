package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbit is RabbitMQ through amqp091-go: a durable classic queue, persistent messages,
// publisher confirms and manual acks. Every publisher and consumer has a connection of its
// own.
type rabbit struct {
	url, queue string
	prefetch   int
	// Topic mode: queue is a topic exchange with subs durable queues bound to it
	// (queue-s0, ...), each by a pattern every message matches.
	subs    int
	nextSub atomic.Int64

	mu    sync.Mutex
	conns []*amqp.Connection
}

func newRabbit(_ context.Context, o options) (*rabbit, error) {
	r := &rabbit{url: o.url, queue: o.queue, prefetch: o.prefetch, subs: o.subs}
	ch, err := r.channel()
	if err != nil {
		return nil, err
	}
	if r.subs > 0 {
		return r, r.declareTopic(ch)
	}
	// A fresh queue: nothing left from an earlier run.
	if _, err := ch.QueueDelete(r.queue, false, false, false); err != nil {
		return nil, fmt.Errorf("deleting the queue: %w", err)
	}
	if _, err := ch.QueueDeclare(r.queue, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("declaring the queue: %w", err)
	}
	return r, nil
}

func (r *rabbit) channel() (*amqp.Channel, error) {
	ch, _, err := r.dial()
	return ch, err
}

func (r *rabbit) dial() (*amqp.Channel, *amqp.Connection, error) {
	conn, err := amqp.Dial(r.url)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	r.conns = append(r.conns, conn)
	r.mu.Unlock()
	ch, err := conn.Channel()
	return ch, conn, err
}

func (r *rabbit) sender(ctx context.Context) (func(context.Context, [][]byte) error, func(), error) {
	ch, err := r.channel()
	if err != nil {
		return nil, nil, err
	}
	if err := ch.Confirm(false); err != nil {
		return nil, nil, err
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, 128)
	send := func(ctx context.Context, bodies [][]byte) error {
		confirms = confirms[:0]
		for _, b := range bodies {
			exchange, key := "", r.queue
			if r.subs > 0 {
				exchange, key = r.queue, topicSubject
			}
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false,
				amqp.Publishing{DeliveryMode: amqp.Persistent, Body: b})
			if err != nil {
				return err
			}
			confirms = append(confirms, dc)
		}
		for _, dc := range confirms {
			ok, err := dc.WaitContext(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("the broker nacked a message")
			}
		}
		return nil
	}
	return send, func() { _ = ch.Close() }, nil
}

func (r *rabbit) receive(ctx context.Context, got func()) error {
	ch, conn, err := r.dial()
	if err != nil {
		return err
	}
	if err := ch.Qos(r.prefetch, 0, false); err != nil {
		return err
	}
	queue := r.queue
	if r.subs > 0 {
		queue = r.boundQueue(int(r.nextSub.Add(1) % int64(r.subs)))
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	defer func() {
		// The connection closes only once its deliveries are taken: drop the prefetched
		// ones (unacked, so RabbitMQ requeues them).
		go func() {
			for range deliveries {
			}
		}()
		_ = conn.Close()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("the consumer was cancelled")
			}
			if err := d.Ack(false); err != nil {
				return err
			}
			got()
		}
	}
}

func (r *rabbit) close() {
	if ch, err := r.channel(); err == nil {
		_, _ = ch.QueueDelete(r.queue, false, false, false)
		for i := range r.subs {
			_, _ = ch.QueueDelete(r.boundQueue(i), false, false, false)
		}
		if r.subs > 0 {
			_ = ch.ExchangeDelete(r.queue, false, false)
		}
	}
	for _, c := range r.conns {
		_ = c.Close()
	}
}

func (r *rabbit) boundQueue(i int) string { return fmt.Sprintf("%s-s%d", r.queue, i) }

// declareTopic makes a fresh durable topic exchange and its bound durable queues.
func (r *rabbit) declareTopic(ch *amqp.Channel) error {
	_ = ch.ExchangeDelete(r.queue, false, false)
	if err := ch.ExchangeDeclare(r.queue, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring the exchange: %w", err)
	}
	for i := range r.subs {
		q := r.boundQueue(i)
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("deleting a queue: %w", err)
		}
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring a queue: %w", err)
		}
		if err := ch.QueueBind(q, "orders.#", r.queue, false, nil); err != nil {
			return fmt.Errorf("binding a queue: %w", err)
		}
	}
	return nil
}
