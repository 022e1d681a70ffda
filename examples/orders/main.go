// Command orders is the app of the README's Service Bus section: it sends an order to a
// queue and takes it back, with the unmodified Azure SDK for Go and no connection string,
// exactly as it would run on Azure. Run it as an app with `lanyard app run -g RG -n APP --
// go run ./examples/orders`, which sets AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE when the
// app holds a role on exactly one namespace.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run() error {
	namespace := os.Getenv("AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE")
	if namespace == "" {
		return errors.New("AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE is not set: `lanyard app run` sets it when the app's identities hold a role on exactly one namespace")
	}
	queue := os.Getenv("AZURE_SERVICEBUS_QUEUE")
	if queue == "" {
		queue = "orders"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return err
	}
	client, err := azservicebus.NewClient(namespace, cred, nil)
	if err != nil {
		return err
	}
	defer client.Close(context.Background())

	sender, err := client.NewSender(queue, nil)
	if err != nil {
		return err
	}
	order := fmt.Sprintf("order placed at %s", time.Now().UTC().Format(time.RFC3339))
	err = sender.SendMessage(ctx, &azservicebus.Message{Body: []byte(order)}, nil)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	receiver, err := client.NewReceiverForQueue(queue, nil)
	if err != nil {
		return err
	}
	msgs, err := receiver.ReceiveMessages(ctx, 1, nil)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	for _, msg := range msgs {
		fmt.Printf("received %q (delivery %d)\n", msg.Body, msg.DeliveryCount)
		err = receiver.CompleteMessage(ctx, msg, nil)
		if err != nil {
			return fmt.Errorf("complete: %w", err)
		}
	}
	return nil
}
