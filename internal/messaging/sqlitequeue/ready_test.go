package sqlitequeue

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

var testQueue = messaging.Queue{Namespace: "ns", Name: "q", LockDuration: time.Minute, MaxDeliveryCount: 3}

// limitPages caps the database at its current size or lifts the cap, as a full
// disk would: writes that need another page fail.
func limitPages(t *testing.T, s *Store, capped bool) {
	t.Helper()
	limit := int64(1 << 30)
	if capped {
		if err := s.write.QueryRowContext(t.Context(), "PRAGMA page_count").Scan(&limit); err != nil {
			t.Fatal(err)
		}
	}
	var got int64
	if err := s.write.QueryRowContext(t.Context(), fmt.Sprintf("PRAGMA max_page_count = %d", limit)).Scan(&got); err != nil {
		t.Fatal(err)
	}
}

// Ready reports a write that failed for want of space, and recovers with the next write
// that succeeds, or without traffic, with the writer's own probe.
func TestReadyReportsFailedWrites(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	big := []messaging.Message{{Raw: bytes.Repeat([]byte{1}, 256<<10)}}
	if _, err := s.Send(ctx, testQueue, big); err != nil {
		t.Fatal(err)
	}

	fail := func(stored int64) {
		t.Helper()
		limitPages(t, s, true)
		_, err := s.Send(ctx, testQueue, big)
		if err == nil || errors.Is(err, messaging.ErrInvalid) {
			t.Fatalf("Send on a full database: %v", err)
		}
		if s.Ready() == nil {
			t.Fatal("Ready is nil after a failed write")
		}
		// What was stored is still there, and the failed send left nothing behind.
		if c, err := s.Counts(ctx, testQueue); err != nil || c.Active != stored {
			t.Fatalf("Counts after the failed write: %+v, %v", c, err)
		}
		limitPages(t, s, false)
	}

	fail(1)
	seqs, err := s.Send(ctx, testQueue, big)
	if err != nil {
		t.Fatalf("Send once there is room: %v", err)
	}
	if seqs[0] != 2 {
		t.Fatalf("sequence number after a failed send: %d, want 2", seqs[0])
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after a write succeeded: %v", err)
	}

	fail(2)
	deadline := time.Now().Add(30 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ready still failing %v after the disk recovered: %v", 30*time.Second, s.Ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Messages, locks, sequence numbers and dead-lettering survive a close and reopen.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := t.Context()
	s, err := Open(ctx, dir, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, testQueue, []messaging.Message{{Raw: []byte("a")}, {Raw: []byte("b")}, {Raw: []byte("c")}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Receive(ctx, testQueue, messaging.Active, messaging.PeekLock, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("Receive: %d, %v", len(got), err)
	}
	if err := s.Complete(ctx, testQueue, messaging.Active, got[0].LockToken); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, testQueue, got[1].LockToken, "r", "d", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err == nil {
		t.Fatal("Ready after Close is nil")
	}
	if _, err := s.Send(ctx, testQueue, []messaging.Message{{Raw: []byte("x")}}); err == nil {
		t.Fatal("Send after Close succeeded")
	}

	s, err = Open(ctx, dir, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The lock on c is still held across the restart.
	if err := s.Complete(ctx, testQueue, messaging.Active, got[2].LockToken); err != nil {
		t.Fatalf("Complete after reopening: %v", err)
	}
	dl, err := s.Receive(ctx, testQueue, messaging.DeadLetter, messaging.ReceiveAndDelete, 10)
	if err != nil || len(dl) != 1 || string(dl[0].Raw) != "b" || dl[0].DeadLetterReason != "r" {
		t.Fatalf("dead-letter queue after reopening: %+v, %v", dl, err)
	}
	seqs, err := s.Send(ctx, testQueue, []messaging.Message{{Raw: []byte("d")}})
	if err != nil || seqs[0] != 4 {
		t.Fatalf("Send after reopening: %v, %v", seqs, err)
	}
}
