package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// migrationLockKey names the advisory lock held while migrating; any constant will do as
// long as nothing else in the database uses it.
const migrationLockKey int64 = 0x6c616e7961726401 // "lanyard" + 1

var postgresDialect = &dialect{
	name:                  "postgres",
	driver:                "pgx",
	blobType:              "BYTEA",
	bytewise:              `COLLATE "C"`,
	numbered:              true,
	rowLocks:              true,
	rowVersion:            "xmin",
	isUniqueViolation:     pgCode("23505"),
	isForeignKeyViolation: pgCode("23503"),
	isUnavailable:         pgUnavailable,
	lockMigrations:        pgAdvisoryLock,
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or key=value string,
// as pgx accepts) and brings its schema up to date. Tables are created in the connection's
// search_path.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	s, err := open(ctx, postgresDialect, dsn)
	if err != nil {
		return nil, err
	}
	s.dsn = dsn
	if err := installPostgresObjects(ctx, s.db); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// installPostgresObjects creates (or replaces) what is not in the migrations because it is
// PostgreSQL's alone: the change triggers and the blob owner functions.
func installPostgresObjects(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: install: %w", err)
	}
	defer conn.Close()
	unlock, err := pgAdvisoryLock(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	if err := installChangeTriggers(ctx, conn); err != nil {
		return err
	}
	return installBlobOwnerFunctions(ctx, conn)
}

// BlobOwnerLockClass is the first key of the advisory lock a node holds while it owns the
// blob metadata (see package blob/sqlmeta); the second is hashtext(current_schema()), so
// that Lanyards in different schemas of one database do not meet. lanyard_blob_permit
// takes it shared.
const BlobOwnerLockClass = 0x6c616e79 // "lany"

// NowMicrosSQL is the database's clock in microseconds since the epoch, as the lease in
// blob_cache_owner counts it.
const NowMicrosSQL = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"

// installBlobOwnerFunctions creates the function that guards the writes of a node that is
// not the owner of the blob metadata (see package blob/sqlmeta); conn holds the migration
// lock.
func installBlobOwnerFunctions(ctx context.Context, conn *sql.Conn) error {
	// Each statement in a volatile function takes a new snapshot: the lease is read after
	// the lock is granted.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE FUNCTION lanyard_blob_permit() RETURNS BIGINT AS $$
DECLARE left_us BIGINT;
BEGIN
	IF NOT pg_try_advisory_xact_lock_shared(%d, hashtext(current_schema())) THEN
		RETURN -1;
	END IF;
	SELECT until - %s INTO left_us FROM blob_cache_owner WHERE id = 1;
	RETURN GREATEST(COALESCE(left_us, 0), 0);
END $$ LANGUAGE plpgsql VOLATILE`, BlobOwnerLockClass, NowMicrosSQL)); err != nil {
		return fmt.Errorf("sqlstore: blob owner function: %w", err)
	}
	return nil
}

// pgUnavailable reports the errors of a database that cannot be reached: connection
// failures, connections cut by the server, and the server refusing new ones.
func pgUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P05: the server is shutting down or
		// terminated this backend.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	return strings.Contains(err.Error(), "conn closed")
}

func pgCode(code string) func(error) bool {
	return func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == code
	}
}

// pgAdvisoryLock makes processes that start together migrate one after the other; each
// then finds the work done.
func pgAdvisoryLock(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("sqlstore: take migration lock: %w", err)
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			// A pooled connection must not keep the lock: drop it instead, and the
			// server releases the lock with the session.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}
