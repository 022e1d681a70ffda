package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// serviceBus is a Lanyard namespace through azservicebus. Every sender and receiver has a
// client (an AMQP connection) of its own, as RabbitMQ's have; the credential, and so its
// token, is shared. With several addresses (the namespace on several nodes), senders and
// receivers are spread over them in turn.
type serviceBus struct {
	addrs    []string
	queue    string
	prefetch int
	// nextSender and nextReceiver pick the address of the next sender and receiver.
	nextSender, nextReceiver atomic.Int64
	// concurrent: a receiver completes the messages of each ReceiveMessages together
	// rather than one after the other.
	concurrent bool
	cred       azcore.TokenCredential
	subs       int          // topic mode: queue is a topic with subscriptions s0..s(subs-1)
	nextSub    atomic.Int64 // the subscription the next receiver takes
	// sessions: batches go to sessions s0..s(n-1) in turn (the next counts them).
	sessions int
	next     atomic.Uint64

	mu      sync.Mutex
	clients []*azservicebus.Client
}

func newServiceBus(_ context.Context, o options) (*serviceBus, error) {
	if o.ns == "" {
		return nil, errors.New("-ns is required")
	}
	var opts *azidentity.ManagedIdentityCredentialOptions
	if id := os.Getenv("AZURE_CLIENT_ID"); id != "" {
		opts = &azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(id)}
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, err
	}
	return &serviceBus{addrs: strings.Split(o.ns, ","), queue: o.queue, prefetch: o.prefetch, concurrent: o.settle == "concurrent", cred: cred,
		subs: o.subs, sessions: o.sessions}, nil
}

// client connects to the i-th address, modulo their number.
func (s *serviceBus) client(i int64) (*azservicebus.Client, error) {
	c, err := azservicebus.NewClient(s.addrs[i%int64(len(s.addrs))], s.cred, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c, nil
}

func (s *serviceBus) sender(ctx context.Context) (func(context.Context, [][]byte) error, func(), error) {
	c, err := s.client(s.nextSender.Add(1) - 1)
	if err != nil {
		return nil, nil, err
	}
	snd, err := c.NewSender(s.queue, nil)
	if err != nil {
		return nil, nil, err
	}
	send := func(ctx context.Context, bodies [][]byte) error {
		batch, err := snd.NewMessageBatch(ctx, nil)
		if err != nil {
			return err
		}
		var session *string
		if s.sessions > 0 {
			id := fmt.Sprintf("s%d", s.next.Add(1)%uint64(s.sessions))
			session = &id
		}
		for _, b := range bodies {
			m := &azservicebus.Message{Body: b, SessionID: session}
			if s.subs > 0 { // what the subscriptions' filters look at
				m.Subject = &topicSubject
				m.ApplicationProperties = map[string]any{"weight": int64(100), "region": "eu"}
			}
			if err := batch.AddMessage(m, nil); err != nil {
				return err
			}
		}
		if n := batch.NumMessages(); n != int32(len(bodies)) {
			return fmt.Errorf("the batch took %d of %d messages", n, len(bodies))
		}
		return snd.SendMessageBatch(ctx, batch, nil)
	}
	return send, func() { _ = snd.Close(context.Background()) }, nil
}

func (s *serviceBus) receive(ctx context.Context, got func()) error {
	c, err := s.client(s.nextReceiver.Add(1) - 1)
	if err != nil {
		return err
	}
	if s.sessions > 0 {
		return s.receiveSessions(ctx, c, got)
	}
	opts := &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock}
	var r *azservicebus.Receiver
	if s.subs > 0 {
		r, err = c.NewReceiverForSubscription(s.queue, fmt.Sprintf("s%d", s.nextSub.Add(1)%int64(s.subs)), opts)
	} else {
		r, err = c.NewReceiverForQueue(s.queue, opts)
	}
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	for {
		msgs, err := r.ReceiveMessages(ctx, s.prefetch, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if s.concurrent {
			errs := make([]error, len(msgs))
			var wg sync.WaitGroup
			for i, m := range msgs {
				wg.Go(func() {
					if errs[i] = r.CompleteMessage(ctx, m, nil); errs[i] == nil {
						got()
					}
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			continue
		}
		for _, m := range msgs {
			if err := r.CompleteMessage(ctx, m, nil); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			got()
		}
	}
}

func (s *serviceBus) close() {
	for _, c := range s.clients {
		_ = c.Close(context.Background())
	}
}

// topicSubject is the subject (label) of the messages sent to a topic, and the routing
// key of RabbitMQ's.
var topicSubject = "orders.created"

// receiveSessions accepts the next available session, settles its messages one by one
// until none comes for a moment, closes it, and accepts the next, until ctx ends.
func (s *serviceBus) receiveSessions(ctx context.Context, c *azservicebus.Client, got func()) error {
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r, err := c.AcceptNextSessionForQueue(actx, s.queue, nil)
		cancel()
		var sbErr *azservicebus.Error
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeTimeout:
			continue // no session free yet
		case err != nil:
			return err
		}
		for {
			rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			msgs, err := r.ReceiveMessages(rctx, s.prefetch, nil)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				_ = r.Close(context.Background())
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, m := range msgs {
				if err := r.CompleteMessage(ctx, m, nil); err != nil {
					_ = r.Close(context.Background())
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				got()
			}
			if len(msgs) == 0 {
				break
			}
		}
		_ = r.Close(context.Background())
	}
	return nil
}
