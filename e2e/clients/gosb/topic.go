package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// newReceiver is a receiver of the queue, or of subscription -sub of the topic -queue.
func newReceiver(client *azservicebus.Client, o options, mode azservicebus.ReceiveMode) (*azservicebus.Receiver, error) {
	if o.sub != "" {
		return client.NewReceiverForSubscription(o.queue, o.sub, receiverOptions(o, mode))
	}
	return client.NewReceiverForQueue(o.queue, receiverOptions(o, mode))
}

// publish sends one message per entry of -props, in one batch: bodies B-0, B-1, ...
func publish(ctx context.Context, client *azservicebus.Client, o options, enc *json.Encoder) error {
	var props []map[string]any
	if err := json.Unmarshal([]byte(o.props), &props); err != nil {
		return fmt.Errorf("-props: %w", err)
	}
	s, err := client.NewSender(o.queue, nil)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	batch, err := s.NewMessageBatch(ctx, nil)
	if err != nil {
		return err
	}
	for i, p := range props {
		m := message(o, i)
		for k, v := range p {
			switch k {
			case "$subject":
				m.Subject = ptr(fmt.Sprint(v))
			case "$correlationId":
				m.CorrelationID = ptr(fmt.Sprint(v))
			default:
				if f, ok := v.(float64); ok && f == float64(int64(f)) {
					v = int64(f) // JSON numbers: whole ones as longs
				}
				m.ApplicationProperties[k] = v
			}
		}
		if err := batch.AddMessage(m, nil); err != nil {
			return err
		}
	}
	if err := s.SendMessageBatch(ctx, batch, nil); err != nil {
		return err
	}
	return enc.Encode(map[string]any{"sent": len(props)})
}

func ptr[T any](v T) *T { return &v }
