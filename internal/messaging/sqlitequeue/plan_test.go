package sqlitequeue

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Each of Receive's and settlement's statements reads through the index made for it, so
// that its cost does not grow with the messages a queue holds (locked ones included).
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const expired = "namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 0 AND expires_at > 0 AND expires_at <= 5"
	for _, c := range []struct{ query, want string }{
		{`SELECT m.id, ` + storedColumns + ` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = 'n' AND m.queue = 'q' AND m.sub = 0 AND m.state = 0 ORDER BY m.seq LIMIT 10`, "messages_available"},
		{"UPDATE messages SET state = 0 WHERE namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 1 AND locked_until <= 5", "messages_locks"},
		{"UPDATE messages SET sub = 1 WHERE " + expired, "messages_expiry"},
		{"UPDATE messages SET state = 0 WHERE namespace = 'n' AND queue = 'q' AND state = 2 AND enqueued_at <= 5", "messages_scheduled"},
		{"UPDATE messages SET state = 3 WHERE namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 4 AND locked_until <= 5", "messages_deferred_locks"},
		{"DELETE FROM message_ids WHERE namespace = 'n' AND queue = 'q' AND seen_at <= 5", "message_ids_by_time"},
		{"SELECT id, delivery_count, state FROM messages WHERE lock_token = x'00' AND namespace = 'n' AND queue = 'q' AND sub = 0 AND state IN (1, 4) AND locked_until > 5", "messages_by_token"},
		{"DELETE FROM messages WHERE " + expired, "messages_expiry"},
		{"SELECT id FROM messages WHERE lock_token = x'00' AND namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 1 AND locked_until > 5", "messages_by_token"},
		{`SELECT ` + storedColumns + ` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = 'n' AND m.queue = 'q' AND m.sub = 1 AND m.seq >= 3 ORDER BY m.seq LIMIT 10`, "messages_by_seq"},
		{`SELECT m.id, ` + storedColumns + ` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = 'n' AND m.queue = 'q' AND m.session_id = 's' AND m.sub = 0 AND m.state = 0 ORDER BY m.seq LIMIT 10`, "messages_sessions"},
	} {
		rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+c.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		t.Log(p)
		if !strings.Contains(p, c.want) || strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN m ") ||
			strings.HasPrefix(p, "SCAN messages") {
			t.Errorf("plan of %q:\n%s\nwant a search through %s", c.query, p, c.want)
		}
	}
}

// A database of schema version 1 is migrated, its messages kept.
func TestMigrateFromVersion1(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{schemaV1, "PRAGMA user_version = 1",
		"INSERT INTO queues VALUES ('n', 'q', 1)",
		"INSERT INTO messages VALUES (1, 'n', 'q', 0, 1, 0, NULL, 0, 0, 1, 0, 'id', '', '')",
		"INSERT INTO bodies VALUES (1, x'61')"} {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := messaging.Queue{Namespace: "n", Name: "q", LockDuration: time.Minute, MaxDeliveryCount: 1, DuplicateDetectionWindow: time.Minute}
	seqs, err := s.Send(t.Context(), q, []messaging.Message{{Raw: []byte("b"), MessageID: "x"}, {Raw: []byte("c"), MessageID: "x"}})
	if err != nil || seqs[0] != 2 || seqs[1] != 0 {
		t.Fatalf("Send after migration: %v, %v", seqs, err)
	}
	got, err := s.Receive(t.Context(), q, messaging.Active, messaging.ReceiveAndDelete, 10)
	if err != nil || len(got) != 2 || string(got[0].Raw) != "a" {
		t.Fatalf("Receive after migration: %+v, %v", got, err)
	}
}

// A database of schema version 2 (before sessions) is migrated at Open: its messages
// belong to no session, and sessions work on it.
func TestMigrateFromVersion2(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{schemaV1, schemaV2, "PRAGMA user_version = 2",
		"INSERT INTO queues VALUES ('n', 'q', 1)",
		"INSERT INTO messages VALUES (1, 'n', 'q', 0, 1, 0, NULL, 0, 0, 1, 0, 'id', '', '')",
		"INSERT INTO bodies VALUES (1, x'61')"} {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := messaging.Queue{Namespace: "n", Name: "q", LockDuration: time.Minute, MaxDeliveryCount: 1}
	if _, err := s.AcceptNextSession(t.Context(), q); !errors.Is(err, messaging.ErrNoSessionAvailable) {
		t.Fatalf("AcceptNextSession with only an old message: %v", err)
	}
	seqs, err := s.Send(t.Context(), q, []messaging.Message{{Raw: []byte("b"), SessionID: "s"}})
	if err != nil || seqs[0] != 2 {
		t.Fatalf("Send after migration: %v, %v", seqs, err)
	}
	l, err := s.AcceptNextSession(t.Context(), q)
	if err != nil || l.SessionID != "s" {
		t.Fatalf("AcceptNextSession after migration: %+v, %v", l, err)
	}
	got, err := s.ReceiveSession(t.Context(), q, l, messaging.ReceiveAndDelete, 10)
	if err != nil || len(got) != 1 || string(got[0].Raw) != "b" {
		t.Fatalf("ReceiveSession after migration: %+v, %v", got, err)
	}
}
