package blob

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// A blob's history: its snapshots, previous versions and soft-deleted states, all kept
// in its record (BlobRecord.Snapshots) so that every change is one commit. Versioning
// keeps the state every content or metadata write replaces, and the state Delete Blob
// removes, as a previous version; soft delete keeps what Delete Blob removes (and,
// without versioning, what a content write overwrites) as soft-deleted states until the
// retention ends. A blob deleted while it has such states leaves a tombstone record.
// Expired soft-deleted states are purged by the next write of the blob; reads never
// show them.

// Policy is an account's blob data protection (Set Blob Service Properties, ARM
// blobServices/default).
type Policy struct {
	Versioning bool
	// RetentionDays is how long deleted states are kept soft-deleted; 0 when soft
	// delete is off.
	RetentionDays int
}

func (p Policy) softDelete(now time.Time) *Deletion {
	if p.RetentionDays <= 0 {
		return nil
	}
	return &Deletion{At: now.UTC(), Until: now.UTC().Add(time.Duration(p.RetentionDays) * 24 * time.Hour)}
}

// CodeTooManyStates refuses a write that would keep more than MaxStatesPerBlob earlier
// states of a blob.
const CodeTooManyStates = "BlobVersionCountExceeded"

// CodeNotOnRootBlob refuses deleting the current version by its id.
const CodeNotOnRootBlob = "OperationNotAllowedOnRootBlob"

func errNotOnRootBlob() error {
	return lanyard.Errorf(lanyard.KindPermissionDenied, "This operation is not allowed on the root blob: delete the blob itself.").WithCode(CodeNotOnRootBlob)
}

func errTooManyStates() error {
	return lanyardConflict(CodeTooManyStates, "The blob has too many versions and soft-deleted states; delete some of its versions first.")
}

// policy returns the account's data protection; all off without Config.Policy.
func (s *Service) policy(ctx context.Context, account string) (Policy, error) {
	if s.policyOf == nil {
		return Policy{}, nil
	}
	return s.policyOf(ctx, account)
}

// change says what a write does to a blob, and so what its history keeps.
type change int

const (
	// changeInPlace changes the blob's state in place (properties, tags, tier, lease,
	// appends and page writes): no new version.
	changeInPlace change = iota
	// changeMetadata replaces the metadata (Set Blob Metadata): a new version.
	changeMetadata
	// changeContent replaces the content (Put Blob, Put Block List, Copy Blob): a new
	// version, or without versioning a soft-deleted snapshot of what it overwrites.
	changeContent
)

// updateBlob is MetaStore.UpdateBlob for a write that changes the blob in place: fn
// sees the blob (nil when there is none, a tombstone included) and returns it, and its
// history stays as it is.
func (s *Service) updateBlob(ctx context.Context, key BlobKey, withBlocks bool, fn func(BlobState) (BlobWrite, error)) (BlobResult, error) {
	return s.commit(ctx, key, withBlocks, changeInPlace, Policy{}, fn)
}

// writeBlob is updateBlob for a write that replaces the blob's content or metadata,
// which keeps the state it replaces as the account's policy says.
func (s *Service) writeBlob(ctx context.Context, key BlobKey, withBlocks bool, ch change, fn func(BlobState) (BlobWrite, error)) (BlobResult, error) {
	pol, err := s.policy(ctx, key.Account)
	if err != nil {
		return BlobResult{}, err
	}
	return s.commit(ctx, key, withBlocks, ch, pol, fn)
}

