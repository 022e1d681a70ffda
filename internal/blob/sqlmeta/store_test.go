package sqlmeta

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// The SQL stores the blob metadata lives in, as sqlstore's own tests open them.

func openSQLite(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), path)
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

func openPostgres(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(t.Context(), dsn)
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
