// Package fsmeta is the embedded, durable blob.MetaStore: the whole metadata lives in
// memory and every change is a record appended to a journal on disk, acknowledged only
// after fsync. Concurrent commits share fsyncs (group commit), so a small upload costs
// about one journal fsync. When the journal grows large, the state is written out as a
// snapshot and a new journal starts.
//
// Files in the directory (g is a generation number):
//
//	journal-g    records appended since snapshot-g (or since the start, without one)
//	snapshot-g   the state when journal-g began; complete when it ends with an end record
//	*.tmp        a snapshot being written; removed on open
//
// Recovery loads the newest complete snapshot, replays the journals from its generation
// on, and cuts the last journal at its first torn record.
//
// Concurrency: writers of one blob serialize on a striped per-blob lock, writers in one
// container share a striped container lock that container deletion takes exclusively,
// and the in-memory state is locked only to read or apply, never across I/O. Changes are
// applied to memory only after they are durable, so readers never see a change a crash
// could still undo.
package fsmeta

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Options tune a Store; the zero value is fine.
type Options struct {
	// CompactBytes is the journal size past which a snapshot is written; 64 MiB when 0.
	CompactBytes int64
	// ReserveBytes is the journal space kept preallocated for deletions, so that they
	// work on a full disk; 1 MiB when 0, none when negative.
	ReserveBytes int64
	Logger       *slog.Logger

	// wrap, when set, stands between the journal and its file (tests inject faults).
	wrap func(*os.File) file
}

// Store is a MetaStore in a directory.
type Store struct {
	dir     string
	opts    Options
	log     *slog.Logger
	dirLock *dirLock

	mu sync.RWMutex // guards st
	st *state

	// commitMu is held shared by every commit from journal append to memory apply, and
	// exclusively by compaction, which thereby sees memory equal to the journal.
	commitMu sync.RWMutex
	jr       *journal
	gen      uint64 // generation of jr

	keyLocks  [256]sync.Mutex
	ctrLocks  [64]sync.RWMutex
	seed      maphash.Seed
	compactMu sync.Mutex // one compaction at a time
	compactWG sync.WaitGroup
	closed    bool
}

var _ blob.MetaStore = (*Store)(nil)

func (s *Store) keyLock(k blob.BlobKey) *sync.Mutex {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(k.Account)
	h.WriteByte(0)
	h.WriteString(k.Container)
	h.WriteByte(0)
	h.WriteString(k.Name)
	return &s.keyLocks[h.Sum64()%uint64(len(s.keyLocks))]
}

func (s *Store) ctrLock(acct, name string) *sync.RWMutex {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(acct)
	h.WriteByte(0)
	h.WriteString(name)
	return &s.ctrLocks[h.Sum64()%uint64(len(s.ctrLocks))]
}

// commit makes m durable, then applies it to memory.
func (s *Store) commit(ctx context.Context, m mutation) error {
	p, err := encode(m)
	if err != nil {
		return err
	}
	s.commitMu.RLock()
	b, err := s.jr.append(p, m.frees())
	if err == nil {
		// No ctx check from here: once appended the record may become durable, and
		// memory must follow the journal.
		err = s.jr.wait(b)
	}
	if err == nil {
		s.mu.Lock()
		s.st.apply(m)
		s.mu.Unlock()
	}
	size := s.jr.written()
	s.commitMu.RUnlock()
	if err != nil {
		return err
	}
	if size > s.opts.CompactBytes {
		s.compactAsync()
	}
	return nil
}

// Ready reports whether the store can take writes that add data: nil, or why not (a
// full disk: "the metadata journal cannot be written: no space left on device").
// Reads, and deletions up to the journal's reserve, work either way. It retries what
// failed, so it reports ready again once space is freed, without a write or a restart.
func (s *Store) Ready() error {
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	return s.jr.ready()
}

