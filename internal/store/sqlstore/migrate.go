package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files, NNNN_what.sql, applied in order, each in its own
// transaction, and recorded in schema_migrations. A file is never edited once released;
// a change is a new file. {{blob}} stands for the engine's byte-string type, {{bytewise}}
// for the collation clause that orders text bytewise (see dialect.bytewise).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int64
	name    string
	sql     string
	// then, when set, runs after sql in the same transaction: for data that SQL alone
	// cannot move.
	then func(ctx context.Context, tx *Store) error
}

// migrationSteps are the program parts of migrations, by version.
var migrationSteps = map[int64]func(ctx context.Context, tx *Store) error{
	6: migrateAuditSegments,
}

func loadMigrations(d *dialect) ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 || path.Ext(e.Name()) != ".sql" {
			return nil, fmt.Errorf("sqlstore: migration %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: strings.NewReplacer("{{blob}}", d.blobType, "{{bytewise}}", d.bytewise).Replace(string(b)),
			then: migrationSteps[v]})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for v := range migrationSteps {
		if !slices.ContainsFunc(ms, func(m migration) bool { return m.version == v }) {
			return nil, fmt.Errorf("sqlstore: migration step %d has no migration file", v)
		}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate brings the schema of db up to date. Another process may be doing the same: on
// PostgreSQL an advisory lock queues them; on SQLite each transaction takes the write lock
// at BEGIN. Either way every migration checks, inside its transaction, whether it is done.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	return migrateTo(ctx, db, d, math.MaxInt64)
}

// migrateTo applies the migrations up to version last (tests start from old schemas).
func migrateTo(ctx context.Context, db *sql.DB, d *dialect, last int64) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()
	if d.lockMigrations != nil {
		unlock, err := d.lockMigrations(ctx, conn)
		if err != nil {
			return err
		}
		defer unlock()
	}

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`); err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	var newest sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("sqlstore: read schema version: %w", err)
	}
	if len(ms) > 0 && newest.Int64 > ms[len(ms)-1].version {
		// A newer binary has been here; running on would write rows it cannot read back.
		return fmt.Errorf("sqlstore: database schema version %d is newer than this build knows (%d)", newest.Int64, ms[len(ms)-1].version)
	}
	for _, m := range ms {
		if m.version > last {
			break
		}
		if err := applyMigration(ctx, conn, d, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, d *dialect, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, d.rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if n > 0 {
		return nil
	}
	// Without arguments both drivers run a script of several statements.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if m.then != nil {
		if err := m.then(ctx, &Store{d: d, q: tx, tx: &txState{}}); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlstore: record migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migration %s: commit: %w", m.name, err)
	}
	return nil
}
