package servicebus

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	goamqp "github.com/Azure/go-amqp"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func (b *broker) counts(t *testing.T, queue string) (active, scheduled int64) {
	t.Helper()
	b.entities.mu.Lock()
	q := b.entities.queues[queue]
	b.entities.mu.Unlock()
	c, err := b.store.Counts(t.Context(), QueueOf(q))
	if err != nil {
		t.Fatal(err)
	}
	return c.Active, c.Scheduled
}

// TestScheduleMessages: ScheduleMessages answers sequence numbers; a scheduled message is
// peeked as scheduled and counted so until its time, then arrives, enqueued at that
// time; CancelScheduledMessages removes one; SendMessage with ScheduledEnqueueTime
// schedules too.
func TestScheduleMessages(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	s, err := c.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	far := time.Now().Add(time.Hour)
	seqs, err := s.ScheduleMessages(t.Context(), []*azservicebus.Message{{Body: []byte("far-1")}, {Body: []byte("far-2")}}, far, nil)
	if err != nil || len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("ScheduleMessages: %v %v", seqs, err)
	}
	near := time.Now().Add(1500 * time.Millisecond)
	if err := s.SendMessage(t.Context(), &azservicebus.Message{Body: []byte("near"), ScheduledEnqueueTime: &near}, nil); err != nil {
		t.Fatal(err)
	}
	if active, scheduled := b.counts(t, "orders"); active != 0 || scheduled != 3 {
		t.Fatalf("counts: active %d, scheduled %d", active, scheduled)
	}
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	peeked, err := r.PeekMessages(t.Context(), 10, nil)
	if err != nil || len(peeked) != 3 {
		t.Fatalf("peek: %d %v", len(peeked), err)
	}
	for _, m := range peeked {
		if m.State != azservicebus.MessageStateScheduled || m.ScheduledEnqueueTime == nil {
			t.Fatalf("peeked %d: state %v, scheduled %v", *m.SequenceNumber, m.State, m.ScheduledEnqueueTime)
		}
	}
	if err := s.CancelScheduledMessages(t.Context(), seqs[:1], nil); err != nil {
		t.Fatalf("CancelScheduledMessages: %v", err)
	}
	if err := s.CancelScheduledMessages(t.Context(), seqs[:1], nil); err != nil {
		t.Fatalf("CancelScheduledMessages again: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got, err := r.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("receive the near message: %v %v", got, err)
	}
	m := got[0]
	if string(m.Body) != "near" || *m.SequenceNumber != 3 || m.State != azservicebus.MessageStateActive {
		t.Fatalf("received %q seq %d state %v", m.Body, *m.SequenceNumber, m.State)
	}
	if time.Now().Before(near) || m.EnqueuedTime == nil || m.EnqueuedTime.Before(near.Truncate(time.Millisecond)) {
		t.Fatalf("received at %v, enqueued %v: before its time %v", time.Now(), m.EnqueuedTime, near)
	}
	if err := r.CompleteMessage(t.Context(), m, nil); err != nil {
		t.Fatal(err)
	}
	if active, scheduled := b.counts(t, "orders"); active != 0 || scheduled != 1 {
		t.Fatalf("counts after: active %d, scheduled %d", active, scheduled)
	}
}

