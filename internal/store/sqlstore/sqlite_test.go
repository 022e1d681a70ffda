package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/storetest"
)

func openSQLite(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db"))
	})
}

func TestSQLiteSettings(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db"))
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "page_size": "16384", "temp_store": "2"}
	for pragma, v := range want {
		// Every pooled connection must carry them, so ask more than one.
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			c, err := s.db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != v {
				t.Errorf("PRAGMA %s = %s on connection %d, want %s", pragma, got, i, v)
			}
		}
	}
}

func TestSQLiteFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanyard.db")
	s := openSQLite(t, path)
	if err := s.PutSetting(t.Context(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// Reopening finds the data and does not migrate again.
func TestSQLiteReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, lanyard.ResourceGroup{Name: "rg"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSQLite(t, path)
	if _, err := s.GetGroup(ctx, "RG"); err != nil {
		t.Errorf("GetGroup after reopen: %v", err)
	}
	ms, err := loadMigrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

// A database migrated by a newer build is refused rather than written to.
func TestSQLiteNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99999, 'future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := OpenSQLite(ctx, path); err == nil {
		s.Close()
		t.Fatal("OpenSQLite accepted a database from a newer build")
	}
}

// Two stores on one file stand for two processes: their writers queue on SQLite's lock
// (busy_timeout, BEGIN IMMEDIATE) instead of failing with SQLITE_BUSY or losing updates.
func TestSQLiteTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	id := lanyard.Identity{PrincipalID: "p", ClientID: "c", Kind: lanyard.UserAssigned, ResourceID: "/r", Tags: map[string]string{"n": "0"}}
	if err := a.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	const per = 20
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for range per {
				if _, err := s.UpdateIdentity(ctx, "p", increment); err != nil {
					t.Errorf("UpdateIdentity: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := b.GetIdentity(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if got.Tags["n"] != strconv.Itoa(4*per) {
		t.Errorf("n = %s after %d updates", got.Tags["n"], 4*per)
	}
}

func increment(id lanyard.Identity) (lanyard.Identity, error) {
	n, err := strconv.Atoi(id.Tags["n"])
	if err != nil {
		return id, err
	}
	id.Tags = map[string]string{"n": strconv.Itoa(n + 1)}
	return id, nil
}

// A writer waiting its turn gives up when its context ends.
func TestSQLiteWriterWaitHonoursContext(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db"))
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(t.Context(), func(tx store.Store) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutSetting(ctx, "x", nil); err == nil {
		t.Error("PutSetting with a cancelled context succeeded while another transaction held the writer")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
