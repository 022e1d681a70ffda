package servicebus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// TestTopicCancelScheduledCopies: CancelScheduledMessages on a topic cancels every copy
// of each message in every subscription, the later copies its rules' actions made
// included, and nothing of the next message, even one whose sender forged the broker's
// copy mark; the mark never reaches receivers.
func TestTopicCancelScheduledCopies(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	b.entities.subscribe("events", "plain", defaultRule())
	b.entities.subscribe("events", "tagged", defaultRule(),
		sqlRule("tag1", "color = 'red'", "SET tag = 'one'"), sqlRule("tag2", "color = 'red'", "SET tag = 'two'"))
	c := b.client(t, "app")
	s, err := c.NewSender("events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	at := time.Now().Add(time.Hour)
	red := func(id string) *azservicebus.Message {
		return &azservicebus.Message{MessageID: ptr(id), ApplicationProperties: map[string]any{"color": "red"}}
	}
	seqs, err := s.ScheduleMessages(t.Context(), []*azservicebus.Message{red("m1"), red("m2")}, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	// m3 follows m2's three numbers, and claims to be m2's fourth copy.
	forged := &azservicebus.AMQPAnnotatedMessage{
		Body:               azservicebus.AMQPAnnotatedMessageBody{Data: [][]byte{[]byte("m3")}},
		Properties:         &azservicebus.AMQPAnnotatedMessageProperties{MessageID: "m3"},
		MessageAnnotations: map[any]any{string(annotationCopyOffset): int64(3)},
	}
	kept, err := s.ScheduleAMQPAnnotatedMessages(t.Context(), []*azservicebus.AMQPAnnotatedMessage{forged}, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kept[0] != seqs[1]+3 {
		t.Fatalf("m3 is #%d, want #%d (m2's copies take three numbers)", kept[0], seqs[1]+3)
	}
	more, err := s.ScheduleMessages(t.Context(), []*azservicebus.Message{red("m4")}, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := scheduledIn(t, c, "tagged"); len(n) != 3+3+1+3 {
		t.Fatalf("tagged holds %v scheduled, want 10", n)
	}
	if err := s.CancelScheduledMessages(t.Context(), seqs, nil); err != nil {
		t.Fatalf("CancelScheduledMessages: %v", err)
	}
	for sub, want := range map[string][]string{
		"plain":  {"m3", "m4"},
		"tagged": {"m3", "m4", "m4", "m4"},
	} {
		if got := scheduledIn(t, c, sub); !slices.Equal(got, want) {
			t.Errorf("%s holds %v after the cancel, want %v", sub, got, want)
		}
	}
	if err := s.CancelScheduledMessages(t.Context(), append(kept, more...), nil); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"plain", "tagged"} {
		if got := scheduledIn(t, c, sub); len(got) != 0 {
			t.Errorf("%s holds %v after cancelling all", sub, got)
		}
	}
}

// scheduledIn peeks subscription sub's scheduled messages: their ids, in order, after
// checking that the broker's copy mark is not shown.
func scheduledIn(t *testing.T, c *azservicebus.Client, sub string) []string {
	t.Helper()
	r, err := c.NewReceiverForSubscription("events", sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	ms, err := r.PeekMessages(t.Context(), 50, &azservicebus.PeekMessagesOptions{FromSequenceNumber: new(int64)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		for k := range m.RawAMQPMessage.MessageAnnotations {
			if strings.Contains(fmt.Sprint(k), "lanyard") {
				t.Fatalf("%s's message %s shows the annotation %v", sub, m.MessageID, k)
			}
		}
		if m.State == azservicebus.MessageStateScheduled {
			out = append(out, m.MessageID)
		}
	}
	return out
}
