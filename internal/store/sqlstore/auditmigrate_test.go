package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Events written one row each, before migration 6, are moved into segments unchanged,
// on both engines.
func TestAuditSegmentsMigration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		testAuditSegmentsMigration(t, sqliteDialect, "file:"+path, func(ctx context.Context) (*Store, error) { return OpenSQLite(ctx, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		testAuditSegmentsMigration(t, postgresDialect, dsn, func(ctx context.Context) (*Store, error) { return OpenPostgres(ctx, dsn) })
		s := openPostgres(t, dsn)
		var method string
		if err := s.db.QueryRowContext(t.Context(), `SELECT attcompression FROM pg_attribute
		WHERE attrelid = 'audit_segments'::regclass AND attname = 'events'`).Scan(&method); err != nil || method != "l" {
			t.Errorf("segments are compressed with %q (%v), want lz4 (l)", method, err)
		}
	})
}

func testAuditSegmentsMigration(t *testing.T, d *dialect, dsn string, open func(context.Context) (*Store, error)) {
	ctx := t.Context()
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrateTo(ctx, db, d, 5); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2031, 1, 2, 3, 4, 5, 678901000, time.UTC)
	var old []lanyard.AuditEvent
	for i := range 5 {
		e := lanyard.AuditEvent{Seq: int64(i + 1), ID: fmt.Sprintf("ev-%d", i), Time: base.Add(time.Duration(i) * time.Second),
			Kind: "access.decision", RequestID: fmt.Sprintf("req-%d", i), PrincipalID: "Principal-A", ClientID: "client-a",
			Action: "Microsoft.Storage/x/read", Decision: "allowed", TokenID: "uti-1",
			Details: []byte(fmt.Sprintf(`{"n":%d,"text":"<quoted \"é\">"}`, i)), PrevHash: fmt.Sprintf("h%d", i), Hash: fmt.Sprintf("h%d", i+1)}
		if i == 3 {
			continue // a gap someone made stays a gap
		}
		if _, err := db.ExecContext(ctx, d.rebind(`INSERT INTO audit_events (seq, id, time, kind, request_id, principal_id, principal_key,
		client_id, client_key, action, action_key, decision, token_id, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			e.Seq, e.ID, micros(e.Time), e.Kind, e.RequestID, e.PrincipalID, key(e.PrincipalID), e.ClientID, key(e.ClientID),
			e.Action, key(e.Action), e.Decision, e.TokenID, string(e.Details), e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		old = append(old, e)
	}
	if _, err := db.ExecContext(ctx, "UPDATE audit_head SET seq = 5, hash = 'h5'"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(old) {
		t.Fatalf("%d events after the migration, want %d", len(got), len(old))
	}
	for i := range old {
		g, w := got[i], old[i]
		if !g.Time.Equal(w.Time) || string(g.Details) != string(w.Details) {
			t.Errorf("event %d: time %v details %s, want %v %s", i, g.Time, g.Details, w.Time, w.Details)
		}
		g.Time, w.Time, g.Details, w.Details = time.Time{}, time.Time{}, nil, nil
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("event %d after the migration:\n%+v\nwant\n%+v", i, g, w)
		}
	}
	// The keys were made: filters find the moved events.
	byPrincipal, err := s.ListAuditEvents(ctx, lanyard.AuditFilter{Principal: "principal-a", Action: "microsoft.storage/*/read", TokenID: "uti-1"})
	if err != nil || len(byPrincipal) != len(old) {
		t.Errorf("filtered list after the migration: %d events, %v", len(byPrincipal), err)
	}
	if _, err := s.GetAuditEvent(ctx, "ev-2"); err != nil {
		t.Errorf("GetAuditEvent after the migration: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events").Scan(&n); err == nil {
		t.Errorf("audit_events still exists with %d rows", n)
	}
}
