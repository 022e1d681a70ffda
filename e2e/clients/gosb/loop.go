package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// The long-running ops keep going while the server is killed and restarted under them,
// as an application would: an error is printed and the next operation tried, the SDK
// recovering its connection and links on its own. Each outcome is printed the moment it
// is known, so what the server acknowledged is on the test's record even if the server
// dies right after.

// untilStdinCloses returns a context cancelled when stdin reaches its end: the test stops
// a loop by closing the pipe.
func untilStdinCloses(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx
}

// pauseAfterError keeps a loop from spinning while the server is down.
const pauseAfterError = 100 * time.Millisecond

// sendLoop sends messages B-0 .. B-(n-1), -batch at a time with -pause after each, each
// group only once: it prints {"acked":[ids]} when the server accepted a group and
// {"failed":[ids],"error":…} when the SDK gave up on it (such a group may or may not be
// stored).
func sendLoop(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	s, err := client.NewSender(o.queue, nil)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	for first := 0; first < o.n && ctx.Err() == nil; first += o.batch {
		var ids []string
		var msgs []*azservicebus.Message
		for i := first; i < min(first+o.batch, o.n); i++ {
			m := message(o, i)
			ids = append(ids, *m.MessageID)
			msgs = append(msgs, m)
		}
		// A group started is seen through, so its outcome is printed even when stdin
		// closes meanwhile.
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := sendGroup(sendCtx, s, msgs)
		cancel()
		if err != nil {
			_ = enc.Encode(map[string]any{"failed": ids, "error": describeError(err)})
			time.Sleep(pauseAfterError)
			continue
		}
		_ = enc.Encode(map[string]any{"acked": ids})
		time.Sleep(o.pause)
	}
	return nil
}

func sendGroup(ctx context.Context, s *azservicebus.Sender, msgs []*azservicebus.Message) error {
	if len(msgs) == 1 {
		return s.SendMessage(ctx, msgs[0], nil)
	}
	batch, err := s.NewMessageBatch(ctx, nil)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := batch.AddMessage(m, nil); err != nil {
			return err
		}
	}
	return s.SendMessageBatch(ctx, batch, nil)
}

// delivery is one message as a receiver got it: its id, its sequence number (which tells
// apart two stored copies of one id), its delivery count (which grows with each lock), and
// its lock: the token and until when the broker holds it for this receiver.
type delivery struct {
	ID            string     `json:"id"`
	Seq           int64      `json:"seq"`
	DeliveryCount uint32     `json:"deliveryCount"`
	LockToken     string     `json:"lockToken,omitempty"`
	LockedUntil   *time.Time `json:"lockedUntil,omitempty"`
}

// drain receives up to -n messages at a time in PeekLock and completes each: it prints
// {"got":…} for every message received, before settling it, and {"completed":…} once the
// server acknowledged its completion. A completion that fails leaves the rest of its
// group unsettled (they came on the same link, and come back when their locks expire)
// and the receiver is opened anew, as the SDK cannot settle messages of a link that
// died with its connection.
func drain(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	open := func() (*azservicebus.Receiver, error) {
		return newReceiver(client, o, azservicebus.ReceiveModePeekLock)
	}
	r, err := open()
	if err != nil {
		return err
	}
	defer func() { r.Close(context.Background()) }()
	lastMessage := time.Now()
	for ctx.Err() == nil {
		if o.idle > 0 && time.Since(lastMessage) > o.idle {
			break
		}
		wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		msgs, err := r.ReceiveMessages(wait, o.n, nil)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() != nil {
				break
			}
			_ = enc.Encode(map[string]any{"error": describeError(err)})
			time.Sleep(pauseAfterError)
			continue
		}
		if len(msgs) > 0 {
			lastMessage = time.Now()
		}
		for _, m := range msgs {
			_ = enc.Encode(map[string]any{"got": deliveryOf(m)})
		}
		for _, m := range msgs {
			// Settled even when ctx is done: a message taken is not left locked.
			settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			err := r.CompleteMessage(settleCtx, m, nil)
			cancel()
			if err != nil {
				_ = enc.Encode(map[string]any{"completeFailed": deliveryOf(m), "error": describeError(err)})
				r.Close(context.Background())
				if r, err = open(); err != nil {
					return err
				}
				break
			}
			_ = enc.Encode(map[string]any{"completed": deliveryOf(m)})
		}
	}
	return nil
}

func deliveryOf(m *azservicebus.ReceivedMessage) delivery {
	d := delivery{ID: m.MessageID, DeliveryCount: m.DeliveryCount, LockedUntil: m.LockedUntil}
	if m.LockToken != [16]byte{} {
		d.LockToken = fmt.Sprintf("%x", m.LockToken)
	}
	if m.SequenceNumber != nil {
		d.Seq = *m.SequenceNumber
	}
	return d
}
