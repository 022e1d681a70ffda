package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// sessionSend sends -n messages to each session of -sessions, the sessions interleaved.
func sessionSend(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	s, err := client.NewSender(o.queue, nil)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	sent := 0
	for i := range o.n {
		for id := range strings.SplitSeq(o.sessions, ",") {
			body := fmt.Sprintf("%s-%d", id, i)
			if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte(body), SessionID: &id}, nil); err != nil {
				return err
			}
			sent++
		}
	}
	return enc.Encode(map[string]any{"sent": sent})
}

// sessionReceive accepts a session (named, or the next available within -wait) of the
// queue, or of subscription -sub of the topic -queue, receives
// and completes up to -n of its messages, reads its state and sets it to -state.
func sessionReceive(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	var (
		r   *azservicebus.SessionReceiver
		err error
	)
	switch {
	case o.session != "" && o.sub != "":
		r, err = client.AcceptSessionForSubscription(ctx, o.queue, o.sub, o.session, nil)
	case o.session != "":
		r, err = client.AcceptSessionForQueue(ctx, o.queue, o.session, nil)
	default:
		acceptCtx, cancel := context.WithTimeout(ctx, o.wait)
		if o.sub != "" {
			r, err = client.AcceptNextSessionForSubscription(acceptCtx, o.queue, o.sub, nil)
		} else {
			r, err = client.AcceptNextSessionForQueue(acceptCtx, o.queue, nil)
		}
		cancel()
	}
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	var msgs []*azservicebus.ReceivedMessage
	waitCtx, stop := context.WithTimeout(ctx, o.wait)
	defer stop()
	for len(msgs) < o.n {
		got, err := r.ReceiveMessages(waitCtx, o.n-len(msgs), nil)
		if errors.Is(err, context.DeadlineExceeded) && waitCtx.Err() != nil {
			break
		}
		if err != nil {
			return err
		}
		for _, m := range got {
			if err := r.CompleteMessage(ctx, m, nil); err != nil {
				return err
			}
		}
		msgs = append(msgs, got...)
	}
	state, err := r.GetSessionState(ctx, nil)
	if err != nil {
		return err
	}
	if o.state != "" {
		if err := r.SetSessionState(ctx, []byte(o.state), nil); err != nil {
			return err
		}
	}
	if err := r.RenewSessionLock(ctx, nil); err != nil {
		return err
	}
	return enc.Encode(map[string]any{"session": r.SessionID(), "sessionState": string(state), "received": describe(msgs)})
}
