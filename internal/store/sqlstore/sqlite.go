package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var sqliteDialect = &dialect{
	name:                  "sqlite",
	driver:                "sqlite",
	blobType:              "BLOB",
	bytewise:              "COLLATE BINARY",
	serializeWrites:       true,
	isUniqueViolation:     sqliteCode(sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY),
	isForeignKeyViolation: sqliteCode(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY),
}

// OpenSQLite opens the SQLite database at path, creating it with mode 0600 if it does not
// exist, and brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sqlite path %q: %w", path, err)
	}
	// Create the file ourselves: SQLite would use the umask, and its -wal and -shm files
	// take the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlstore: create %s: %w", abs, err)
	}

	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL") // a committed write survives power loss, not only a crash
	q.Set("_foreign_keys", "1")
	// The audit trail appends rows at request rate, and every committed page is written
	// twice (to the WAL, then by the checkpoint), one system call each: pages four times
	// SQLite's default make that many fewer. The driver applies this before journal_mode,
	// so it takes on a new database; on an existing one it changes nothing.
	q.Add("_pragma", "page_size(16384)")
	// A multi-row INSERT keeps a statement journal so that it can be undone alone; in
	// memory rather than a temporary file, which would cost a system call per page.
	q.Add("_pragma", "temp_store(memory)")
	// Other processes (a backup, a second server by mistake) can still hold the lock; wait
	// for them rather than fail.
	q.Set("_busy_timeout", "10000")
	// BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and
	// then writes can fail with SQLITE_BUSY without waiting when another one got there first.
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()

	return open(ctx, sqliteDialect, dsn)
}

func sqliteCode(codes ...int) func(error) bool {
	return func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		for _, c := range codes {
			if e.Code() == c {
				return true
			}
		}
		return false
	}
}
