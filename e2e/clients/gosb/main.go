// Command gosb is a Service Bus client as a user would write it: the unmodified
// azservicebus with a managed-identity credential, pointed at a Lanyard namespace (its
// fully qualified namespace is the host:port of the namespace's endpoint; Lanyard's CA is
// trusted through SSL_CERT_FILE, which lanyard app run sets). It performs one operation
// and prints its outcome as JSON lines: the result, or {"error":{"code":...}} with the
// SDK's error code. Each run is a fresh process, so MSAL's caches never carry over.
//
// Usage: gosb -ns localhost:PORT -queue NAME -op OP [-n N] [-settle S] [-body B] [-wait D]
// [-in D] [-seqs 1,2] [-sub S] [-props JSON]
//
// With -sub, receivers read subscription S of the topic -queue (NewReceiverForSubscription).
//
//	send          send -n messages (bodies B-0, B-1, ...), one by one
//	publish       send one message per entry of -props (a JSON array of application
//	              properties; "$subject" and "$correlationId" set those), in one batch
//	send-batch    send -n messages in one batch
//	receive       receive up to -n messages in PeekLock and settle each (-settle complete,
//	              abandon, deadletter, defer or none); -dlq reads the dead-letter queue
//	schedule      schedule -n messages for -in from now (ScheduleMessages); prints their
//	              sequence numbers
//	cancel        cancel the scheduled messages -seqs (CancelScheduledMessages)
//	receive-deferred receive the deferred messages -seqs (ReceiveDeferredMessages) in
//	              PeekLock and settle each as receive does
//	receive-delete receive up to -n messages in ReceiveAndDelete mode
//	peek          peek up to -n messages from sequence number 1
//	renew         receive one message, renew its lock, complete it
//	hold          receive until the link fails; prints {"receiving":true} first
//	settle-late   receive one message, wait -wait, then complete it (a lost lock)
//	send-loop     send -n messages in groups of -batch, printing each acknowledged group
//	              at once; goes on past errors; stops early when stdin closes
//	drain         receive in PeekLock and complete, printing each message received and
//	              each completion acknowledged; goes on past errors; stops when stdin
//	              closes or, with -idle, after that long without a message
//	session-send  send -n messages to each session of -sessions (a,b,...), interleaved;
//	              bodies SESSION-0, SESSION-1, ...
//	session-receive accept -session (or the next session when empty) of the queue, or
//	              of subscription -sub of the topic -queue, receive up to -n
//	              messages and complete them, read the session's state, then set it to
//	              -state if given
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

type options struct {
	ns, queue, op, settle, body, clientID string
	sub, props                            string
	session, sessions, state              string
	n, batch                              int
	dlq                                   bool
	wait, idle, pause, in                 time.Duration
	seqs                                  []int64
}

func main() {
	var o options
	flag.StringVar(&o.ns, "ns", "", "the namespace's fully qualified name, e.g. localhost:5671")
	flag.StringVar(&o.queue, "queue", "", "the queue, or the topic")
	flag.StringVar(&o.sub, "sub", "", "receive from this subscription of the topic -queue")
	flag.StringVar(&o.props, "props", "[]", "publish: the messages' application properties, a JSON array")
	flag.StringVar(&o.op, "op", "", "send | send-batch | receive | receive-delete | peek | renew | hold | settle-late | send-loop | drain | schedule | cancel | receive-deferred")
	flag.StringVar(&o.settle, "settle", "complete", "complete | abandon | deadletter | defer | none")
	flag.StringVar(&o.body, "body", "m", "body prefix")
	flag.StringVar(&o.clientID, "client-id", "", "a user-assigned identity (default: the system-assigned one)")
	flag.IntVar(&o.n, "n", 1, "how many messages")
	flag.BoolVar(&o.dlq, "dlq", false, "receive from the dead-letter queue")
	flag.DurationVar(&o.wait, "wait", 3*time.Second, "how long receive waits for the first message; settle-late's delay")
	flag.IntVar(&o.batch, "batch", 1, "send-loop: messages per send (1: one by one, more: a batch)")
	flag.DurationVar(&o.pause, "pause", 0, "send-loop: how long to wait after each acknowledged send")
	flag.DurationVar(&o.idle, "idle", 0, "drain: stop after this long without a message (0: only when stdin closes)")
	flag.DurationVar(&o.in, "in", time.Hour, "how far ahead schedule schedules")
	flag.StringVar(&o.session, "session", "", "session-receive: the session (default: the next available)")
	flag.StringVar(&o.sessions, "sessions", "", "session-send: the sessions, comma-separated")
	flag.StringVar(&o.state, "state", "", "session-receive: the state to set")
	flag.Func("seqs", "sequence numbers, comma-separated (cancel, receive-deferred)", func(v string) error {
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return err
			}
			o.seqs = append(o.seqs, n)
		}
		return nil
	})
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	if err := run(o, enc); err != nil {
		_ = enc.Encode(map[string]any{"error": describeError(err)})
		os.Exit(0)
	}
}

