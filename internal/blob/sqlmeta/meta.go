// Package sqlmeta is the blob.MetaStore in the SQL store's database (package sqlstore):
// SQLite or PostgreSQL, in the tables of its migration 0005. On PostgreSQL every node
// opened on the same database sees the same containers, blobs and uncommitted blocks,
// and a node that alone writes them may answer from memory (see blobOwner). It reaches
// the database only through a sqlstore.Handle; sqlstore keeps the schema.
package sqlmeta

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// New returns the Blob service's metadata store (blob.MetaStore) in the database of h,
// sharing its connections.
//
// Closing the MetaStore does NOT close the Store h belongs to: the MetaStore only stops
// answering. Whoever opened the Store closes it, after the blob.Service that owns the
// MetaStore (and closes it in its own Close) is closed.
func New(h sqlstore.Handle) blobs.MetaStore {
	return newBlobMeta(h, defaultOwnerTiming)
}

// blobCacheLimit bounds the records and the containers the owner keeps in memory.
const blobCacheLimit = 100_000

func newBlobMeta(h sqlstore.Handle, timing ownerTiming) *blobMeta {
	s := sqlDB{h}
	m := &blobMeta{s: s}
	if dsn := h.DSN(); dsn != "" {
		m.owner = newBlobOwner(dsn, timing)
		m.batch = newInsertBatcher(s)
		m.blobCache = newCacheTable[blobs.BlobKey, cachedBlob](blobCacheLimit)
		m.containerCache = newCacheTable[containerKey, blobs.Container](blobCacheLimit)
	}
	return m
}

// blobMeta implements blob.MetaStore over the SQL store's database.
//
// Each write is one transaction of the store (inTx: on SQLite the in-process writer gate
// and BEGIN IMMEDIATE serialize writers; on PostgreSQL rows are locked), except the fast
// path of UpdateBlob below. On PostgreSQL a blob writer locks the blob's blob_entries row
// FOR UPDATE. That row exists whenever anything of the blob exists (committed version or
// staged blocks), so a callback always sees a locked state, except for a blob not yet
// known. Then the writer reads, in one statement, that the container exists and the row
// still does not; the INSERT that creates the row checks both again (the foreign key
// takes a KEY SHARE lock on the container row, or fails when the container is gone:
// ContainerNotFound). Two first writers may both see nothing, and the second one's
// INSERT then fails on the primary key; its transaction is rolled back and run again
// (callbacks may run more than once), and this time finds the row and waits for its lock.
// Deadlocks and serialization failures PostgreSQL reports are retried the same way.
//
// A container deletion locks the container row FOR UPDATE, which the foreign key checks
// of new rows wait for, then every row of its blobs, which waits for their writers, and
// only then reads the content they reference. Container updates lock FOR NO KEY UPDATE,
// which blob writers do not wait for.
//
// Where the engine has row versions (PostgreSQL), UpdateBlob first does without a
// transaction: it reads the blob and its container in one statement, calls fn, and
// writes in one statement that applies only if the row is still the version read (a new
// row: only if there is still none, in a container that still exists). Without BEGIN,
// COMMIT and the lock statements, which each cost a round trip and server time, an
// UpdateBlob takes two round trips instead of five. A blob with staged blocks (which the
// write may have to drop with it) and a write that lost a race take the locking
// transaction instead, which queues behind other writers.
//
// On PostgreSQL, while this node owns the blob metadata (see blobOwner), it answers Get
// Blob and Get Container from memory, and UpdateBlob of a blob it does not remember first
// tries to create it: one INSERT that does nothing if the row exists, in place of a read
// and a write. Every write carries the guard blobOwner describes.
//
// Reads are single statements outside any transaction, so each sees one committed state.
// A commit returns once the database reports it durable: SQLite runs with synchronous=FULL,
// PostgreSQL acknowledges COMMIT, or a statement run on its own, after flushing its WAL
// (with the default synchronous_commit=on).
type blobMeta struct {
	s      sqlDB
	closed atomic.Bool
	// PostgreSQL only; nil on SQLite, where nothing is cached.
	owner          *blobOwner
	batch          *insertBatcher                         // the owner's guesses that a blob is new
	blobCache      *cacheTable[blobs.BlobKey, cachedBlob] // committed blobs without staged blocks
	containerCache *cacheTable[containerKey, blobs.Container]
}

// cachedBlob is a blob's record and the version of its row.
type cachedBlob struct {
	rec     blobs.BlobRecord
	version string
}

type containerKey struct{ account, name string }

// ownership returns this node's ownership of the blob metadata in force now, or nil.
func (m *blobMeta) ownership() *ownerState {
	if m.owner == nil {
		return nil
	}
	return m.owner.current()
}

var _ blobs.MetaStore = (*blobMeta)(nil)

// blobTxAttempts bounds how often a write transaction is run again after a race on
// PostgreSQL (see blobMeta); each rerun waits for the winner's locks, so two suffice in
// practice.
const blobTxAttempts = 8

var (
	errBlobMetaClosed = errors.New("sqlmeta: the blob metadata store is closed")
	// errEntryRace: another transaction created the blob's row after this one looked
	// for it; rerun.
	errEntryRace = errors.New("sqlmeta: a concurrent writer created the blob first")
)

// callbackError carries the error of a caller's function out of a transaction so that it
// is returned unchanged. It has no Unwrap, so that nothing on the way (the store's error
// classification) mistakes the caller's error for the database's.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return "sqlmeta: the update function failed" }

func (m *blobMeta) check() error {
	if m.closed.Load() {
		return errBlobMetaClosed
	}
	return nil
}

