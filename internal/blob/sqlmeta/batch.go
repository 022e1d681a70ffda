package sqlmeta

import (
	"context"
	"strings"
	"sync"
	"time"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// insertBatcher groups the blob rows the owner creates at the same time (the guesses of
// updateBlobUnlocked) into one INSERT, committed once: one round trip and one WAL flush
// for all of them instead of one each. A worker takes the first row waiting and every
// other waiting then, up to insertBatchMax; rows that arrive meanwhile wait for the next
// worker. Nothing waits for a batch to fill.
type insertBatcher struct {
	s    sqlDB
	rows chan *insertRow
	quit chan struct{}
	wg   sync.WaitGroup
}

type insertRow struct {
	k    blobs.BlobKey
	vals []any // blobEntryArgs
	c    entryCond
	done chan insertResult
}

type insertResult struct {
	version  string // the new row's
	inserted bool
	err      error
}

const (
	insertBatchMax     = 64
	insertBatchWorkers = 2
	// insertBatchTimeout bounds a batch. Its rows wait for it whatever their callers'
	// contexts say: a caller that gave up on a row that then committed would release
	// content the row references.
	insertBatchTimeout = 30 * time.Second
)

func newInsertBatcher(s sqlDB) *insertBatcher {
	b := &insertBatcher{s: s, rows: make(chan *insertRow), quit: make(chan struct{})}
	for range insertBatchWorkers {
		b.wg.Go(b.work)
	}
	return b
}

// insert creates k's row of values vals (its blobEntryArgs), as insertBlobEntry with a
// guard does: it reports whether it did (not when the row exists or the guard failed, nor
// when the batch held another row of k or a row under another guard), or fails as the
// whole batch failed.
func (b *insertBatcher) insert(k blobs.BlobKey, vals []any, c entryCond) (ver string, inserted bool, err error) {
	r := &insertRow{k: k, vals: vals, c: c, done: make(chan insertResult, 1)}
	select {
	case b.rows <- r:
		res := <-r.done
		return res.version, res.inserted, res.err
	case <-b.quit:
		return "", false, errBlobMetaClosed
	}
}

func (b *insertBatcher) close() {
	close(b.quit)
	b.wg.Wait()
}

func (b *insertBatcher) work() {
	batch := make([]*insertRow, 0, insertBatchMax)
	for {
		select {
		case r := <-b.rows:
			batch = append(batch[:0], r)
		case <-b.quit:
			return
		}
	more:
		for len(batch) < insertBatchMax {
			select {
			case r := <-b.rows:
				batch = append(batch, r)
			default:
				break more
			}
		}
		for r, res := range b.run(batch) {
			r.done <- res
		}
	}
}

// blobEntryTypes are the column types of blob_entries in blobEntryInsert's order: the
// first row of a VALUES list carries them, and PostgreSQL types the others alike.
var blobEntryTypes = []string{"TEXT", "TEXT", "TEXT", "BOOLEAN", "BIGINT", "BYTEA", "BYTEA", "BYTEA", "BYTEA", "BYTEA",
	"BYTEA", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "INTEGER", "TEXT", "TEXT", "TEXT"}

// run inserts the rows of batch that share the first row's guard, one per key, and
// returns each row's result; the others are reported not inserted.
func (b *insertBatcher) run(batch []*insertRow) map[*insertRow]insertResult {
	results := make(map[*insertRow]insertResult, len(batch))
	byKey := make(map[blobs.BlobKey]*insertRow, len(batch))
	var q strings.Builder
	q.WriteString(strings.SplitN(blobEntryInsert, "VALUES", 2)[0])
	q.WriteString("SELECT v.* FROM (VALUES ")
	var args []any
	for _, r := range batch {
		results[r] = insertResult{}
		if byKey[r.k] != nil || !sameGuard(r.c, batch[0].c) {
			continue
		}
		if len(byKey) > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for i := range blobEntryTypes {
			if i > 0 {
				q.WriteString(", ")
			}
			if len(byKey) == 0 {
				q.WriteString("CAST(? AS " + blobEntryTypes[i] + ")")
			} else {
				q.WriteByte('?')
			}
		}
		q.WriteByte(')')
		args = append(append(args, r.k.Account, r.k.Container, r.k.Name), r.vals...)
		byKey[r.k] = r
	}
	q.WriteString(") AS v WHERE " + batch[0].c.guard + " ON CONFLICT (account, container, name) DO NOTHING RETURNING account, container, name, CAST(" + b.s.h.RowVersion() + " AS TEXT)")
	args = append(args, batch[0].c.args...)

	ctx, cancel := context.WithTimeout(context.Background(), insertBatchTimeout)
	defer cancel()
	fail := func(err error) map[*insertRow]insertResult {
		if b.s.h.IsForeignKeyViolation(err) {
			// A container is gone, the error does not say whose; nothing was inserted,
			// and each row's caller finds out on its own.
			return results
		}
		for _, r := range byKey {
			results[r] = insertResult{err: err}
		}
		return results
	}
	rows, err := b.s.query(ctx, q.String(), args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k blobs.BlobKey
		var ver string
		if err := rows.Scan(&k.Account, &k.Container, &k.Name, &ver); err != nil {
			return fail(err)
		}
		if r := byKey[k]; r != nil {
			results[r] = insertResult{version: ver, inserted: true}
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return results
}

func sameGuard(a, b entryCond) bool {
	if a.guard != b.guard || len(a.args) != len(b.args) {
		return false
	}
	for i := range a.args {
		if a.args[i] != b.args[i] {
			return false
		}
	}
	return true
}
