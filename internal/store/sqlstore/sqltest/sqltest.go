// Package sqltest gives the tests of the SQL stores a PostgreSQL schema of their own, so
// that they run side by side in the database LANYARD_TEST_POSTGRES names.
package sqltest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresDSN returns a DSN for a new, empty schema of the database named by
// LANYARD_TEST_POSTGRES, dropped when tb ends; it skips tb when the variable is not set.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("LANYARD_TEST_POSTGRES")
	if base == "" {
		tb.Skip("LANYARD_TEST_POSTGRES is not set; set it to a PostgreSQL DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable, to run the PostgreSQL tests")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "lanyard_test_" + hex.EncodeToString(b)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open %s: %v", base, err)
	}
	tb.Cleanup(func() { admin.Close() })
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		// tb.Context is done by now.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, base, schema)
}

// withSearchPath points the sessions of dsn at schema, in either DSN syntax pgx accepts.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	opt := "-csearch_path=" + schema
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("LANYARD_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set("options", strings.TrimSpace(q.Get("options")+" "+opt))
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " options='" + opt + "'"
}