// commit runs fn on the blob and carries the blob's history over to what fn returns.
// The result's Prev lists, as its snapshots, the states the committed record keeps, so
// that release frees none of their content; commit itself frees what expired states
// alone referenced.
func (s *Service) commit(ctx context.Context, key BlobKey, withBlocks bool, ch change, pol Policy, fn func(BlobState) (BlobWrite, error)) (BlobResult, error) {
	var next *BlobRecord
	var purged []Snapshot
	res, err := s.meta.UpdateBlob(ctx, key, withBlocks, func(st BlobState) (BlobWrite, error) {
		now := s.now()
		cur, live := st.Blob, st.Blob
		var history []Snapshot
		purged = nil
		if cur != nil {
			history, purged = purgeExpired(cur.Snapshots, now)
			if cur.Tombstone {
				live = nil
			}
		}
		w, err := fn(BlobState{Blob: live, Blocks: st.Blocks})
		if err != nil {
			return w, err
		}
		if w.Blob == nil {
			// A deletion through this path (Delete Blob has its own) keeps no state.
			if countStates(history, KindSnapshot) > 0 {
				return BlobWrite{}, errSnapshotsPresent()
			}
			next = nil
			if len(history) > 0 {
				next = &BlobRecord{BlobProperties: BlobProperties{Container: key.Container, Name: key.Name}, Snapshots: history, Tombstone: true}
			}
			return BlobWrite{Blob: next, DropBlocks: w.DropBlocks}, nil
		}
		// A record fn made is its own: completing it in place lets the caller see the
		// version id it got. The store's own record (fn changing nothing) is copied.
		n := w.Blob
		if n == st.Blob {
			c := *n
			n = &c
			w.Blob = n
		}
		n.Tombstone = false
		if n.Snapshots, n.VersionID, err = keepReplaced(live, history, ch, pol, now); err != nil {
			return BlobWrite{}, err
		}
		if ch == changeInPlace && live != nil {
			n.VersionID = live.VersionID
		}
		next = n
		return w, nil
	})
	if err != nil {
		return res, err
	}
	s.freePurged(purged, res.Prev, next)
	if next != nil {
		s.purges.note(key, next.Snapshots)
	}
	if res.Prev != nil {
		prev := *res.Prev
		prev.Snapshots = nil
		if next != nil {
			prev.Snapshots = next.Snapshots
		}
		res.Prev = &prev
	}
	return res, nil
}

// keepReplaced returns the history a write of the blob commits, and the new current
// version id: what the write replaces (live) is kept as a previous version when
// versioning is (or was, for a blob with a version id) on, or as a soft-deleted snapshot
// when a content write overwrites it under soft delete; a soft-deleted blob written
// over stays as a soft-deleted snapshot.
func keepReplaced(live *BlobRecord, history []Snapshot, ch change, pol Policy, now time.Time) ([]Snapshot, string, error) {
	h := slices.Clone(history)
	for i := range h {
		if h[i].Kind == KindBase {
			h[i].Kind = KindSnapshot
		}
	}
	if ch == changeInPlace {
		return h, "", nil
	}
	if live != nil {
		switch {
		case pol.Versioning || live.VersionID != "":
			h = append(h, asVersion(live, h))
		case ch == changeContent && pol.RetentionDays > 0:
			h = append(h, Snapshot{ID: newStateID(h, now), Record: asState(live), Deleted: pol.softDelete(now)})
		}
	}
	if len(h) > MaxStatesPerBlob {
		return nil, "", errTooManyStates()
	}
	if !pol.Versioning {
		return h, "", nil
	}
	return h, newStateID(h, now), nil
}

// asVersion makes a previous version of live: under its own version id, or one from
// its last change for a blob written before versioning was on.
func asVersion(live *BlobRecord, h []Snapshot) Snapshot {
	id := live.VersionID
	if id == "" || slices.ContainsFunc(h, func(sn Snapshot) bool { return sn.ID == id }) {
		id = newStateID(h, live.LastModified)
	}
	return Snapshot{ID: id, Kind: KindVersion, Record: asState(live)}
}

// asState is rec as an earlier state keeps it: without history, lease or version id, in
// the tier it stands in.
func asState(rec *BlobRecord) BlobRecord {
	r := *rec
	r.Snapshots, r.Tombstone, r.Lease, r.VersionID = nil, false, Lease{}, ""
	r.Tier = AccessTier{Tier: rec.Tier.Tier, ChangedAt: rec.Tier.ChangedAt}
	return r
}

// purgeExpired splits states into those kept and the soft-deleted ones whose retention
// has ended at now.
func purgeExpired(states []Snapshot, now time.Time) (kept, purged []Snapshot) {
	for _, sn := range states {
		if sn.Deleted != nil && !now.Before(sn.Deleted.Until) {
			purged = append(purged, sn)
			continue
		}
		kept = append(kept, sn)
	}
	if len(purged) == 0 {
		return states, nil
	}
	return kept, purged
}

// freePurged frees the content only purged states referenced: not the blob's (release
// handles it) nor what next keeps.
func (s *Service) freePurged(purged []Snapshot, prev, next *BlobRecord) {
	if len(purged) == 0 {
		return
	}
	candidates := map[ContentID]struct{}{}
	for _, sn := range purged {
		for _, e := range sn.Record.Extents {
			candidates[e.Content] = struct{}{}
		}
	}
	delete(candidates, "")
	if prev != nil {
		for _, e := range prev.Extents {
			delete(candidates, e.Content)
		}
	}
	if next != nil {
		for _, id := range next.allContents() {
			delete(candidates, id)
		}
	}
	s.freeIDs(candidates)
}