// TestDeferMessages: DeferMessage takes a message out of what receivers get;
// ReceiveDeferredMessages returns it locked, with a lock token that renews, abandons
// (it stays deferred) and completes it through $management; a receive-and-delete
// receiver takes deferred messages away.
func TestDeferMessages(t *testing.T) {
	b := newBroker(t, nil)
	b.entities.mu.Lock()
	q := b.entities.queues["orders"]
	q.LockDuration = time.Minute // longer than the waits for messages that must not come
	b.entities.queues["orders"] = q
	b.entities.mu.Unlock()
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	sendN(t, c, "orders", "a", "b", "c")
	r, err := c.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	first := receive(t, r, 3)
	if len(first) != 3 {
		t.Fatalf("received %d", len(first))
	}
	for _, m := range first[:2] {
		if err := r.DeferMessage(t.Context(), m, nil); err != nil {
			t.Fatalf("DeferMessage: %v", err)
		}
	}
	if err := r.CompleteMessage(t.Context(), first[2], nil); err != nil {
		t.Fatal(err)
	}
	if more := receive(t, r, 1); len(more) != 0 {
		t.Fatalf("a deferred message was received: %q", more[0].Body)
	}
	if active, _ := b.counts(t, "orders"); active != 2 {
		t.Fatalf("active %d, want the 2 deferred", active)
	}

	deferred, err := r.ReceiveDeferredMessages(t.Context(), []int64{2, 1}, nil)
	if err != nil || len(deferred) != 2 {
		t.Fatalf("ReceiveDeferredMessages: %v %v", deferred, err)
	}
	if string(deferred[0].Body) != "b" || string(deferred[1].Body) != "a" {
		t.Fatalf("deferred bodies %q %q", deferred[0].Body, deferred[1].Body)
	}
	for _, m := range deferred {
		if m.State != azservicebus.MessageStateDeferred || m.LockToken == [16]byte{} || m.LockedUntil == nil || m.DeliveryCount != 2 {
			t.Fatalf("deferred message %d: state %v token %x locked until %v deliveries %d", *m.SequenceNumber, m.State, m.LockToken, m.LockedUntil, m.DeliveryCount)
		}
	}
	if _, err := r.ReceiveDeferredMessages(t.Context(), []int64{1}, nil); err == nil || !strings.Contains(err.Error(), "status code 404") {
		t.Fatalf("ReceiveDeferredMessages of a locked message: %v", err)
	}
	before := *deferred[1].LockedUntil
	if err := r.RenewMessageLock(t.Context(), deferred[1], nil); err != nil || !deferred[1].LockedUntil.After(before.Add(-time.Millisecond)) {
		t.Fatalf("RenewMessageLock: %v", err)
	}
	if err := r.AbandonMessage(t.Context(), deferred[1], nil); err != nil {
		t.Fatalf("AbandonMessage: %v", err)
	}
	if more := receive(t, r, 1); len(more) != 0 {
		t.Fatalf("an abandoned deferred message was received: %q", more[0].Body)
	}
	if err := r.CompleteMessage(t.Context(), deferred[0], nil); err != nil {
		t.Fatalf("CompleteMessage of a deferred message: %v", err)
	}
	if err := r.CompleteMessage(t.Context(), deferred[0], nil); err == nil || sbCode(err) != string(azservicebus.CodeLockLost) {
		t.Fatalf("a second CompleteMessage: %v", err)
	}

	rd, err := c.NewReceiverForQueue("orders", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close(context.Background())
	taken, err := rd.ReceiveDeferredMessages(t.Context(), []int64{1}, nil)
	if err != nil || len(taken) != 1 || string(taken[0].Body) != "a" {
		t.Fatalf("ReceiveDeferredMessages, receive-and-delete: %v %v", taken, err)
	}
	if active, _ := b.counts(t, "orders"); active != 0 {
		t.Fatalf("active %d after all settled", active)
	}
}

// TestDuplicateDetection: on a queue that detects duplicates, a message id sent again
// within the window is accepted but not enqueued; a queue that does not keeps both.
func TestDuplicateDetection(t *testing.T) {
	b := newBroker(t, nil)
	q := lanyard.NewServiceBusQueue("orders-ns", "dedup")
	q.RequiresDuplicateDetection, q.DuplicateDetectionHistoryTimeWindow = true, time.Hour
	b.entities.mu.Lock()
	b.entities.queues["dedup"] = q
	b.entities.mu.Unlock()
	b.auth.allow("app", actionSend)
	b.auth.allow("app", actionReceive)
	c := b.client(t, "app")
	for _, queue := range []string{"dedup", "orders"} {
		s, err := c.NewSender(queue, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		for _, id := range []string{"x", "y", "x"} {
			if err := s.SendMessage(t.Context(), &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
				t.Fatalf("send %s to %s: %v", id, queue, err)
			}
		}
		batch, err := s.NewMessageBatch(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"y", "z"} {
			if err := batch.AddMessage(&azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SendMessageBatch(t.Context(), batch, nil); err != nil {
			t.Fatalf("send a batch to %s: %v", queue, err)
		}
	}
	for queue, want := range map[string][]string{"dedup": {"x", "y", "z"}, "orders": {"x", "y", "x", "y", "z"}} {
		r, err := c.NewReceiverForQueue(queue, nil)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range receive(t, r, len(want)+1) {
			bodies = append(bodies, string(m.Body))
		}
		_ = r.Close(context.Background())
		if !slices.Equal(bodies, want) {
			t.Errorf("%s holds %v, want %v", queue, bodies, want)
		}
	}
}

// TestSchedulingNeedsSendAndDeferralReceive: schedule-message and
// cancel-scheduled-message need the send data action, receive-by-sequence-number the
// receive one; update-disposition defers.
func TestSchedulingNeedsSendAndDeferralReceive(t *testing.T) {
	b := newBroker(t, nil)
	b.auth.allow("reader", actionReceive)
	b.auth.allow("writer", actionSend)
	b.auth.allow("app", actionSend)
	sendN(t, b.client(t, "app"), "orders", "a")
	rpcAs := func(principal string) *rpc {
		_, sess := b.dial(t)
		if status, _ := putToken(t, newRPC(t, sess, "$cbs"), "jwt", "amqps://localhost/orders", "token-"+principal); status != 202 {
			t.Fatal(status)
		}
		return newRPC(t, sess, "orders/$management")
	}
	reader, writer := rpcAs("reader"), rpcAs("writer")
	schedule := map[string]any{"operation": "com.microsoft:schedule-message"}
	msg, _ := (&goamqp.Message{Data: [][]byte{[]byte("s")}, Annotations: goamqp.Annotations{"x-opt-scheduled-enqueue-time": time.Now().Add(time.Hour)}}).MarshalBinary()
	body := map[string]any{"messages": []any{map[string]any{"message-id": "m1", "message": msg}}}
	if status, _, _ := reader.call(t, schedule, body); status != 401 {
		t.Fatalf("schedule-message as a reader: %d", status)
	}
	status, desc, answer := writer.call(t, schedule, body)
	seqs, _ := answer.(map[string]any)["sequence-numbers"].([]int64)
	if status != 200 || !slices.Equal(seqs, []int64{2}) {
		t.Fatalf("schedule-message as a writer: %d %s %v", status, desc, answer)
	}
	cancel := map[string]any{"operation": "com.microsoft:cancel-scheduled-message"}
	if status, _, _ := reader.call(t, cancel, map[string]any{"sequence-numbers": seqs}); status != 401 {
		t.Fatalf("cancel-scheduled-message as a reader: %d", status)
	}
	if status, _, _ := writer.call(t, cancel, map[string]any{"sequence-numbers": "2"}); status != 400 {
		t.Fatalf("cancel-scheduled-message without numbers: %d", status)
	}
	if status, desc, _ := writer.call(t, cancel, map[string]any{"sequence-numbers": seqs}); status != 200 {
		t.Fatalf("cancel-scheduled-message as a writer: %d %s", status, desc)
	}
	if _, scheduled := b.counts(t, "orders"); scheduled != 0 {
		t.Fatalf("scheduled %d after the cancel", scheduled)
	}

	byNumber := map[string]any{"operation": "com.microsoft:receive-by-sequence-number"}
	peekLock := map[string]any{"sequence-numbers": []int64{1}, "receiver-settle-mode": uint32(1)}
	if status, _, _ := writer.call(t, byNumber, peekLock); status != 401 {
		t.Fatalf("receive-by-sequence-number as a writer: %d", status)
	}
	if status, _, _ := reader.call(t, byNumber, peekLock); status != 404 {
		t.Fatalf("receive-by-sequence-number of a message not deferred: %d", status)
	}
	// Lock message 1 on a link, defer it through update-disposition, take it by number.
	_, sess := b.dial(t)
	if status, _ := putToken(t, newRPC(t, sess, "$cbs"), "jwt", "amqps://localhost/orders", "token-reader"); status != 202 {
		t.Fatal(status)
	}
	recv, err := sess.NewReceiver(t.Context(), "orders", &goamqp.ReceiverOptions{SettlementMode: goamqp.ReceiverSettleModeSecond.Ptr(), Credit: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := recv.Receive(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := goamqp.UUID(dotNetOrder([16]byte(m.DeliveryTag)))
	deferIt := map[string]any{"disposition-status": "defered", "lock-tokens": []goamqp.UUID{tok}}
	if status, desc, _ := reader.call(t, map[string]any{"operation": "com.microsoft:update-disposition"}, deferIt); status != 200 {
		t.Fatalf("update-disposition defered: %d %s", status, desc)
	}
	status, desc, answer = reader.call(t, byNumber, peekLock)
	list, _ := answer.(map[string]any)["messages"].([]any)
	if status != 200 || len(list) != 1 {
		t.Fatalf("receive-by-sequence-number: %d %s %v", status, desc, answer)
	}
	entry := list[0].(map[string]any)
	lockToken, _ := entry["lock-token"].(goamqp.UUID)
	var got goamqp.Message
	if err := got.UnmarshalBinary(entry["message"].([]byte)); err != nil {
		t.Fatal(err)
	}
	if lockToken == (goamqp.UUID{}) || got.DeliveryAnnotations["x-opt-lock-token"] != lockToken ||
		got.Annotations["x-opt-sequence-number"] != int64(1) || got.Annotations["x-opt-message-state"] != int64(1) {
		t.Fatalf("the deferred message: lock-token %v, delivery annotations %v, annotations %v", lockToken, got.DeliveryAnnotations, got.Annotations)
	}
	complete := map[string]any{"disposition-status": "completed", "lock-tokens": []goamqp.UUID{lockToken}}
	if status, desc, _ := reader.call(t, map[string]any{"operation": "com.microsoft:update-disposition"}, complete); status != 200 {
		t.Fatalf("update-disposition completed: %d %s", status, desc)
	}
	if active, _ := b.counts(t, "orders"); active != 0 {
		t.Fatalf("active %d", active)
	}
}