// CreateContainer implements blob.MetaStore.
func (s *Store) CreateContainer(ctx context.Context, c blob.Container) error {
	l := s.ctrLock(c.Account, c.Name)
	l.Lock()
	defer l.Unlock()
	s.mu.RLock()
	exists := s.st.container(c.Account, c.Name) != nil
	s.mu.RUnlock()
	if exists {
		return blob.ErrContainerExists()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Metadata = c.Metadata.Clone()
	return s.commit(ctx, mutation{op: opPutContainer, container: c})
}

// GetContainer implements blob.MetaStore.
func (s *Store) GetContainer(ctx context.Context, account, name string) (blob.Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.st.container(account, name)
	if c == nil {
		return blob.Container{}, blob.ErrContainerNotFound()
	}
	return c.c, nil
}

// UpdateContainer implements blob.MetaStore.
func (s *Store) UpdateContainer(ctx context.Context, account, name string, fn func(blob.Container) (blob.Container, error)) (blob.Container, error) {
	l := s.ctrLock(account, name)
	l.Lock()
	defer l.Unlock()
	cur, err := s.GetContainer(ctx, account, name)
	if err != nil {
		return blob.Container{}, err
	}
	next, err := fn(cur)
	if err != nil {
		return blob.Container{}, err
	}
	next.Account, next.Name, next.Metadata = account, name, next.Metadata.Clone()
	if err := ctx.Err(); err != nil {
		return blob.Container{}, err
	}
	if err := s.commit(ctx, mutation{op: opPutContainer, container: next}); err != nil {
		return blob.Container{}, err
	}
	return next, nil
}

// DeleteContainer implements blob.MetaStore.
func (s *Store) DeleteContainer(ctx context.Context, account, name string, fn func(blob.Container) error) ([]blob.ContentID, error) {
	l := s.ctrLock(account, name)
	l.Lock()
	defer l.Unlock()
	s.mu.RLock()
	c := s.st.container(account, name)
	var cur blob.Container
	var ids []blob.ContentID
	if c != nil {
		cur, ids = c.c, c.contents()
	}
	s.mu.RUnlock()
	if c == nil {
		return nil, blob.ErrContainerNotFound()
	}
	if err := fn(cur); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, mutation{op: opDelContainer, key: blob.BlobKey{Account: account, Container: name}}); err != nil {
		return nil, err
	}
	return ids, nil
}

// MoveContainer implements blob.MetaStore. It holds the locks of both names, taken in
// one order so that opposite moves cannot deadlock; since fn names the target, it runs
// once to learn it, and again under both locks.
func (s *Store) MoveContainer(ctx context.Context, account, name string, fn func(blob.Container) (blob.Container, error)) (blob.Container, error) {
	cur, err := s.GetContainer(ctx, account, name)
	if err != nil {
		return blob.Container{}, err
	}
	guess, err := fn(cur)
	if err != nil {
		return blob.Container{}, err
	}
	for {
		unlock := s.lockPair(s.ctrLock(account, name), s.ctrLock(guess.Account, guess.Name))
		next, err := s.moveLocked(ctx, account, name, guess, fn)
		unlock()
		if !errors.Is(err, errMoveTargetChanged) {
			return next, err
		}
		guess = next
	}
}

// errMoveTargetChanged: fn named another target under the locks than before them.
var errMoveTargetChanged = errors.New("fsmeta: the move's target changed")

func (s *Store) moveLocked(ctx context.Context, account, name string, guess blob.Container, fn func(blob.Container) (blob.Container, error)) (blob.Container, error) {
	s.mu.RLock()
	c := s.st.container(account, name)
	var cur blob.Container
	if c != nil {
		cur = c.c
	}
	s.mu.RUnlock()
	if c == nil {
		return blob.Container{}, blob.ErrContainerNotFound()
	}
	next, err := fn(cur)
	if err != nil {
		return blob.Container{}, err
	}
	if next.Account != guess.Account || next.Name != guess.Name {
		return next, errMoveTargetChanged
	}
	s.mu.RLock()
	taken := s.st.container(next.Account, next.Name) != nil
	s.mu.RUnlock()
	if taken || (next.Account == account && next.Name == name) {
		return blob.Container{}, blob.ErrContainerExists()
	}
	if err := ctx.Err(); err != nil {
		return blob.Container{}, err
	}
	next.Metadata, next.AccessPolicies = next.Metadata.Clone(), slices.Clone(next.AccessPolicies)
	next.LastModified, next.CreatedAt = next.LastModified.UTC(), next.CreatedAt.UTC()
	if err := s.commit(ctx, mutation{op: opMovContainer, key: blob.BlobKey{Account: account, Container: name}, container: next}); err != nil {
		return blob.Container{}, err
	}
	return next, nil
}