func (s *Service) freeIDs(candidates map[ContentID]struct{}) {
	if len(candidates) == 0 {
		return
	}
	ids := make([]ContentID, 0, len(candidates))
	for id := range candidates {
		ids = append(ids, id)
	}
	s.reclaim.free(ids)
}

// releaseAll frees what prev (with its history) and the dropped blocks referenced and
// next (with its history) does not.
func (s *Service) releaseAll(res BlobResult, next *BlobRecord) {
	candidates := map[ContentID]struct{}{}
	if res.Prev != nil {
		for _, id := range res.Prev.allContents() {
			candidates[id] = struct{}{}
		}
	}
	for _, b := range res.Dropped {
		candidates[b.Content] = struct{}{}
	}
	delete(candidates, "")
	if next != nil {
		for _, id := range next.allContents() {
			delete(candidates, id)
		}
	}
	s.freeIDs(candidates)
}

// allContents returns what the blob and its earlier states reference.
func (r *BlobRecord) allContents() []ContentID {
	ids := r.contents()
	for _, sn := range r.Snapshots {
		ids = append(ids, sn.Record.contents()...)
	}
	return ids
}

// DeleteSnapshots says what Delete Blob does with a blob's snapshots
// (x-ms-delete-snapshots).
type DeleteSnapshots string

// DeleteSnapshots values; the zero value refuses to delete a blob that has snapshots.
const (
	DeleteSnapshotsNone    DeleteSnapshots = ""
	DeleteSnapshotsInclude DeleteSnapshots = "include"
	DeleteSnapshotsOnly    DeleteSnapshots = "only"
)

// DeleteBlobOptions are the options of Delete Blob.
type DeleteBlobOptions struct {
	// Snapshot deletes only that snapshot of the blob, Version only that previous
	// version.
	Snapshot   string
	Version    string
	Snapshots  DeleteSnapshots
	Conditions Conditions
}

// DeleteBlob deletes a blob that has no snapshots.
func (s *Service) DeleteBlob(ctx context.Context, key BlobKey, cond Conditions) error {
	return s.DeleteBlobWith(ctx, key, DeleteBlobOptions{Conditions: cond})
}

// DeleteBlobWith is Delete Blob: of the blob (with or without its snapshots), of its
// snapshots only, of one snapshot, or of one previous version. What it removes is kept
// as the account's policy says: the blob as a previous version under versioning, else
// soft-deleted under soft delete, and snapshots and versions soft-deleted under soft
// delete.
func (s *Service) DeleteBlobWith(ctx context.Context, key BlobKey, opts DeleteBlobOptions) error {
	if err := s.validateKey(key); err != nil {
		return notFoundForRead(err)
	}
	pol, err := s.policy(ctx, key.Account)
	if err != nil {
		return err
	}
	cond := opts.Conditions
	// Azure deletes an existing blob despite If-None-Match: *, which only means "create
	// only" to writes that create.
	cond.IfNoneMatch = slices.DeleteFunc(slices.Clone(cond.IfNoneMatch), func(t string) bool { return unquote(t) == "*" })
	var next *BlobRecord
	res, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		if st.Blob == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		now := s.now()
		cur := *st.Blob
		cur.Snapshots, _ = purgeExpired(cur.Snapshots, now)
		var err error
		next, err = s.deleted(&cur, opts, cond, pol, now)
		if err != nil {
			return BlobWrite{}, err
		}
		return BlobWrite{Blob: next, DropBlocks: next == nil || next.Tombstone}, nil
	})
	if err != nil {
		return err
	}
	s.releaseAll(res, next)
	if next != nil {
		s.purges.note(key, next.Snapshots)
	}
	return nil
}

