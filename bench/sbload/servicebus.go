package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// serviceBus is a Lanyard namespace through azservicebus. Every sender and receiver has a
// client (an AMQP connection) of its own, as RabbitMQ's have; the credential, and so its
// token, is shared.
type serviceBus struct {
	ns, queue string
	prefetch  int
	// concurrent: a receiver completes the messages of each ReceiveMessages together
	// rather than one after the other.
	concurrent bool
	cred       azcore.TokenCredential
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
	return &serviceBus{ns: o.ns, queue: o.queue, prefetch: o.prefetch, concurrent: o.settle == "concurrent", cred: cred, sessions: o.sessions}, nil
}

func (s *serviceBus) client() (*azservicebus.Client, error) {
	c, err := azservicebus.NewClient(s.ns, s.cred, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c, nil
}

func (s *serviceBus) sender(ctx context.Context) (func(context.Context, [][]byte) error, func(), error) {
	c, err := s.client()
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
			if err := batch.AddMessage(&azservicebus.Message{Body: b, SessionID: session}, nil); err != nil {
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
	c, err := s.client()
	if err != nil {
		return err
	}
	if s.sessions > 0 {
		return s.receiveSessions(ctx, c, got)
	}
	r, err := c.NewReceiverForQueue(s.queue, &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock})
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