// lockPair locks two container locks (one, when they are the same) in the order of
// their place in ctrLocks, and returns their unlock.
func (s *Store) lockPair(a, b *sync.RWMutex) func() {
	if a == b {
		a.Lock()
		return a.Unlock
	}
	if s.lockIndex(b) < s.lockIndex(a) {
		a, b = b, a
	}
	a.Lock()
	b.Lock()
	return func() { b.Unlock(); a.Unlock() }
}

func (s *Store) lockIndex(l *sync.RWMutex) int {
	for i := range s.ctrLocks {
		if &s.ctrLocks[i] == l {
			return i
		}
	}
	return -1
}

// ListContainers implements blob.MetaStore.
func (s *Store) ListContainers(ctx context.Context, account, prefix, after string, limit int) ([]blob.Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.accounts[account]
	if a == nil || limit <= 0 {
		return nil, nil
	}
	var out []blob.Container
	a.names.scan(prefix, after, func(n string) bool {
		out = append(out, a.containers[n].c)
		return len(out) < limit
	})
	return out, nil
}

// GetBlob implements blob.MetaStore.
func (s *Store) GetBlob(ctx context.Context, k blob.BlobKey) (blob.BlobRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, e := s.st.entry(k)
	if c == nil {
		return blob.BlobRecord{}, blob.ErrContainerNotFound()
	}
	if e == nil || e.rec == nil {
		return blob.BlobRecord{}, blob.ErrBlobNotFound()
	}
	return *e.rec, nil
}

// UpdateBlob implements blob.MetaStore.
func (s *Store) UpdateBlob(ctx context.Context, k blob.BlobKey, withBlocks bool, fn func(blob.BlobState) (blob.BlobWrite, error)) (blob.BlobResult, error) {
	cl := s.ctrLock(k.Account, k.Container)
	cl.RLock()
	defer cl.RUnlock()
	kl := s.keyLock(k)
	kl.Lock()
	defer kl.Unlock()

	s.mu.RLock()
	c, e := s.st.entry(k)
	var st blob.BlobState
	var staged []blob.Block
	if e != nil {
		if e.rec != nil {
			r := *e.rec
			st.Blob = &r
		}
		staged = make([]blob.Block, 0, len(e.blocks))
		for _, b := range e.blocks {
			staged = append(staged, b)
		}
	}
	s.mu.RUnlock()
	if c == nil {
		return blob.BlobResult{}, blob.ErrContainerNotFound()
	}
	if withBlocks {
		st.Blocks = staged
	}
	w, err := fn(st)
	if err != nil {
		return blob.BlobResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.BlobResult{}, err
	}
	res := blob.BlobResult{Prev: st.Blob}
	if w.DropBlocks {
		res.Dropped = staged
	}
	m := mutation{op: opDelBlob, key: k, drop: w.DropBlocks}
	if w.Blob != nil {
		m.op, m.blob = opPutBlob, cloneRecord(w.Blob, k)
		if st.Blob != nil && len(st.Blob.Extents) > 1 {
			if sp := diffExtents(st.Blob.Extents, m.blob.Extents); sp.from > 0 || sp.del < len(st.Blob.Extents) {
				// Most of the extents stay: journal the change only.
				m.op, m.splice = opSpliceBlob, &sp
			}
		}
	} else if st.Blob == nil && (!w.DropBlocks || len(staged) == 0) {
		return res, nil // nothing to delete
	}
	if err := s.commit(ctx, m); err != nil {
		return blob.BlobResult{}, err
	}
	return res, nil
}

// ListBlobs implements blob.MetaStore.
func (s *Store) ListBlobs(ctx context.Context, account, ctr, prefix, after string, limit int) ([]blob.BlobRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.st.container(account, ctr)
	if c == nil {
		return nil, blob.ErrContainerNotFound()
	}
	if limit <= 0 {
		return nil, nil
	}
	var out []blob.BlobRecord
	c.names.scan(prefix, after, func(n string) bool {
		out = append(out, *c.blobs[n].rec)
		return len(out) < limit
	})
	return out, nil
}