// deleted returns what Delete Blob leaves of cur: nil for nothing.
func (s *Service) deleted(cur *BlobRecord, opts DeleteBlobOptions, cond Conditions, pol Policy, now time.Time) (*BlobRecord, error) {
	n := *cur
	n.Snapshots = slices.Clone(cur.Snapshots)
	soft := pol.softDelete(now)
	// drop removes the states that match, or soft-deletes them.
	drop := func(match func(*Snapshot) bool) {
		out := n.Snapshots[:0]
		for _, sn := range n.Snapshots {
			if sn.Deleted == nil && match(&sn) {
				if soft == nil {
					continue
				}
				sn.Deleted = soft
			}
			out = append(out, sn)
		}
		n.Snapshots = out
	}
	if opts.Version != "" && !cur.Tombstone && cur.VersionID == opts.Version {
		// Azure deletes the current version only as the blob (without versionid).
		return nil, errNotOnRootBlob()
	}
	if opts.Snapshot != "" || opts.Version != "" {
		at := At{Snapshot: opts.Snapshot, Version: opts.Version}
		st, err := stateOf(cur, at)
		if err != nil {
			return nil, err
		}
		// A state has no lease and its own conditions: they apply to it.
		c := cond
		c.LeaseID = ""
		if err := c.checkWriteBlob(st, now); err != nil {
			return nil, err
		}
		id, kind := opts.Snapshot, KindSnapshot
		if opts.Version != "" {
			id, kind = opts.Version, KindVersion
		}
		drop(func(sn *Snapshot) bool { return sn.ID == id && sn.Kind == kind })
		return leftOf(&n), nil
	}
	if cur.Tombstone {
		return nil, errBlobNotFound()
	}
	if err := cond.checkWriteBlob(cur, now); err != nil {
		return nil, err
	}
	snapshots := func(sn *Snapshot) bool { return sn.Kind == KindSnapshot }
	if countStates(cur.Snapshots, KindSnapshot) > 0 && opts.Snapshots == DeleteSnapshotsNone {
		return nil, errSnapshotsPresent()
	}
	drop(snapshots)
	if opts.Snapshots == DeleteSnapshotsOnly {
		return &n, nil
	}
	switch {
	case pol.Versioning || cur.VersionID != "":
		n.Snapshots = append(n.Snapshots, asVersion(cur, n.Snapshots))
	case soft != nil:
		n.Snapshots = append(n.Snapshots, Snapshot{ID: newStateID(n.Snapshots, now), Kind: KindBase, Record: asState(cur), Deleted: soft})
	}
	if len(n.Snapshots) > MaxStatesPerBlob {
		return nil, errTooManyStates()
	}
	n.Tombstone = true
	return leftOf(&n), nil
}

// leftOf is n as a record to commit: a tombstone without states is no record.
func leftOf(n *BlobRecord) *BlobRecord {
	if !n.Tombstone {
		return n
	}
	if len(n.Snapshots) == 0 {
		return nil
	}
	return &BlobRecord{BlobProperties: BlobProperties{Container: n.Container, Name: n.Name}, Snapshots: n.Snapshots, Tombstone: true}
}

// UndeleteBlob restores a blob's soft-deleted snapshots and versions and, when the blob
// itself is soft-deleted, the blob (Undelete Blob). Under versioning a deleted blob
// stays deleted: it comes back by copying a version over it, as in Azure.
func (s *Service) UndeleteBlob(ctx context.Context, key BlobKey) error {
	if err := s.validateKey(key); err != nil {
		return notFoundForRead(err)
	}
	// Expired states are not restored: purge them first.
	if _, err := s.getRecord(ctx, key); err != nil {
		return err
	}
	var next *BlobRecord
	res, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		if st.Blob == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		cur := *st.Blob
		states, _ := purgeExpired(cur.Snapshots, s.now())
		// The blob's latest soft-deleted state comes back as the blob, when it is deleted.
		base := -1
		for i, sn := range states {
			if sn.Kind == KindBase && cur.Tombstone && (base < 0 || sn.ID > states[base].ID) {
				base = i
			}
		}
		restored := make([]Snapshot, 0, len(states))
		for i, sn := range states {
			if i == base {
				continue
			}
			if sn.Kind == KindBase {
				sn.Kind = KindSnapshot
			}
			sn.Deleted = nil
			restored = append(restored, sn)
		}
		n := cur
		switch {
		case base >= 0:
			n = states[base].Record
			n.Container, n.Name = cur.Container, cur.Name
		case cur.Tombstone && len(restored) == 0:
			return BlobWrite{}, errBlobNotFound()
		}
		n.Snapshots = restored
		next = &n
		return BlobWrite{Blob: next}, nil
	})
	if err != nil {
		return err
	}
	s.releaseAll(res, next)
	return nil
}