// write runs fn in a guarded transaction (see blobOwner), again when it lost a race it
// may win on a rerun.
func (m *blobMeta) write(ctx context.Context, fn func(tx sqlDB) error) error {
	for attempt := 1; ; attempt++ {
		err := m.s.inTx(ctx, func(tx sqlDB) error {
			if _, err := m.guard(ctx, tx); err != nil {
				return err
			}
			return fn(tx)
		})
		if err == nil || attempt == blobTxAttempts || !blobRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func blobRetryable(err error) bool {
	if errors.Is(err, errEntryRace) || errors.Is(err, errOwnershipLost) {
		return true
	}
	var pe *pgconn.PgError
	// 40001 serialization_failure, 40P01 deadlock_detected: the transaction was rolled back.
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// result maps an error for the caller: callback errors unchanged, contract errors as they
// are, anything else internal (or unavailable, when the database cannot be reached).
func (m *blobMeta) result(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *callbackError
	if errors.As(err, &ce) {
		return ce.err
	}
	return m.s.wrapErr("blob: "+op, err, "The blob changed concurrently.")
}

// Close implements blob.MetaStore. It does not close the Store the MetaStore was made
// from; later calls fail.
func (m *blobMeta) Close() error {
	if !m.closed.Swap(true) && m.owner != nil {
		m.owner.close()
		m.batch.close()
	}
	return nil
}

// blobLockClause returns the row-lock clause for mode (KEY SHARE, NO KEY UPDATE, UPDATE) on
// table alias; "" where the engine serializes writers instead.
func (s sqlDB) blobLockClause(mode, alias string) string {
	if !s.h.RowLocks() {
		return ""
	}
	return " FOR " + mode + " OF " + alias
}

func errInvalidBlobName() error {
	return lanyard.Errorf(lanyard.KindInvalid, "The specifed resource name contains invalid characters.").WithCode(blobs.CodeInvalidResourceName)
}

// errBlobNotText refuses a value that a text column or JSON would not give back byte for
// byte. The Blob engine never produces one.
func errBlobNotText(what string) error {
	return lanyard.Errorf(lanyard.KindInvalid, "sqlmeta: %s is not valid UTF-8 text", what)
}

// ---- encoding ----

func encodeBlobMetadata(md blobs.Metadata) (string, error) {
	if len(md) == 0 {
		return "{}", nil
	}
	for k, v := range md {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "", errBlobNotText("metadata")
		}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

// decodeBlobMetadata returns nil for no metadata, as the Blob engine's own values have it.
func decodeBlobMetadata(s string) (blobs.Metadata, error) {
	if s == "{}" || s == "" {
		return nil, nil
	}
	var md blobs.Metadata
	if err := json.Unmarshal([]byte(s), &md); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if len(md) == 0 {
		return nil, nil
	}
	return md, nil
}

type extentJSON struct {
	B  string `json:"b,omitempty"`  // block id
	C  string `json:"c"`            // content id
	S  int64  `json:"s"`            // size
	O  int64  `json:"o,omitempty"`  // offset in a page blob
	CO int64  `json:"co,omitempty"` // offset in the content file
	I  []byte `json:"i,omitempty"`  // inline bytes (base64: a JSON string is text)
}

// layoutJSON is the extents column of an append or page blob: the extents with the
// state only those types have. A block blob's column is the bare extents array, as
// before other types existed, so the column tells the two apart by its first byte.
type layoutJSON struct {
	X      []extentJSON `json:"x"`
	Sealed bool         `json:"seal,omitempty"`
	Seq    int64        `json:"seq,omitempty"`
	// Snaps are the blob's history (blob.EncodeHistory: snapshots, versions,
	// soft-deleted states, version id, tombstone); a block blob with any takes this
	// form too.
	Snaps json.RawMessage `json:"snaps,omitempty"`
	// Copy is the record's x-ms-copy-* properties, kept here to need no column of its own.
	Copy *blobs.CopyInfo `json:"cp,omitempty"`
}

// encodeLayout encodes the extents column of rec.
func encodeLayout(rec *blobs.BlobRecord) (string, error) {
	js := make([]extentJSON, len(rec.Extents))
	for i, x := range rec.Extents {
		if !utf8.ValidString(x.BlockID) || !utf8.ValidString(string(x.Content)) {
			return "", errBlobNotText("an extent's block or content id")
		}
		js[i] = extentJSON{B: x.BlockID, C: string(x.Content), S: x.Size, O: x.Offset, CO: x.ContentOffset, I: []byte(x.Inline)}
	}
	snaps, err := blobs.EncodeHistory(rec)
	if err != nil {
		return "", err
	}
	var v any = js
	switch {
	case (rec.BlobType != "" && rec.BlobType != blobs.BlobTypeBlock) || snaps != nil || rec.Copy != nil:
		v = layoutJSON{X: js, Sealed: rec.Sealed, Seq: rec.SequenceNumber, Snaps: snaps, Copy: rec.Copy}
	case len(js) == 0:
		return "[]", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode extents: %w", err)
	}
	return string(b), nil
}

// decodeLayout decodes an extents column into rec.
func decodeLayout(s string, rec *blobs.BlobRecord) error {
	var js []extentJSON
	switch {
	case s == "[]" || s == "":
	case s[0] == '{':
		var l layoutJSON
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return fmt.Errorf("decode extents: %w", err)
		}
		js, rec.Sealed, rec.SequenceNumber, rec.Copy = l.X, l.Sealed, l.Seq, l.Copy
		if err := blobs.DecodeHistory(l.Snaps, rec); err != nil {
			return err
		}
	default:
		if err := json.Unmarshal([]byte(s), &js); err != nil {
			return fmt.Errorf("decode extents: %w", err)
		}
	}
	if len(js) == 0 {
		rec.Extents = nil
		return nil
	}
	rec.Extents = make([]blobs.Extent, len(js))
	for i, j := range js {
		rec.Extents[i] = blobs.Extent{BlockID: j.B, Content: blobs.ContentID(j.C), Inline: string(j.I), Size: j.S, Offset: j.O, ContentOffset: j.CO}
	}
	return nil
}

// sameLayout reports whether a and b have the same extents column, which an update
// then leaves as it is.
func sameLayout(a, b *blobs.BlobRecord) bool {
	return a != nil && b != nil && slices.Equal(a.Extents, b.Extents) && a.BlobType == b.BlobType &&
		a.Sealed == b.Sealed && a.SequenceNumber == b.SequenceNumber && a.Copy == b.Copy &&
		blobs.SameHistory(a, b)
}

// ---- containers ----

// encodeAccessPolicies stores a container's stored access policies as JSON, "" for none.
func encodeAccessPolicies(ps []blobs.AccessPolicy) (string, error) {
	if len(ps) == 0 {
		return "", nil
	}
	for _, p := range ps {
		for _, f := range []string{p.ID, p.Start, p.Expiry, p.Permission} {
			if !storableText(f) {
				return "", errBlobNotText("a stored access policy")
			}
		}
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

func decodeAccessPolicies(s string) ([]blobs.AccessPolicy, error) {
	if s == "" {
		return nil, nil
	}
	var ps []blobs.AccessPolicy
	if err := json.Unmarshal([]byte(s), &ps); err != nil {
		return nil, fmt.Errorf("sqlmeta: stored access policies: %w", err)
	}
	return ps, nil
}

const blobContainerColumns = "c.account, c.name, c.metadata, c.etag, c.last_modified, c.created_at, c.lease, c.access_policies, c.deleted_time, c.retain_until"

func scanBlobContainer(r rowScanner) (blobs.Container, error) {
	var (
		c                 blobs.Container
		md, lease, acl    string
		modified, created int64
		deleted, retain   int64
	)
	if err := r.Scan(&c.Account, &c.Name, &md, &c.ETag, &modified, &created, &lease, &acl, &deleted, &retain); err != nil {
		return c, err
	}
	var err error
	if c.Metadata, err = decodeBlobMetadata(md); err != nil {
		return c, err
	}
	if c.Lease, err = decodeLease(lease); err != nil {
		return c, err
	}
	if c.AccessPolicies, err = decodeAccessPolicies(acl); err != nil {
		return c, err
	}
	c.LastModified, c.CreatedAt = fromMicros(modified), fromMicros(created)
	c.DeletedTime, c.RetainUntil = fromOptMicros(deleted), fromOptMicros(retain)
	return c, nil
}

// getBlobContainer reads a container, locking its row in lockMode ("" for none).
func (s sqlDB) getBlobContainer(ctx context.Context, account, name, lockMode string) (blobs.Container, error) {
	if !storableText(account) || !storableText(name) {
		return blobs.Container{}, blobs.ErrContainerNotFound()
	}
	q := "SELECT " + blobContainerColumns + " FROM blob_containers c WHERE c.account = ? AND c.name = ?"
	if lockMode != "" {
		q += s.blobLockClause(lockMode, "c")
	}
	c, err := scanBlobContainer(s.queryRow(ctx, q, account, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, blobs.ErrContainerNotFound()
	}
	return c, err
}

// blobContainerExists answers the question reads ask when they found nothing: nil, or
// ContainerNotFound. It takes no lock (on PostgreSQL a row lock writes to the row).
func (s sqlDB) blobContainerExists(ctx context.Context, account, name string) error {
	if !storableText(account) || !storableText(name) {
		return blobs.ErrContainerNotFound()
	}
	var one int
	err := s.queryRow(ctx, "SELECT 1 FROM blob_containers c WHERE c.account = ? AND c.name = ?", account, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return blobs.ErrContainerNotFound()
	}
	return err
}

// CreateContainer implements blob.MetaStore.
func (m *blobMeta) CreateContainer(ctx context.Context, c blobs.Container) error {
	if err := m.check(); err != nil {
		return err
	}
	if !storableText(c.Account) || !storableText(c.Name) {
		return errInvalidBlobName()
	}
	cols, err := encodeContainer(c)
	if err != nil {
		return err
	}
	if m.containerCache != nil {
		ck := containerKey{c.Account, c.Name}
		t := m.containerCache.begin(ck)
		defer m.containerCache.end(ck, t, 0, nil)
	}
	err = m.write(ctx, func(tx sqlDB) error {
		return tx.insertBlobContainer(ctx, c, cols)
	})
	return m.result("create container", err)
}

// containerColumns are a container's columns that need encoding.
type containerColumns struct{ metadata, lease, acl string }

// encodeContainer encodes c's columns, checking that its ETag can be stored as text.
func encodeContainer(c blobs.Container) (containerColumns, error) {
	var cols containerColumns
	if !utf8.ValidString(c.ETag) || strings.IndexByte(c.ETag, 0) >= 0 {
		return cols, errBlobNotText("the etag")
	}
	var err error
	if cols.metadata, err = encodeBlobMetadata(c.Metadata); err != nil {
		return cols, err
	}
	if cols.lease, err = encodeLease(c.Lease); err != nil {
		return cols, err
	}
	cols.acl, err = encodeAccessPolicies(c.AccessPolicies)
	return cols, err
}

// insertBlobContainer inserts c's row (its columns encoded), or fails with
// ContainerAlreadyExists.
func (s sqlDB) insertBlobContainer(ctx context.Context, c blobs.Container, cols containerColumns) error {
	_, err := s.exec(ctx, `INSERT INTO blob_containers (account, name, metadata, etag, last_modified, created_at, lease, access_policies, deleted_time, retain_until)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.Account, c.Name, cols.metadata, c.ETag, micros(c.LastModified), micros(c.CreatedAt), cols.lease, cols.acl,
		optMicros(c.DeletedTime), optMicros(c.RetainUntil))
	if err != nil && s.h.IsUniqueViolation(err) {
		return blobs.ErrContainerExists()
	}
	return err
}

// GetContainer implements blob.MetaStore.
func (m *blobMeta) GetContainer(ctx context.Context, account, name string) (blobs.Container, error) {
	if err := m.check(); err != nil {
		return blobs.Container{}, err
	}
	st := m.ownership()
	if st == nil {
		c, err := m.s.getBlobContainer(ctx, account, name, "")
		return c, m.result("get container", err)
	}
	ck := containerKey{account, name}
	c, hit, placeholder := m.containerCache.get(st.epoch, ck)
	if hit {
		c.Metadata = c.Metadata.Clone()
		return c, nil
	}
	c, err := m.s.getBlobContainer(ctx, account, name, "")
	if err != nil {
		return c, m.result("get container", err)
	}
	kept := c
	kept.Metadata = c.Metadata.Clone()
	m.containerCache.fill(st.epoch, ck, placeholder, kept)
	return c, nil
}

// UpdateContainer implements blob.MetaStore.
func (m *blobMeta) UpdateContainer(ctx context.Context, account, name string, fn func(blobs.Container) (blobs.Container, error)) (blobs.Container, error) {
	if err := m.check(); err != nil {
		return blobs.Container{}, err
	}
	if m.containerCache != nil {
		ck := containerKey{account, name}
		t := m.containerCache.begin(ck)
		defer m.containerCache.end(ck, t, 0, nil)
	}
	var out blobs.Container
	err := m.write(ctx, func(tx sqlDB) error {
		cur, err := tx.getBlobContainer(ctx, account, name, "NO KEY UPDATE")
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return &callbackError{err}
		}
		cols, err := encodeContainer(next)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE blob_containers SET metadata = ?, etag = ?, last_modified = ?, created_at = ?, lease = ?, access_policies = ?,
	deleted_time = ?, retain_until = ? WHERE account = ? AND name = ?`, cols.metadata, next.ETag, micros(next.LastModified), micros(next.CreatedAt), cols.lease, cols.acl,
			optMicros(next.DeletedTime), optMicros(next.RetainUntil), account, name); err != nil {
			return err
		}
		// What a read gives back from now on.
		out = blobs.Container{Account: account, Name: name, Metadata: next.Metadata.Clone(), ETag: next.ETag,
			LastModified: fromMicros(micros(next.LastModified)), CreatedAt: fromMicros(micros(next.CreatedAt)),
			AccessPolicies: slices.Clone(next.AccessPolicies),
			DeletedTime:    fromOptMicros(optMicros(next.DeletedTime)), RetainUntil: fromOptMicros(optMicros(next.RetainUntil))}
		if len(out.AccessPolicies) == 0 {
			out.AccessPolicies = nil
		}
		if out.Lease, err = decodeLease(cols.lease); err != nil {
			return err
		}
		if len(out.Metadata) == 0 {
			out.Metadata = nil
		}
		return nil
	})
	if err != nil {
		return blobs.Container{}, m.result("update container", err)
	}
	return out, nil
}

// DeleteContainer implements blob.MetaStore.
func (m *blobMeta) DeleteContainer(ctx context.Context, account, name string, fn func(blobs.Container) error) ([]blobs.ContentID, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if m.containerCache != nil {
		ck := containerKey{account, name}
		t := m.containerCache.begin(ck)
		defer m.containerCache.end(ck, t, 0, nil)
		m.blobCache.beginAll()
		defer m.blobCache.endAll()
	}
	var ids []blobs.ContentID
	err := m.write(ctx, func(tx sqlDB) error {
		ids = nil
		cur, err := tx.getBlobContainer(ctx, account, name, "UPDATE")
		if err != nil {
			return err
		}
		if err := fn(cur); err != nil {
			return &callbackError{err}
		}
		// No blob can be added now (its row's foreign key check waits for the container
		// row); locking the rows of the others waits for their writers and keeps out
		// later ones (on SQLite, the write lock does both). Only then are the contents
		// they reference final, and the blocks are read by a statement of its own, which
		// sees what the writers waited for committed.
		if ids, err = tx.blobContents(ctx,
			"SELECT CASE WHEN e.committed THEN e.extents ELSE '[]' END, '' FROM blob_entries e WHERE e.account = ? AND e.container = ?"+
				tx.blobLockClause("UPDATE", "e"),
			[]any{account, name}, nil); err != nil {
			return err
		}
		blocks, err := tx.blobContents(ctx, "SELECT '[]', b.content_id FROM blob_blocks b WHERE b.account = ? AND b.container = ?",
			[]any{account, name}, nil)
		if err != nil {
			return err
		}
		ids = append(ids, blocks...)
		// Blobs and blocks go with it (ON DELETE CASCADE).
		_, err = tx.exec(ctx, "DELETE FROM blob_containers WHERE account = ? AND name = ?", account, name)
		return err
	})
	if err != nil {
		return nil, m.result("delete container", err)
	}
	return ids, nil
}

// blobContents runs q, whose rows are (extents JSON, content id), and collects (or, with
// fn, hands out) the non-empty content ids.
func (s sqlDB) blobContents(ctx context.Context, q string, args []any, fn func(blobs.ContentID) error) ([]blobs.ContentID, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []blobs.ContentID
	emit := func(id blobs.ContentID) error {
		if id == "" {
			return nil
		}
		if fn != nil {
			if err := fn(id); err != nil {
				return &callbackError{err}
			}
			return nil
		}
		ids = append(ids, id)
		return nil
	}
	for rows.Next() {
		var ext, content string
		if err := rows.Scan(&ext, &content); err != nil {
			return nil, err
		}
		var rec blobs.BlobRecord
		if err := decodeLayout(ext, &rec); err != nil {
			return nil, err
		}
		for _, x := range rec.Extents {
			if err := emit(x.Content); err != nil {
				return nil, err
			}
		}
		for _, id := range blobs.SnapshotContents(rec.Snapshots) {
			if err := emit(id); err != nil {
				return nil, err
			}
		}
		if err := emit(blobs.ContentID(content)); err != nil {
			return nil, err
		}
	}
	return ids, rows.Err()
}

// ListContainers implements blob.MetaStore.
func (m *blobMeta) ListContainers(ctx context.Context, account, prefix, after string, limit int) ([]blobs.Container, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	nr := blobListRange(prefix, after)
	if limit <= 0 || nr.empty || !storableText(account) {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString("SELECT " + blobContainerColumns + " FROM blob_containers c WHERE c.account = ?")
	args := nr.where(&q, []any{account}, "c.name")
	q.WriteString(" ORDER BY c.name LIMIT ?")
	args = append(args, limit)
	rows, err := m.s.query(ctx, q.String(), args...)
	if err != nil {
		return nil, m.result("list containers", err)
	}
	defer rows.Close()
	var out []blobs.Container
	for rows.Next() {
		c, err := scanBlobContainer(rows)
		if err != nil {
			return nil, m.result("list containers", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, m.result("list containers", err)
	}
	return out, nil
}

// ---- blobs ----

// blobEntry is a blob_entries row: the committed record (nil when there is none) and the
// summary of the uncommitted blocks.
type blobEntry struct {
	rec        *blobs.BlobRecord
	blockCount int64
	idLen      int
}

const blobEntryColumns = `e.name, e.committed, e.size, e.content_type, e.content_encoding, e.content_language,
	e.content_disposition, e.cache_control, e.content_md5, e.metadata, e.etag, e.last_modified, e.created_at,
	e.blob_type, e.extents, e.block_count, e.block_id_len, e.tags, e.lease, e.tier`

// scanBlobEntry scans blobEntryColumns, then extra. The columns are NULL where an outer
// join found no row; found is then false.
func scanBlobEntry(r rowScanner, container string, extra ...any) (e blobEntry, found bool, err error) {
	var (
		name, md, etag, bt, ext        sql.NullString
		tags, lease, tier              sql.NullString
		committed                      sql.NullBool
		size, modified, created, count sql.NullInt64
		idLen                          sql.NullInt32
		ct, ce, cl, cd, cc, md5        []byte
	)
	dest := append([]any{&name, &committed, &size, &ct, &ce, &cl, &cd, &cc, &md5, &md, &etag, &modified, &created,
		&bt, &ext, &count, &idLen, &tags, &lease, &tier}, extra...)
	if err := r.Scan(dest...); err != nil {
		return e, false, err
	}
	if !name.Valid {
		return e, false, nil
	}
	e.blockCount, e.idLen = count.Int64, int(idLen.Int32)
	if !committed.Bool {
		return e, true, nil
	}
	rec := &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{
		Container: container, Name: name.String, Size: size.Int64,
		HTTPHeaders: blobs.HTTPHeaders{ContentType: string(ct), ContentEncoding: string(ce), ContentLanguage: string(cl),
			ContentDisposition: string(cd), CacheControl: string(cc), ContentMD5: nullBlob(md5)},
		ETag: etag.String, LastModified: fromMicros(modified.Int64), CreatedAt: fromMicros(created.Int64), BlobType: bt.String,
	}}
	if rec.Metadata, err = decodeBlobMetadata(md.String); err != nil {
		return e, false, err
	}
	if err = decodeLayout(ext.String, rec); err != nil {
		return e, false, err
	}
	if rec.Tags, err = decodeBlobTags(tags.String); err != nil {
		return e, false, err
	}
	if rec.Lease, err = decodeLease(lease.String); err != nil {
		return e, false, err
	}
	if rec.Tier, err = decodeTier(tier.String); err != nil {
		return e, false, err
	}
	e.rec = rec
	return e, true, nil
}

// getBlobEntry reads a blob's row, locked for update when lock; found is false without
// one. ver is the row's version (see sqlstore.Handle.RowVersion), "" where there is none.
func (s sqlDB) getBlobEntry(ctx context.Context, k blobs.BlobKey, lock bool) (e blobEntry, found bool, ver string, err error) {
	if !storableText(k.Name) {
		return blobEntry{}, false, "", nil
	}
	q := "SELECT " + blobEntryColumns
	var v sql.NullString
	var extra []any
	if s.h.RowVersion() != "" {
		q += ", CAST(e." + s.h.RowVersion() + " AS TEXT)"
		extra = append(extra, &v)
	}
	q += " FROM blob_entries e WHERE e.account = ? AND e.container = ? AND e.name = ?"
	if lock {
		q += s.blobLockClause("UPDATE", "e")
	}
	e, found, err = scanBlobEntry(s.queryRow(ctx, q, k.Account, k.Container, k.Name), k.Container, extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return blobEntry{}, false, "", nil
	}
	return e, found, v.String, err
}

// readBlobEntry reads, in one statement, whether a blob's container exists (or fails with
// ContainerNotFound) and the blob's row (found is false without one), and, with
// withVersion, the row's version (see sqlstore.Handle.RowVersion). It takes no lock.
func (s sqlDB) readBlobEntry(ctx context.Context, k blobs.BlobKey, withVersion bool) (e blobEntry, found bool, ver string, err error) {
	if !storableText(k.Name) {
		return blobEntry{}, false, "", s.blobContainerExists(ctx, k.Account, k.Container)
	}
	if !storableText(k.Account) || !storableText(k.Container) {
		return blobEntry{}, false, "", blobs.ErrContainerNotFound()
	}
	q := "SELECT " + blobEntryColumns
	var v sql.NullString
	var extra []any
	if withVersion {
		q += ", CAST(e." + s.h.RowVersion() + " AS TEXT)"
		extra = append(extra, &v)
	}
	// One row: the blob's, or NULLs when it has none but its container exists (looked up
	// only then: a blob's row proves its container exists, by the foreign key).
	q += " FROM (SELECT 1) AS one LEFT JOIN blob_entries e ON e.account = ? AND e.container = ? AND e.name = ?" +
		" WHERE e.name IS NOT NULL OR EXISTS (SELECT 1 FROM blob_containers c WHERE c.account = ? AND c.name = ?)"
	e, found, err = scanBlobEntry(s.queryRow(ctx, q, k.Account, k.Container, k.Name, k.Account, k.Container), k.Container, extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return blobEntry{}, false, "", blobs.ErrContainerNotFound()
	}
	return e, found, v.String, err
}

// lockBlobEntry reads a blob's row for a writer in a transaction, locked for update. When
// there is none, it reads, in one state, that the container exists (or fails with
// ContainerNotFound) and that the row still does not (or fails with errEntryRace).
func (s sqlDB) lockBlobEntry(ctx context.Context, k blobs.BlobKey) (blobEntry, bool, error) {
	if !storableText(k.Account) || !storableText(k.Container) {
		return blobEntry{}, false, blobs.ErrContainerNotFound()
	}
	if e, found, _, err := s.getBlobEntry(ctx, k, true); err != nil || found {
		return e, found, err
	}
	_, found, _, err := s.readBlobEntry(ctx, k, false)
	switch {
	case err != nil:
		return blobEntry{}, false, err
	case found:
		return blobEntry{}, false, errEntryRace
	case !storableText(k.Name):
		return blobEntry{}, false, errInvalidBlobName()
	}
	return blobEntry{}, false, nil
}

// blobEntryArgs are the values of a blob_entries row after its key: of rec, or of no
// committed version when rec is nil.
func blobEntryArgs(rec *blobs.BlobRecord, blockCount int64, idLen int) ([]any, error) {
	if rec == nil {
		return []any{false, int64(0), []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, nil, "{}", "", int64(0), int64(0), "", "[]",
			blockCount, idLen, "", "", ""}, nil
	}
	if !utf8.ValidString(rec.ETag) || strings.IndexByte(rec.ETag, 0) >= 0 ||
		!utf8.ValidString(rec.BlobType) || strings.IndexByte(rec.BlobType, 0) >= 0 {
		return nil, errBlobNotText("the etag or blob type")
	}
	md, err := encodeBlobMetadata(rec.Metadata)
	if err != nil {
		return nil, err
	}
	ext, err := encodeLayout(rec)
	if err != nil {
		return nil, err
	}
	tags, err := encodeBlobTags(rec.Tags)
	if err != nil {
		return nil, err
	}
	lease, err := encodeLease(rec.Lease)
	if err != nil {
		return nil, err
	}
	tier, err := encodeTier(rec.Tier)
	if err != nil {
		return nil, err
	}
	bt := rec.BlobType
	if bt == "" {
		bt = blobs.BlobTypeBlock
	}
	h := rec.HTTPHeaders
	return []any{true, rec.Size, []byte(h.ContentType), []byte(h.ContentEncoding), []byte(h.ContentLanguage),
		[]byte(h.ContentDisposition), []byte(h.CacheControl), nullBlob(h.ContentMD5), md, rec.ETag,
		micros(rec.LastModified), micros(rec.CreatedAt), bt, ext, blockCount, idLen, tags, lease, tier}, nil
}

const blobEntryInsert = `INSERT INTO blob_entries (account, container, name, committed, size, content_type, content_encoding,
	content_language, content_disposition, cache_control, content_md5, metadata, etag, last_modified, created_at,
	blob_type, extents, block_count, block_id_len, tags, lease, tier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// entryCond restricts a write of a blob's row outside a transaction: to one version of
// the row (see sqlstore.Handle.RowVersion) and to the guard of blobOwner. The zero entryCond, for
// writes in a transaction, restricts nothing.
type entryCond struct {
	version string
	guard   string
	args    []any
}

// insertBlobEntry creates a blob's row and reports whether it did; ContainerNotFound when
// the container is gone. Without a guard it fails with errEntryRace when a concurrent
// writer created the row since this transaction looked; with one (outside a transaction)
// it just does nothing then, or when the guard fails, and returns the new row's version.
// vals are the row's blobEntryArgs.
func (s sqlDB) insertBlobEntry(ctx context.Context, k blobs.BlobKey, vals []any, c entryCond) (ver string, wrote bool, err error) {
	args := append([]any{k.Account, k.Container, k.Name}, vals...)
	if c.guard == "" {
		_, err = s.exec(ctx, blobEntryInsert, args...)
		wrote = err == nil
	} else {
		q := strings.Replace(blobEntryInsert, "VALUES (", "SELECT ", 1)
		q = q[:len(q)-1] + " WHERE " + c.guard + " ON CONFLICT (account, container, name) DO NOTHING"
		ver, wrote, err = s.writeReturningVersion(ctx, q, append(args, c.args...))
	}
	switch {
	case err == nil:
		return ver, wrote, nil
	case s.h.IsUniqueViolation(err):
		return "", false, errEntryRace
	case s.h.IsForeignKeyViolation(err):
		return "", false, blobs.ErrContainerNotFound()
	}
	return "", false, err
}

// writeReturningVersion runs a write of at most one row and reports whether it wrote one,
// and the row's new version where the engine has them.
func (s sqlDB) writeReturningVersion(ctx context.Context, q string, args []any) (ver string, wrote bool, err error) {
	if s.h.RowVersion() == "" {
		wrote, err = s.execAny(ctx, q, args...)
		return "", wrote, err
	}
	err = s.queryRow(ctx, q+" RETURNING CAST("+s.h.RowVersion()+" AS TEXT)", args...).Scan(&ver)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return ver, err == nil, err
}

// blobEntryWhere is the condition of a write to a blob's row: the row of k, under c.
func (s sqlDB) blobEntryWhere(k blobs.BlobKey, c entryCond, args []any) (string, []any) {
	w := " WHERE account = ? AND container = ? AND name = ?"
	args = append(args, k.Account, k.Container, k.Name)
	if c.version != "" {
		w += " AND CAST(" + s.h.RowVersion() + " AS TEXT) = ?"
		args = append(args, c.version)
	}
	if c.guard != "" {
		w += " AND " + c.guard
		args = append(args, c.args...)
	}
	return w, args
}

// updateBlobEntry rewrites a blob's row with vals (its blobEntryArgs) under c, and reports
// whether it did, with the row's new version where the engine has them; keepExtents
// leaves the extents column as it is (a property change of a blob of many blocks does not
// rewrite its block list).
func (s sqlDB) updateBlobEntry(ctx context.Context, k blobs.BlobKey, vals []any, keepExtents bool, c entryCond) (string, bool, error) {
	args := slices.Clone(vals)
	cols := []string{"committed", "size", "content_type", "content_encoding", "content_language", "content_disposition",
		"cache_control", "content_md5", "metadata", "etag", "last_modified", "created_at", "blob_type", "extents",
		"block_count", "block_id_len", "tags", "lease", "tier"}
	if keepExtents {
		i := slices.Index(cols, "extents")
		cols, args = slices.Delete(cols, i, i+1), slices.Delete(args, i, i+1)
	}
	where, args := s.blobEntryWhere(k, c, args)
	return s.writeReturningVersion(ctx, "UPDATE blob_entries SET "+strings.Join(cols, " = ?, ")+" = ?"+where, args)
}

// deleteBlobEntry deletes a blob's row (under c) and reports whether it did.
func (s sqlDB) deleteBlobEntry(ctx context.Context, k blobs.BlobKey, c entryCond) (bool, error) {
	where, args := s.blobEntryWhere(k, c, nil)
	return s.execAny(ctx, "DELETE FROM blob_entries"+where, args...)
}

// execAny runs a statement and reports whether it touched a row.
func (s sqlDB) execAny(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// GetBlob implements blob.MetaStore.
func (m *blobMeta) GetBlob(ctx context.Context, k blobs.BlobKey) (blobs.BlobRecord, error) {
	if err := m.check(); err != nil {
		return blobs.BlobRecord{}, err
	}
	if !storableText(k.Account) || !storableText(k.Container) {
		return blobs.BlobRecord{}, blobs.ErrContainerNotFound()
	}
	st := m.ownership()
	var placeholder *cacheSlot[cachedBlob]
	if st != nil {
		var c cachedBlob
		var hit bool
		if c, hit, placeholder = m.blobCache.get(st.epoch, k); hit {
			return cloneBlobRecord(c.rec), nil
		}
	}
	// The blob's row alone, the common case, is a primary-key lookup: cheaper for the
	// database than readBlobEntry's join, which pays only where a blob is missing.
	e, found, ver, err := m.s.getBlobEntry(ctx, k, false)
	if err != nil {
		return blobs.BlobRecord{}, m.result("get blob", err)
	}
	if found && e.rec != nil {
		if st != nil && e.blockCount == 0 {
			m.blobCache.fill(st.epoch, k, placeholder, cachedBlob{rec: cloneBlobRecord(*e.rec), version: ver})
		}
		return *e.rec, nil
	}
	if err := m.s.blobContainerExists(ctx, k.Account, k.Container); err != nil {
		return blobs.BlobRecord{}, m.result("get blob", err)
	}
	return blobs.BlobRecord{}, blobs.ErrBlobNotFound()
}

// UpdateBlob implements blob.MetaStore.
func (m *blobMeta) UpdateBlob(ctx context.Context, k blobs.BlobKey, withBlocks bool, fn func(blobs.BlobState) (blobs.BlobWrite, error)) (blobs.BlobResult, error) {
	if err := m.check(); err != nil {
		return blobs.BlobResult{}, err
	}
	if m.s.h.RowVersion() != "" {
		var cached *cachedBlob
		var kept ownerWrite
		if m.blobCache != nil {
			if st := m.ownership(); st != nil {
				if c, hit := m.blobCache.peek(st.epoch, k); hit {
					cached = &c
				}
			}
			t := m.blobCache.begin(k)
			defer func() { m.blobCache.end(k, t, kept.epoch, kept.blob) }()
		}
		if res, done, err := m.updateBlobUnlocked(ctx, k, withBlocks, fn, cached, &kept); done {
			if err != nil {
				return blobs.BlobResult{}, m.result("update blob", err)
			}
			return res, nil
		}
	}
	var res blobs.BlobResult
	err := m.write(ctx, func(tx sqlDB) error {
		res = blobs.BlobResult{}
		e, found, err := tx.lockBlobEntry(ctx, k)
		if err != nil {
			return err
		}
		st := blobs.BlobState{Blob: e.rec}
		if withBlocks {
			st.Blocks = []blobs.Block{}
			if e.blockCount > 0 {
				if st.Blocks, err = tx.listBlobBlocks(ctx, k); err != nil {
					return err
				}
			}
		}
		w, err := fn(st)
		if err != nil {
			return &callbackError{err}
		}
		res.Prev = e.rec
		count, idLen := e.blockCount, e.idLen
		if w.DropBlocks && count > 0 {
			if res.Dropped, err = tx.dropBlobBlocks(ctx, k, nil); err != nil {
				return err
			}
			count, idLen = 0, 0
		}
		vals, err := blobEntryArgs(w.Blob, count, idLen) // of no committed version when w.Blob is nil
		if err != nil {
			return err
		}
		switch {
		case w.Blob != nil && !found:
			_, _, err = tx.insertBlobEntry(ctx, k, vals, entryCond{})
		case w.Blob != nil:
			keep := sameLayout(e.rec, w.Blob)
			_, _, err = tx.updateBlobEntry(ctx, k, vals, keep, entryCond{})
		case !found:
			// nothing to delete
		case count == 0:
			_, err = tx.deleteBlobEntry(ctx, k, entryCond{})
		case e.rec != nil:
			_, _, err = tx.updateBlobEntry(ctx, k, vals, false, entryCond{}) // the blocks stay
		}
		if err == nil {
			err = tx.reindexTags(ctx, k, e.rec, w.Blob)
		}
		return err
	})
	if err != nil {
		return blobs.BlobResult{}, m.result("update blob", err)
	}
	return res, nil
}

// ownerWrite is what a write of the owner committed, for it to remember.
type ownerWrite struct {
	epoch uint64
	blob  *cachedBlob
}

// updateBlobUnlocked is UpdateBlob without a transaction (see blobMeta), starting from
// cached when the owner remembers the blob; what the owner wrote goes to kept. done is
// false when it changed nothing and the locking transaction must decide: the blob has
// staged blocks, or its row changed (or was created) after it was read, or the write's
// guard failed.
func (m *blobMeta) updateBlobUnlocked(ctx context.Context, k blobs.BlobKey, withBlocks bool, fn func(blobs.BlobState) (blobs.BlobWrite, error),
	cached *cachedBlob, kept *ownerWrite) (res blobs.BlobResult, done bool, err error) {
	if !storableText(k.Name) {
		return res, false, nil // the transaction tells which error applies
	}
	var c entryCond
	owned := m.ownership()
	if m.owner != nil {
		c.guard, c.args = guardSQL(owned)
	}
	noBlocks := blobs.BlobState{}
	if withBlocks {
		noBlocks.Blocks = []blobs.Block{}
	}
	if owned != nil && cached == nil && m.knownContainer(owned, k) {
		// Most writes of a blob the owner does not remember create it: try that first.
		// The INSERT does nothing when the row exists, and then fn runs again below.
		if w, err := fn(noBlocks); err == nil && w.Blob != nil && len(w.Blob.Tags) == 0 {
			vals, err := blobEntryArgs(w.Blob, 0, 0)
			if err != nil {
				return res, true, err
			}
			ver, wrote, err := m.batch.insert(k, vals, c)
			if wrote {
				m.keep(kept, owned, k, vals, ver)
			}
			if err != nil || wrote {
				return res, true, err
			}
		}
	}
	var (
		e     blobEntry
		found bool
	)
	if cached != nil {
		rec := cloneBlobRecord(cached.rec)
		e, found, c.version = blobEntry{rec: &rec}, true, cached.version
	} else if e, found, c.version, err = m.s.readBlobEntry(ctx, k, true); err != nil {
		return res, true, err
	}
	if found && (e.rec == nil || e.blockCount > 0) {
		return res, false, nil
	}
	st := noBlocks
	st.Blob = e.rec
	w, err := fn(st)
	if err != nil {
		return res, true, &callbackError{err}
	}
	if tagsChange(e.rec, w.Blob) {
		return res, false, nil // the tag index is written in the transaction
	}
	var (
		wrote bool
		ver   string
		vals  []any
	)
	if w.Blob != nil {
		if vals, err = blobEntryArgs(w.Blob, 0, 0); err != nil {
			return res, true, err
		}
	}
	switch {
	case w.Blob != nil && !found:
		ver, wrote, err = m.s.insertBlobEntry(ctx, k, vals, c)
	case w.Blob != nil:
		ver, wrote, err = m.s.updateBlobEntry(ctx, k, vals, sameLayout(e.rec, w.Blob), c)
	case !found:
		return res, true, nil // nothing to delete
	default: // no blocks staged, so the row goes
		wrote, err = m.s.deleteBlobEntry(ctx, k, c)
	}
	if blobRetryable(err) || err == nil && !wrote {
		return res, false, nil // lost a race: the transaction decides
	}
	if err != nil {
		return res, true, err
	}
	if w.Blob != nil {
		m.keep(kept, owned, k, vals, ver)
	}
	return blobs.BlobResult{Prev: e.rec}, true, nil
}

// keep records in kept what a write under the ownership st committed (the row's
// blobEntryArgs vals, as row version ver), as a read of it would return it. Nothing is
// kept of a write that was not the owner's, or whose version is not known.
func (m *blobMeta) keep(kept *ownerWrite, st *ownerState, k blobs.BlobKey, vals []any, ver string) {
	if st == nil || ver == "" {
		return
	}
	e, found, err := scanBlobEntry(valuesRow(append([]any{k.Name}, vals...)), k.Container)
	if err != nil || !found || e.rec == nil {
		return
	}
	*kept = ownerWrite{epoch: st.epoch, blob: &cachedBlob{rec: *e.rec, version: ver}}
}

// valuesRow scans values as a database row of them would: scanBlobEntry of a row's values
// gives what a read of the row gives.
type valuesRow []any

func (r valuesRow) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("sqlmeta: %d values for %d columns", len(r), len(dest))
	}
	for i, d := range dest {
		switch d := d.(type) {
		case sql.Scanner:
			if err := d.Scan(r[i]); err != nil {
				return err
			}
		case *[]byte:
			b, _ := r[i].([]byte)
			*d = slices.Clone(b)
		default:
			return fmt.Errorf("sqlmeta: cannot scan into %T", d)
		}
	}
	return nil
}

// knownContainer reports whether the owner remembers k's container: only then does it
// guess that k is new (its container may still go meanwhile; the INSERT then fails).
func (m *blobMeta) knownContainer(st *ownerState, k blobs.BlobKey) bool {
	_, hit := m.containerCache.peek(st.epoch, containerKey{k.Account, k.Container})
	return hit
}

// cloneBlobRecord copies what a caller could change in a record: the cache's stay as
// they were read.
func cloneBlobRecord(r blobs.BlobRecord) blobs.BlobRecord {
	r.Metadata = r.Metadata.Clone()
	r.Tags = r.Tags.Clone()
	r.ContentMD5 = slices.Clone(r.ContentMD5)
	r.Extents = slices.Clone(r.Extents)
	return r
}

// ListBlobs implements blob.MetaStore.
func (m *blobMeta) ListBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]blobs.BlobRecord, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if !storableText(account) || !storableText(container) {
		return nil, blobs.ErrContainerNotFound()
	}
	nr := blobListRange(prefix, after)
	var out []blobs.BlobRecord
	if limit > 0 && !nr.empty {
		var q strings.Builder
		q.WriteString("SELECT " + blobEntryColumns + " FROM blob_entries e WHERE e.account = ? AND e.container = ? AND e.committed")
		args := nr.where(&q, []any{account, container}, "e.name")
		q.WriteString(" ORDER BY e.name LIMIT ?")
		args = append(args, limit)
		rows, err := m.s.query(ctx, q.String(), args...)
		if err != nil {
			return nil, m.result("list blobs", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, _, err := scanBlobEntry(rows, container)
			if err != nil {
				return nil, m.result("list blobs", err)
			}
			out = append(out, *e.rec)
		}
		if err := rows.Err(); err != nil {
			return nil, m.result("list blobs", err)
		}
	}
	if len(out) == 0 { // rows would have proven the container exists
		if err := m.s.blobContainerExists(ctx, account, container); err != nil {
			return nil, m.result("list blobs", err)
		}
	}
	return out, nil
}

// ---- blocks ----

const blobBlockColumns = "b.block_id, b.size, b.content_id, b.staged_at"

func scanBlobBlock(r rowScanner) (blobs.Block, error) {
	var (
		b       blobs.Block
		content string
		staged  int64
	)
	if err := r.Scan(&b.ID, &b.Size, &content, &staged); err != nil {
		return b, err
	}
	b.Content, b.CreatedAt = blobs.ContentID(content), fromMicros(staged)
	return b, nil
}

func scanBlobBlocks(rows *sql.Rows) ([]blobs.Block, error) {
	defer rows.Close()
	out := []blobs.Block{}
	for rows.Next() {
		b, err := scanBlobBlock(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// listBlobBlocks returns a blob's uncommitted blocks ordered by id.
func (s sqlDB) listBlobBlocks(ctx context.Context, k blobs.BlobKey) ([]blobs.Block, error) {
	rows, err := s.query(ctx, "SELECT "+blobBlockColumns+" FROM blob_blocks b WHERE b.account = ? AND b.container = ? AND b.blob_name = ? ORDER BY b.block_id",
		k.Account, k.Container, k.Name)
	if err != nil {
		return nil, err
	}
	return scanBlobBlocks(rows)
}

// dropBlobBlocks deletes a blob's uncommitted blocks (those staged before *before, when
// given) and returns them.
func (s sqlDB) dropBlobBlocks(ctx context.Context, k blobs.BlobKey, before *int64) ([]blobs.Block, error) {
	q := "DELETE FROM blob_blocks WHERE account = ? AND container = ? AND blob_name = ?"
	args := []any{k.Account, k.Container, k.Name}
	if before != nil {
		q += " AND staged_at < ?"
		args = append(args, *before)
	}
	rows, err := s.query(ctx, q+" RETURNING block_id, size, content_id, staged_at", args...)
	if err != nil {
		return nil, err
	}
	return scanBlobBlocks(rows)
}

// PutBlock implements blob.MetaStore.
func (m *blobMeta) PutBlock(ctx context.Context, k blobs.BlobKey, b blobs.Block, fn func(blobs.BlockSummary) error) (*blobs.Block, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if !storableText(b.ID) || !storableText(string(b.Content)) {
		return nil, errBlobNotText("the block or content id")
	}
	if m.blobCache != nil {
		t := m.blobCache.begin(k)
		defer m.blobCache.end(k, t, 0, nil)
	}
	var prev *blobs.Block
	err := m.write(ctx, func(tx sqlDB) error {
		prev = nil
		e, found, err := tx.lockBlobEntry(ctx, k)
		if err != nil {
			return err
		}
		sum := blobs.BlockSummary{Count: int(e.blockCount), IDLength: e.idLen}
		if e.blockCount > 0 {
			old, err := scanBlobBlock(tx.queryRow(ctx, "SELECT "+blobBlockColumns+" FROM blob_blocks b WHERE b.account = ? AND b.container = ? AND b.blob_name = ? AND b.block_id = ?",
				k.Account, k.Container, k.Name, b.ID))
			switch {
			case err == nil:
				prev, sum.Replaces = &old, true
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if err := fn(sum); err != nil {
			return &callbackError{err}
		}
		count := e.blockCount
		if prev == nil {
			count++
		}
		idLen := blobs.BlockIDLength(b.ID)
		if !found {
			vals, _ := blobEntryArgs(nil, count, idLen) // no record, nothing to encode
			_, _, err = tx.insertBlobEntry(ctx, k, vals, entryCond{})
		} else {
			_, err = tx.exec(ctx, "UPDATE blob_entries SET block_count = ?, block_id_len = ? WHERE account = ? AND container = ? AND name = ?",
				count, idLen, k.Account, k.Container, k.Name)
		}
		if err != nil {
			return err
		}
		if prev != nil {
			_, err = tx.exec(ctx, `UPDATE blob_blocks SET content_id = ?, size = ?, staged_at = ?
	WHERE account = ? AND container = ? AND blob_name = ? AND block_id = ?`,
				string(b.Content), b.Size, micros(b.CreatedAt), k.Account, k.Container, k.Name, b.ID)
		} else {
			_, err = tx.exec(ctx, `INSERT INTO blob_blocks (account, container, blob_name, block_id, content_id, size, staged_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`, k.Account, k.Container, k.Name, b.ID, string(b.Content), b.Size, micros(b.CreatedAt))
		}
		return err
	})
	if err != nil {
		return nil, m.result("put block", err)
	}
	return prev, nil
}

// ListBlocks implements blob.MetaStore.
func (m *blobMeta) ListBlocks(ctx context.Context, k blobs.BlobKey) ([]blobs.Block, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if !storableText(k.Account) || !storableText(k.Container) {
		return nil, blobs.ErrContainerNotFound()
	}
	out := []blobs.Block{}
	if storableText(k.Name) {
		var err error
		if out, err = m.s.listBlobBlocks(ctx, k); err != nil {
			return nil, m.result("list blocks", err)
		}
	}
	if len(out) == 0 {
		if err := m.s.blobContainerExists(ctx, k.Account, k.Container); err != nil {
			return nil, m.result("list blocks", err)
		}
	}
	return out, nil
}

// blobExpireBatch is how many blobs one ExpireBlocks transaction cleans: a commit (an fsync)
// per batch rather than per blob, without holding the write lock for long.
const blobExpireBatch = 128

// ExpireBlocks implements blob.MetaStore. It finds the blobs with expired blocks through
// the staged_at index, then drops their expired blocks in transactions of up to
// blobExpireBatch blobs, each blob locked as a writer locks it (in key order, so that two
// nodes collecting at once cannot deadlock).
func (m *blobMeta) ExpireBlocks(ctx context.Context, before time.Time) ([]blobs.Block, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	cutoff := micros(before)
	// Deduplicated here: with DISTINCT, SQLite prefers scanning the primary key to the
	// staged_at index.
	rows, err := m.s.query(ctx, "SELECT account, container, blob_name FROM blob_blocks WHERE staged_at < ?", cutoff)
	if err != nil {
		return nil, m.result("expire blocks", err)
	}
	seen := map[blobs.BlobKey]bool{}
	var keys []blobs.BlobKey
	for rows.Next() {
		var k blobs.BlobKey
		if err := rows.Scan(&k.Account, &k.Container, &k.Name); err != nil {
			rows.Close()
			return nil, m.result("expire blocks", err)
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, m.result("expire blocks", err)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Name < b.Name
	})

	var dropped []blobs.Block
	var errs []error
	for len(keys) > 0 {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		batch := keys[:min(blobExpireBatch, len(keys))]
		keys = keys[len(batch):]
		var got []blobs.Block
		err := m.write(ctx, func(tx sqlDB) error {
			got = nil
			for _, k := range batch {
				d, err := tx.expireBlobBlocks(ctx, k, cutoff)
				if err != nil {
					return err
				}
				got = append(got, d...)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, m.result("expire blocks", err))
			continue
		}
		dropped = append(dropped, got...)
	}
	return dropped, errors.Join(errs...)
}

// expireBlobBlocks drops one blob's blocks staged before cutoff, in tx.
func (tx sqlDB) expireBlobBlocks(ctx context.Context, k blobs.BlobKey, cutoff int64) ([]blobs.Block, error) {
	e, found, _, err := tx.getBlobEntry(ctx, k, true)
	if err != nil || !found {
		return nil, err // not found: deleted meanwhile, with its blocks
	}
	d, err := tx.dropBlobBlocks(ctx, k, &cutoff)
	if err != nil || len(d) == 0 {
		return nil, err
	}
	count, idLen := e.blockCount-int64(len(d)), e.idLen
	if count <= 0 {
		count, idLen = 0, 0
		if e.rec == nil {
			_, err := tx.deleteBlobEntry(ctx, k, entryCond{})
			return d, err
		}
	}
	_, err = tx.exec(ctx, "UPDATE blob_entries SET block_count = ?, block_id_len = ? WHERE account = ? AND container = ? AND name = ?",
		count, idLen, k.Account, k.Container, k.Name)
	return d, err
}

// Contents implements blob.MetaStore. One statement reads both tables, so that it sees
// one committed state: a block being committed into a blob's extents meanwhile (by
// another node) is seen in exactly one of them, never in neither.
func (m *blobMeta) Contents(ctx context.Context, fn func(blobs.ContentID) error) error {
	if err := m.check(); err != nil {
		return err
	}
	_, err := m.s.blobContents(ctx,
		"SELECT e.extents, '' FROM blob_entries e WHERE e.committed UNION ALL SELECT '[]', b.content_id FROM blob_blocks b",
		nil, fn)
	return m.result("contents", err)
}