// PutBlock implements blob.MetaStore.
func (s *Store) PutBlock(ctx context.Context, k blob.BlobKey, b blob.Block, fn func(blob.BlockSummary) error) (*blob.Block, error) {
	cl := s.ctrLock(k.Account, k.Container)
	cl.RLock()
	defer cl.RUnlock()
	kl := s.keyLock(k)
	kl.Lock()
	defer kl.Unlock()

	s.mu.RLock()
	c, e := s.st.entry(k)
	var sum blob.BlockSummary
	var prev *blob.Block
	if e != nil {
		sum.Count, sum.IDLength = len(e.blocks), e.idLen
		if old, ok := e.blocks[b.ID]; ok {
			sum.Replaces, prev = true, &old
		}
	}
	s.mu.RUnlock()
	if c == nil {
		return nil, blob.ErrContainerNotFound()
	}
	if err := fn(sum); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.CreatedAt = b.CreatedAt.UTC()
	if err := s.commit(ctx, mutation{op: opPutBlock, key: k, block: b}); err != nil {
		return nil, err
	}
	return prev, nil
}

// ListBlocks implements blob.MetaStore.
func (s *Store) ListBlocks(ctx context.Context, k blob.BlobKey) ([]blob.Block, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, e := s.st.entry(k)
	if c == nil {
		return nil, blob.ErrContainerNotFound()
	}
	out := []blob.Block{}
	if e != nil {
		for _, b := range e.blocks {
			out = append(out, b)
		}
	}
	sortBlocks(out)
	return out, nil
}

// ExpireBlocks implements blob.MetaStore.
func (s *Store) ExpireBlocks(ctx context.Context, before time.Time) ([]blob.Block, error) {
	// Find candidates without blocking writers, then drop each blob's expired blocks
	// under its locks, checking again.
	var keys []blob.BlobKey
	s.mu.RLock()
	for an, a := range s.st.accounts {
		for cn, c := range a.containers {
			for bn, e := range c.blobs {
				for _, b := range e.blocks {
					if b.CreatedAt.Before(before) {
						keys = append(keys, blob.BlobKey{Account: an, Container: cn, Name: bn})
						break
					}
				}
			}
		}
	}
	s.mu.RUnlock()
	var dropped []blob.Block
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		d, err := s.expire(ctx, k, before)
		dropped = append(dropped, d...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return dropped, errors.Join(errs...)
}

func (s *Store) expire(ctx context.Context, k blob.BlobKey, before time.Time) ([]blob.Block, error) {
	cl := s.ctrLock(k.Account, k.Container)
	cl.RLock()
	defer cl.RUnlock()
	kl := s.keyLock(k)
	kl.Lock()
	defer kl.Unlock()
	var old []blob.Block
	var ids []string
	s.mu.RLock()
	if _, e := s.st.entry(k); e != nil {
		for id, b := range e.blocks {
			if b.CreatedAt.Before(before) {
				old, ids = append(old, b), append(ids, id)
			}
		}
	}
	s.mu.RUnlock()
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.commit(ctx, mutation{op: opDropBlocks, key: k, ids: ids}); err != nil {
		return nil, err
	}
	return old, nil
}

// Contents implements blob.MetaStore.
func (s *Store) Contents(ctx context.Context, fn func(blob.ContentID) error) error {
	s.mu.RLock()
	var ids []blob.ContentID
	for _, a := range s.st.accounts {
		for _, c := range a.containers {
			ids = append(ids, c.contents()...)
		}
	}
	s.mu.RUnlock()
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// cloneRecord copies what a caller handed in, so that the store owns its values.
func cloneRecord(r *blob.BlobRecord, k blob.BlobKey) *blob.BlobRecord {
	c := *r
	c.Container, c.Name = k.Container, k.Name
	if c.BlobType == "" {
		c.BlobType = blob.BlobTypeBlock
	}
	c.CommittedBlockCount = 0 // derived, not stored
	c.Metadata = r.Metadata.Clone()
	c.Tags = r.Tags.Clone()
	c.ContentMD5 = append([]byte(nil), r.ContentMD5...)
	if len(c.ContentMD5) == 0 {
		c.ContentMD5 = nil
	}
	c.Extents = append([]blob.Extent(nil), r.Extents...)
	c.LastModified, c.CreatedAt = r.LastModified.UTC(), r.CreatedAt.UTC()
	return &c
}