// setStateTags replaces the tags of a snapshot or previous version (Set Blob Tags with
// snapshot= or versionid=).
func (s *Service) setStateTags(ctx context.Context, key BlobKey, at At, tags Tags, cond Conditions) error {
	_, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		if st.Blob == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		cur := st.Blob
		if at.Version != "" && !cur.Tombstone && cur.VersionID == at.Version {
			return s.retagged(cur, tags, cond)
		}
		state, err := stateOf(cur, at)
		if err != nil {
			return BlobWrite{}, err
		}
		// A snapshot or previous version has no lease of its own.
		c := cond
		c.LeaseID = ""
		if err := c.checkOptionalLease(state, s.now()); err != nil {
			return BlobWrite{}, err
		}
		id, kind := at.Snapshot, KindSnapshot
		if at.Version != "" {
			id, kind = at.Version, KindVersion
		}
		n := *cur
		n.Snapshots = slices.Clone(cur.Snapshots)
		for i := range n.Snapshots {
			if sn := &n.Snapshots[i]; sn.ID == id && sn.Kind == kind {
				sn.Record.Tags = tags.Clone()
			}
		}
		return BlobWrite{Blob: &n}, nil
	})
	return err
}

// Policy returns the account's blob versioning and soft delete settings.
func (s *Service) Policy(ctx context.Context, account string) (Policy, error) {
	return s.policy(ctx, account)
}

// errNothingExpired stops a purge that finds nothing to do.
var errNothingExpired = errors.New("blob: no expired states")

// purge drops the blob's expired soft-deleted states, and the record with them when it
// is a tombstone with nothing else, freeing what only they used. Reads that come across
// expired states call it, so that a blob nobody writes again does not keep them.
func (s *Service) purge(ctx context.Context, key BlobKey) {
	var next *BlobRecord
	res, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		if st.Blob == nil {
			return BlobWrite{}, errNothingExpired
		}
		kept, purged := purgeExpired(st.Blob.Snapshots, s.now())
		if len(purged) == 0 {
			return BlobWrite{}, errNothingExpired
		}
		n := *st.Blob
		n.Snapshots = kept
		next = leftOf(&n)
		return BlobWrite{Blob: next, DropBlocks: next == nil}, nil
	})
	if err != nil {
		if !errors.Is(err, errNothingExpired) && !refused(err) {
			s.log.Warn("blob: purging expired soft-deleted states", "blob", key.Name, "err", err)
		}
		return
	}
	s.releaseAll(res, next)
	if next != nil {
		s.purges.note(key, next.Snapshots)
	}
}

// hasExpired reports whether rec has soft-deleted states whose retention has ended.
func (s *Service) hasExpired(rec *BlobRecord) bool {
	now := s.now()
	return slices.ContainsFunc(rec.Snapshots, func(sn Snapshot) bool { return sn.Deleted != nil && !now.Before(sn.Deleted.Until) })
}

// ErrRehydrateVersion refuses taking a previous version out of Archive, which Lanyard
// does not serve (a version keeps a tier, not a rehydration).
var ErrRehydrateVersion = errors.New("blob: rehydrating a previous version is not served")

// setVersionTier is Set Blob Tier of a version: the version named by its id, current
// or previous. A previous version keeps its tier, not a rehydration: taking one out of
// Archive is not served.
func (s *Service) setVersionTier(ctx context.Context, in SetBlobTierInput) (accepted bool, err error) {
	_, err = s.meta.UpdateBlob(ctx, in.Key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if !cur.Tombstone && cur.VersionID == in.Version {
			next, acc, err := s.retiered(cur, in, in.Conditions)
			accepted = acc
			return BlobWrite{Blob: next}, err
		}
		ver, err := stateOf(cur, At{Version: in.Version})
		if err != nil {
			return BlobWrite{}, err
		}
		c := in.Conditions
		c.LeaseID = "" // a version has no lease
		next, acc, err := s.retiered(ver, in, c)
		if err != nil {
			return BlobWrite{}, err
		}
		if acc {
			return BlobWrite{}, ErrRehydrateVersion
		}
		n := *cur
		n.Snapshots = slices.Clone(cur.Snapshots)
		for i := range n.Snapshots {
			if sn := &n.Snapshots[i]; sn.ID == in.Version && sn.Kind == KindVersion {
				sn.Record.Tier = AccessTier{Tier: next.Tier.Tier, ChangedAt: next.Tier.ChangedAt}
			}
		}
		return BlobWrite{Blob: &n}, nil
	})
	return accepted, err
}
