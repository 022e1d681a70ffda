package servicebus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	goamqp "github.com/Azure/go-amqp"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// publishRecorder is a store that notes the weight of each Publish it is given.
type publishRecorder struct {
	messaging.Store
	mu      sync.Mutex
	weights []int64
	pubs    []int
}

func (r *publishRecorder) Publish(ctx context.Context, topic messaging.Queue, pubs []messaging.Publication) ([]int64, error) {
	var w int64
	for _, p := range pubs {
		for _, c := range p.Copies {
			w += int64(len(c.Message.Raw)) + copyOverhead
		}
	}
	r.mu.Lock()
	r.weights, r.pubs = append(r.weights, w), append(r.pubs, len(pubs))
	r.mu.Unlock()
	return r.Store.Publish(ctx, topic, pubs)
}

// TestTopicPublishBound: the copies of a topic's sends go to the store in writes of at
// most Config.MaxPublishBytes: many sends arriving together are split over several
// writes, every one accepted and stored; a send whose copies alone exceed the bound (a
// message, a batch, a scheduled message) is refused with amqp:resource-limit-exceeded
// and nothing of it stored.
func TestTopicPublishBound(t *testing.T) {
	const limit = 8000
	rec := &publishRecorder{}
	b := newBroker(t, func(cfg *Config) {
		rec.Store, cfg.Store, cfg.MaxPublishBytes = cfg.Store, rec, limit
	})
	for _, s := range []string{"a", "b", "c"} {
		b.entities.subscribe("events", s, defaultRule())
	}
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	const senders, each = 8, 5
	errs := make(chan error, senders*each)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				errs <- s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte(strings.Repeat("m", 300))}, nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a send within the bound: %v", err)
		}
	}

	big := &azservicebus.Message{Body: []byte(strings.Repeat("x", 3000))}
	var ae *goamqp.Error
	if err := s.SendMessage(t.Context(), big, nil); !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondResourceLimitExceeded {
		t.Fatalf("a message whose copies exceed the bound: %v, want amqp:resource-limit-exceeded", err)
	}
	batch, err := s.NewMessageBatch(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if err := batch.AddMessage(&azservicebus.Message{Body: []byte(strings.Repeat("y", 500))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SendMessageBatch(t.Context(), batch, nil); !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondResourceLimitExceeded {
		t.Fatalf("a batch whose copies exceed the bound: %v, want amqp:resource-limit-exceeded", err)
	}
	if _, err := s.ScheduleMessages(t.Context(), []*azservicebus.Message{big}, b.now().Add(3*time.Hour), nil); err == nil ||
		!strings.Contains(err.Error(), "413") {
		t.Fatalf("a scheduled message whose copies exceed the bound: %v, want status 413", err)
	}

	rec.mu.Lock()
	for i, w := range rec.weights {
		if w > limit {
			t.Errorf("write %d held %d bytes of copies (%d publications), over the bound of %d", i, w, rec.pubs[i], limit)
		}
	}
	rec.mu.Unlock()
	for _, sub := range []string{"a", "b", "c"} {
		drain(t, c, "events", sub, senders*each)
	}
}
