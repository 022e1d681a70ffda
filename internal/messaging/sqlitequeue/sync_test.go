package sqlitequeue

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// A commit that only takes, renews or gives back locks skips the fsync
// (synchronous=NORMAL); every other commit, and so every durable change, syncs (FULL).
func TestOnlyLockCommitsSkipTheSync(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := messaging.Queue{Namespace: "n", Name: "q", LockDuration: time.Minute, MaxDeliveryCount: 5}
	// The writer's one connection: asked between batches, it reports the level the last
	// batch committed with.
	level := func() string {
		t.Helper()
		var v int
		if err := s.write.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return map[int]string{0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[v]
	}
	if got := level(); got != "FULL" {
		t.Fatalf("a new store commits with synchronous=%s, want FULL", got)
	}
	msgs := make([]messaging.Message, 3)
	for i := range msgs {
		msgs[i] = messaging.Message{Raw: []byte{0x00, 0x53, 0x77, 0xa1, 0x01, 'x'}}
	}
	var locked []messaging.Stored
	for _, c := range []struct {
		name string
		do   func() error
		want string
	}{
		{"send", func() error { _, err := s.Send(t.Context(), q, msgs); return err }, "FULL"},
		{"receive (peek-lock)", func() error {
			locked, err = s.Receive(t.Context(), q, messaging.Active, messaging.PeekLock, 2)
			return err
		}, "NORMAL"},
		{"renew lock", func() error {
			_, err := s.RenewLock(t.Context(), q, messaging.Active, []messaging.LockToken{locked[0].LockToken})
			return err
		}, "NORMAL"},
		{"complete", func() error { return s.Complete(t.Context(), q, messaging.Active, locked[0].LockToken) }, "FULL"},
		{"release", func() error { return s.Release(t.Context(), q, messaging.Active, locked[1].LockToken) }, "NORMAL"},
		{"receive and delete", func() error {
			_, err := s.Receive(t.Context(), q, messaging.Active, messaging.ReceiveAndDelete, 1)
			return err
		}, "FULL"},
		{"receive (peek-lock) again", func() error {
			locked, err = s.Receive(t.Context(), q, messaging.Active, messaging.PeekLock, 1)
			return err
		}, "NORMAL"},
		{"abandon", func() error { return s.Abandon(t.Context(), q, messaging.Active, locked[0].LockToken, nil) }, "FULL"},
	} {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := level(); got != c.want {
			t.Errorf("%s committed with synchronous=%s, want %s", c.name, got, c.want)
		}
	}
}
