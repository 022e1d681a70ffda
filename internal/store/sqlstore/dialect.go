package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// dialect is everything that differs between the engines. Queries are written once, with
// ? placeholders and SQL both engines accept (upserts use ON CONFLICT ... DO UPDATE, which
// both understand); what is left is listed here.
type dialect struct {
	name   string
	driver string // database/sql driver name
	// blobType replaces {{blob}} in migrations.
	blobType string
	// bytewise replaces {{bytewise}} in migrations: the collation clause under which text
	// compares and sorts bytewise (case-sensitive names, UTF-8 byte order).
	bytewise string
	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool
	// rowLocks: reads made to update a row take a row lock (SELECT ... FOR UPDATE OF).
	// SQLite has none; there a write transaction already excludes every other writer.
	rowLocks bool
	// rowVersion names a system column that changes with every write of a row and that a
	// statement can compare (as text) to a value read before: PostgreSQL's xmin. Empty
	// where there is none.
	rowVersion string
	// serializeWrites admits one write transaction at a time in this process, so writers
	// queue on a channel rather than on SQLite's file lock, where they could fail with
	// SQLITE_BUSY.
	serializeWrites       bool
	isUniqueViolation     func(error) bool
	isForeignKeyViolation func(error) bool
	// isUnavailable reports errors that mean the database cannot be reached right now.
	isUnavailable func(error) bool
	// lockMigrations, when set, holds off other processes while conn migrates the schema.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
}

// rebind rewrites ? placeholders for the engine. Queries in this package never carry a ?
// inside a literal, so a plain scan is enough.
func (d *dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lockRows returns the clause that locks the rows of table alias read for an update.
func (d *dialect) lockRows(alias string) string {
	if !d.rowLocks {
		return ""
	}
	return " FOR UPDATE OF " + alias
}
