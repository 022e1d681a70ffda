package sqlstore

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/storetest"
)

// postgresDSN returns a DSN for a new, empty schema of the database named by
// LANYARD_TEST_POSTGRES, dropped when t ends.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LANYARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("LANYARD_TEST_POSTGRES is not set; set it to a PostgreSQL DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable, to run the PostgreSQL tests")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "lanyard_test_" + hex.EncodeToString(b)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// withSearchPath points the sessions of dsn at schema, in either DSN syntax pgx accepts.
func withSearchPath(t *testing.T, dsn, schema string) string {
	opt := "-csearch_path=" + schema
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("LANYARD_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set("options", strings.TrimSpace(q.Get("options")+" "+opt))
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " options='" + opt + "'"
}

func openPostgres(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestPostgres(t *testing.T) {
	postgresDSN(t) // skip early, before any subtest, when there is no database
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, postgresDSN(t))
	})
}

// Processes starting together on a new database migrate it exactly once.
func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := postgresDSN(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = OpenPostgres(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("OpenPostgres %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	ms, err := loadMigrations(postgresDialect)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := stores[0].db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", rows, len(ms))
	}
}