// describeError is err as printed: its message and the SDK's code, if it has one.
func describeError(err error) map[string]any {
	out := map[string]any{"message": err.Error()}
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) {
		out["code"] = string(sbErr.Code)
	}
	return out
}

func run(o options, enc *json.Encoder) error {
	// The loops run until the test closes their stdin; the other ops are bounded.
	limit := 90 * time.Second
	if o.op == "send-loop" || o.op == "drain" {
		limit = 30 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var opts *azidentity.ManagedIdentityCredentialOptions
	if o.clientID != "" {
		opts = &azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(o.clientID)}
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return err
	}
	client, err := azservicebus.NewClient(o.ns, cred, &azservicebus.ClientOptions{
		RetryOptions: azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond},
	})
	if err != nil {
		return err
	}
	defer client.Close(context.Background())
	switch o.op {
	case "send", "send-batch":
		return send(ctx, client, o, enc)
	case "publish":
		return publish(ctx, client, o, enc)
	case "peek":
		r, err := newReceiver(client, o, azservicebus.ReceiveModePeekLock)
		if err != nil {
			return err
		}
		msgs, err := r.PeekMessages(ctx, o.n, nil)
		if err != nil {
			return err
		}
		return enc.Encode(map[string]any{"peeked": describe(msgs)})
	case "receive", "receive-delete", "renew", "settle-late":
		return receive(ctx, client, o, enc)
	case "hold":
		return hold(ctx, client, o, enc)
	case "send-loop":
		return sendLoop(untilStdinCloses(ctx), client, o, enc)
	case "drain":
		return drain(untilStdinCloses(ctx), client, o, enc)
	case "schedule", "cancel":
		return schedule(ctx, client, o, enc)
	case "receive-deferred":
		return receiveDeferred(ctx, client, o, enc)
	case "session-send":
		return sessionSend(ctx, client, o, enc)
	case "session-receive":
		return sessionReceive(ctx, client, o, enc)
	}
	return fmt.Errorf("unknown op %q", o.op)
}

func receiverOptions(o options, mode azservicebus.ReceiveMode) *azservicebus.ReceiverOptions {
	opts := &azservicebus.ReceiverOptions{ReceiveMode: mode}
	if o.dlq {
		opts.SubQueue = azservicebus.SubQueueDeadLetter
	}
	return opts
}

func send(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	s, err := client.NewSender(o.queue, nil)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if o.op == "send-batch" {
		batch, err := s.NewMessageBatch(ctx, nil)
		if err != nil {
			return err
		}
		for i := range o.n {
			if err := batch.AddMessage(message(o, i), nil); err != nil {
				return err
			}
		}
		if err := s.SendMessageBatch(ctx, batch, nil); err != nil {
			return err
		}
	} else {
		for i := range o.n {
			if err := s.SendMessage(ctx, message(o, i), nil); err != nil {
				return err
			}
		}
	}
	return enc.Encode(map[string]any{"sent": o.n})
}

func message(o options, i int) *azservicebus.Message {
	id := fmt.Sprintf("%s-%d", o.body, i)
	return &azservicebus.Message{Body: []byte(id), MessageID: &id, ApplicationProperties: map[string]any{"index": int64(i)}}
}

type received struct {
	Body           string         `json:"body"`
	DeliveryCount  uint32         `json:"deliveryCount"`
	SequenceNumber int64          `json:"sequenceNumber"`
	Reason         string         `json:"deadLetterReason,omitempty"`
	Source         string         `json:"deadLetterSource,omitempty"`
	Index          any            `json:"index,omitempty"`
	Locked         bool           `json:"locked,omitempty"`
	State          string         `json:"state,omitempty"`
	Properties     map[string]any `json:"properties,omitempty"`
}

