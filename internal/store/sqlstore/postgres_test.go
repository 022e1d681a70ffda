package sqlstore

import (
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
	"github.com/lanyard-id/lanyard/internal/store/storetest"
)

// postgresDSN is a schema of its own in LANYARD_TEST_POSTGRES's database (sqltest).
func postgresDSN(t *testing.T) string { return sqltest.PostgresDSN(t) }

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
