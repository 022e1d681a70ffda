package amqp

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// staticCredential hands azservicebus a fixed token: what it puts on the connection is
// under test here, not where the token comes from.
type staticCredential struct{}

func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "header.payload.signature", ExpiresOn: time.Unix(1900000000, 0)}, nil
}

// TestServeAzServiceBusSender runs the unmodified azservicebus sender against the engine
// over TLS: the claims it puts on the connection ($cbs put-token for the queue and its
// $management node, rbac.md §3a), the links it attaches, a single message and a batch
// (message format 0x80013700), as they reach a broker.
func TestServeAzServiceBusSender(t *testing.T) {
	pki := newTestPKI(t)
	h := &cbsHandler{}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	addr, result := startServerTLS(ctx, t, &ServerConfig{Handler: h},
		&tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12})

	client, err := azservicebus.NewClient(addr, staticCredential{}, &azservicebus.ClientOptions{
		// The namespace is host:port here, which go-amqp would take for the TLS server name.
		TLSConfig:    &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		RetryOptions: azservicebus.RetryOptions{MaxRetries: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := client.NewSender("q1", nil)
	if err != nil {
		t.Fatal(err)
	}
	subject := "greeting"
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("hello"), Subject: &subject,
		ApplicationProperties: map[string]any{"tenant": "contoso"}}, nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	batch, err := sender.NewMessageBatch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"one", "two", "three"} {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte(body)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.SendMessageBatch(ctx, batch, nil); err != nil {
		t.Fatalf("send batch: %v", err)
	}
	if err := sender.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	t.Logf("links attached (this side's role, node): %q", h.attached)
	var claims []string
	var sent []*Message
	for _, m := range h.requests {
		if op, _ := m.ApplicationProperties.Get("operation"); op == "put-token" {
			name, _ := m.ApplicationProperties.Get("name")
			typ, _ := m.ApplicationProperties.Get("type")
			expiration, _ := m.ApplicationProperties.Get("expiration")
			if typ != "jwt" || expiration != "1900000000" || m.Value != "header.payload.signature" {
				t.Fatalf("put-token %#v", m.ApplicationProperties)
			}
			claims = append(claims, name.(string))
			continue
		}
		sent = append(sent, m)
	}
	want := map[string]bool{"amqps://" + addr + "/q1": true, "amqps://" + addr + "/q1/$management": true}
	for _, c := range claims {
		delete(want, c)
	}
	if len(want) != 0 {
		t.Fatalf("claims %v, missing %v", claims, want)
	}
	if len(sent) != 2 || string(sent[0].Data[0]) != "hello" || sent[0].Properties.Subject != "greeting" {
		t.Fatalf("sent %#v", sent)
	}
	if tenant, _ := sent[0].ApplicationProperties.Get("tenant"); tenant != "contoso" {
		t.Fatalf("application properties %#v", sent[0].ApplicationProperties)
	}
	if len(h.batches) != 1 || len(h.batches[0]) != 3 || string(h.batches[0][2].Data[0]) != "three" ||
		h.batches[0][0].Properties.MessageID == nil {
		t.Fatalf("batches %#v", h.batches)
	}
}