func describe(msgs []*azservicebus.ReceivedMessage) []received {
	out := make([]received, 0, len(msgs))
	for _, m := range msgs {
		r := received{Body: string(m.Body), DeliveryCount: m.DeliveryCount, Index: m.ApplicationProperties["index"], Properties: m.ApplicationProperties}
		if m.SequenceNumber != nil {
			r.SequenceNumber = *m.SequenceNumber
		}
		if m.DeadLetterReason != nil {
			r.Reason = *m.DeadLetterReason
		}
		if m.DeadLetterSource != nil {
			r.Source = *m.DeadLetterSource
		}
		r.Locked = m.LockedUntil != nil && m.LockedUntil.After(time.Now())
		r.State = map[azservicebus.MessageState]string{azservicebus.MessageStateActive: "active",
			azservicebus.MessageStateDeferred: "deferred", azservicebus.MessageStateScheduled: "scheduled"}[m.State]
		out = append(out, r)
	}
	return out
}

func receive(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	mode := azservicebus.ReceiveModePeekLock
	if o.op == "receive-delete" {
		mode = azservicebus.ReceiveModeReceiveAndDelete
	}
	r, err := newReceiver(client, o, mode)
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	n := o.n
	if o.op == "renew" || o.op == "settle-late" {
		n = 1
	}
	var msgs []*azservicebus.ReceivedMessage
	waitCtx, stop := context.WithTimeout(ctx, o.wait)
	for len(msgs) < n {
		got, err := r.ReceiveMessages(waitCtx, n-len(msgs), nil)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && waitCtx.Err() != nil {
				break
			}
			stop()
			return err
		}
		msgs = append(msgs, got...)
	}
	stop()
	out := map[string]any{"received": describe(msgs)}
	switch o.op {
	case "renew":
		if len(msgs) == 1 {
			before := *msgs[0].LockedUntil
			time.Sleep(1100 * time.Millisecond)
			if err := r.RenewMessageLock(ctx, msgs[0], nil); err != nil {
				return err
			}
			out["renewedLater"] = msgs[0].LockedUntil.After(before)
			if err := r.CompleteMessage(ctx, msgs[0], nil); err != nil {
				return err
			}
		}
	case "settle-late":
		if len(msgs) == 1 {
			time.Sleep(o.wait)
			if err := r.CompleteMessage(ctx, msgs[0], nil); err != nil {
				return err
			}
			out["completed"] = true
		}
	case "receive":
		if err := settle(ctx, r, msgs, o.settle); err != nil {
			return err
		}
		out["settled"] = o.settle
	}
	return enc.Encode(out)
}

func settle(ctx context.Context, r *azservicebus.Receiver, msgs []*azservicebus.ReceivedMessage, how string) error {
	for _, m := range msgs {
		var err error
		switch how {
		case "complete":
			err = r.CompleteMessage(ctx, m, nil)
		case "abandon":
			err = r.AbandonMessage(ctx, m, nil)
		case "deadletter":
			reason, desc := "Poison", "cannot parse"
			err = r.DeadLetterMessage(ctx, m, &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc})
		case "defer":
			err = r.DeferMessage(ctx, m, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func schedule(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	s, err := client.NewSender(o.queue, nil)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if o.op == "cancel" {
		if err := s.CancelScheduledMessages(ctx, o.seqs, nil); err != nil {
			return err
		}
		return enc.Encode(map[string]any{"cancelled": len(o.seqs)})
	}
	msgs := make([]*azservicebus.Message, o.n)
	for i := range msgs {
		msgs[i] = message(o, i)
	}
	seqs, err := s.ScheduleMessages(ctx, msgs, time.Now().Add(o.in), nil)
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"scheduled": seqs})
}

func receiveDeferred(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	r, err := newReceiver(client, o, azservicebus.ReceiveModePeekLock)
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	msgs, err := r.ReceiveDeferredMessages(ctx, o.seqs, nil)
	if err != nil {
		return err
	}
	out := map[string]any{"received": describe(msgs)}
	if err := settle(ctx, r, msgs, o.settle); err != nil {
		return err
	}
	out["settled"] = o.settle
	return enc.Encode(out)
}

// hold receives until the receiver fails, to show a link detached under it.
func hold(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	r, err := newReceiver(client, o, azservicebus.ReceiveModePeekLock)
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	// A first receive attaches the link; only then is the test told to go on.
	first, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = r.ReceiveMessages(first, 1, nil)
	cancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_ = enc.Encode(map[string]any{"receiving": true})
	for {
		msgs, err := r.ReceiveMessages(ctx, 1, nil)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			_ = r.CompleteMessage(ctx, m, nil)
		}
	}
}
