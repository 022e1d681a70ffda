package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Accounts made before migration 17 read as Standard_LRS, what they were reported as,
// with every analytics setting off, on both engines.
func TestAccountSKUMigration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		testAccountSKUMigration(t, sqliteDialect, "file:"+path, func(ctx context.Context) (*Store, error) { return OpenSQLite(ctx, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		testAccountSKUMigration(t, postgresDialect, dsn, func(ctx context.Context) (*Store, error) { return OpenPostgres(ctx, dsn) })
	})
}

func testAccountSKUMigration(t *testing.T, d *dialect, dsn string, open func(context.Context) (*Store, error)) {
	ctx := t.Context()
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrateTo(ctx, db, d, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, d.rebind(`INSERT INTO storage_accounts (name_key, name, resource_group, resource_group_key, resource_id,
	location, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		"oldacct", "oldacct", "rg", "rg", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/oldacct",
		"westeurope", "{}", 1, 1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.GetStorageAccount(ctx, "oldacct")
	if err != nil {
		t.Fatal(err)
	}
	if a.SKU != lanyard.SKUStandardLRS || a.BlobAnalytics != (lanyard.BlobAnalytics{}) {
		t.Errorf("account made before migration 17: SKU %q, analytics %+v; want Standard_LRS, all off", a.SKU, a.BlobAnalytics)
	}
}
