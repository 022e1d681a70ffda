package pgqueue_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/messagingtest"
	"github.com/lanyard-id/lanyard/internal/messaging/pgqueue"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
)

// firstSchema is what the first version of pgqueue created, before scheduling, deferral
// and duplicate detection: kept here as it was, whatever the store's schema becomes.
const firstSchema = `
CREATE TABLE queue_counters (
	namespace TEXT COLLATE "C" NOT NULL,
	queue     TEXT COLLATE "C" NOT NULL,
	last_seq  BIGINT NOT NULL,
	PRIMARY KEY (namespace, queue)
);
CREATE TABLE queue_messages (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	namespace      TEXT COLLATE "C" NOT NULL,
	queue          TEXT COLLATE "C" NOT NULL,
	sub            SMALLINT NOT NULL,
	seq            BIGINT NOT NULL,
	state          SMALLINT NOT NULL,
	lock_token     BYTEA,
	locked_until   BIGINT NOT NULL,
	delivery_count INTEGER NOT NULL,
	enqueued_at    BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	message_id     TEXT NOT NULL,
	dl_reason      TEXT NOT NULL,
	dl_description TEXT NOT NULL,
	raw            BYTEA NOT NULL
);
CREATE UNIQUE INDEX queue_messages_by_seq ON queue_messages (namespace, queue, sub, seq);
CREATE INDEX queue_messages_available ON queue_messages (namespace, queue, sub, seq) WHERE state = 0;
CREATE INDEX queue_messages_locks ON queue_messages (namespace, queue, sub, locked_until) WHERE state = 1;
CREATE INDEX queue_messages_expiry ON queue_messages (namespace, queue, expires_at) WHERE sub = 0 AND state = 0 AND expires_at > 0;
CREATE UNIQUE INDEX queue_messages_by_token ON queue_messages (lock_token) WHERE lock_token IS NOT NULL;
`

// A database the first version created, with messages in it, is upgraded at Open: the
// old messages are kept and numbered on, and scheduling, deferral and duplicate
// detection work on it; opening it again changes nothing.
func TestUpgradeFromFirstSchema(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	clock := messagingtest.NewClock()
	now := clock.Now().UnixMicro()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), firstSchema); err != nil {
		t.Fatalf("create the first schema: %v", err)
	}
	// Message 1 available, message 2 locked by a receiver of the old version, until
	// after now.
	if _, err := conn.Exec(t.Context(), "INSERT INTO queue_counters VALUES ('ns1', 'q1', 2)"); err != nil {
		t.Fatalf("fill the first schema: %v", err)
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO queue_messages (namespace, queue, sub, seq, state, lock_token, locked_until, delivery_count,
	enqueued_at, expires_at, message_id, dl_reason, dl_description, raw) VALUES
	('ns1', 'q1', 0, 1, 0, NULL, 0, 0, $1, 0, 'old-1', '', '', 'old one'),
	('ns1', 'q1', 0, 2, 1, '\x000102030405060708090a0b0c0d0e0f', $2, 1, $1, 0, 'old-2', '', '', 'old two')`,
		now, now+time.Minute.Microseconds()); err != nil {
		t.Fatalf("fill the first schema: %v", err)
	}

	s := open(t, dsn, pgqueue.Options{Clock: clock.Now})
	open(t, dsn, pgqueue.Options{Clock: clock.Now}) // a second node: the upgrade is idempotent
	var ids bool
	if err := conn.QueryRow(t.Context(), "SELECT to_regclass('queue_message_ids') IS NOT NULL").Scan(&ids); err != nil || !ids {
		t.Fatalf("queue_message_ids after Open: %v, %v", ids, err)
	}

	q := messaging.Queue{Namespace: "ns1", Name: "q1", LockDuration: time.Minute, MaxDeliveryCount: 10,
		DuplicateDetectionWindow: time.Hour}
	if c, err := s.Counts(t.Context(), q); err != nil || c != (messaging.Counts{Active: 2}) {
		t.Fatalf("Counts of the old messages: %+v, %v", c, err)
	}
	// The old lock still holds, and settles.
	old := messaging.LockToken{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	if _, err := s.RenewLock(t.Context(), q, messaging.Active, []messaging.LockToken{old}); err != nil {
		t.Fatalf("RenewLock of a lock the old version took: %v", err)
	}

	seqs, err := s.Send(t.Context(), q, []messaging.Message{
		{Raw: []byte("new"), MessageID: "n"},
		{Raw: []byte("again"), MessageID: "n"},
		{Raw: []byte("later"), MessageID: "l", ScheduledAt: clock.Now().Add(time.Minute)},
	})
	if err != nil || len(seqs) != 3 || seqs[0] != 3 || seqs[1] != 0 || seqs[2] != 4 {
		t.Fatalf("Send on the upgraded database: %v, %v; want [3 0 4]", seqs, err)
	}
	got, err := s.Receive(t.Context(), q, messaging.Active, messaging.PeekLock, 10)
	if err != nil || len(got) != 2 || string(got[0].Raw) != "old one" || got[1].SequenceNumber != 3 {
		t.Fatalf("Receive on the upgraded database: %+v, %v", got, err)
	}
	if err := s.Defer(t.Context(), q, messaging.Active, got[0].LockToken, nil); err != nil {
		t.Fatalf("Defer an old message: %v", err)
	}
	if err := s.Defer(t.Context(), q, messaging.Active, old, nil); err != nil {
		t.Fatalf("Defer through a lock the old version took: %v", err)
	}
	if d, err := s.ReceiveDeferred(t.Context(), q, messaging.Active, messaging.ReceiveAndDelete, []int64{2, 1}); err != nil ||
		len(d) != 2 || string(d[0].Raw) != "old two" || string(d[1].Raw) != "old one" {
		t.Fatalf("ReceiveDeferred of the old messages: %+v, %v", d, err)
	}
	clock.Advance(time.Minute)
	if got, err := s.Receive(t.Context(), q, messaging.Active, messaging.ReceiveAndDelete, 10); err != nil ||
		len(got) != 2 || got[0].SequenceNumber != 3 || got[1].SequenceNumber != 4 {
		t.Fatalf("Receive once the lock expired and the scheduled time came: %+v, %v", got, err)
	}
	// Sessions work on the upgraded database; the old messages belong to none.
	if _, err := s.Send(t.Context(), q, []messaging.Message{{Raw: []byte("in s"), SessionID: "s"}}); err != nil {
		t.Fatalf("Send to a session on the upgraded database: %v", err)
	}
	l, err := s.AcceptNextSession(t.Context(), q)
	if err != nil || l.SessionID != "s" {
		t.Fatalf("AcceptNextSession on the upgraded database: %+v, %v", l, err)
	}
	if err := s.SetSessionState(t.Context(), q, l, []byte("st")); err != nil {
		t.Fatalf("SetSessionState on the upgraded database: %v", err)
	}
}
