package blob

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Snapshot is a read-only copy of a blob (Snapshot Blob): its properties, metadata, tags
// and extents when it was taken. It lives in its blob's record (BlobRecord.Snapshots), so
// every write of the blob and every snapshot change is one commit: a write can never free
// content a snapshot still uses, and recovery and Delete Container find snapshot content
// with the blob's own. Azure never lets snapshots outlive their blob (deleting a blob
// that has snapshots needs x-ms-delete-snapshots).
type Snapshot struct {
	// ID is the snapshot's timestamp as x-ms-snapshot carries it (SnapshotLayout, UTC),
	// unique within the blob.
	ID string
	// Record is the blob as it was; it has no snapshots and no lease.
	Record BlobRecord
}

// SnapshotLayout is the format of a snapshot id: RFC 3339 with seven fractional digits.
const SnapshotLayout = "2006-01-02T15:04:05.0000000Z"

// MaxSnapshotsPerBlob bounds a blob's record, which carries its snapshots.
const MaxSnapshotsPerBlob = 200

// Snapshot errors, as Azure words them.
const (
	CodeSnapshotsPresent      = "SnapshotsPresent"
	CodeSnapshotCountExceeded = "SnapshotCountExceeded"
)

func errSnapshotsPresent() error {
	return lanyardConflict(CodeSnapshotsPresent, "This operation is not permitted because the blob has snapshots.")
}

func errSnapshotCountExceeded() error {
	return lanyardConflict(CodeSnapshotCountExceeded, "The snapshot count against this blob has been exceeded.")
}

// ParseSnapshotID checks a snapshot query value and returns it in canonical form; an
// invalid one is InvalidQueryParameterValue.
func ParseSnapshotID(v string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || len(v) > 64 {
		return "", errInvalid(CodeInvalidQueryValue, "Value for one of the query parameters specified in the request URI is invalid.")
	}
	return t.UTC().Format(SnapshotLayout), nil
}

// snapshotOf finds a snapshot of rec; BlobNotFound when there is none.
func snapshotOf(rec *BlobRecord, id string) (*BlobRecord, error) {
	for i := range rec.Snapshots {
		if rec.Snapshots[i].ID == id {
			r := rec.Snapshots[i].Record
			r.Container, r.Name = rec.Container, rec.Name
			return &r, nil
		}
	}
	return nil, errBlobNotFound()
}

// readRecord returns the blob's record, or its snapshot id when id is set.
func (s *Service) readRecord(ctx context.Context, key BlobKey, id string) (BlobRecord, error) {
	rec, err := s.meta.GetBlob(ctx, key)
	if err != nil || id == "" {
		return rec, err
	}
	snap, err := snapshotOf(&rec, id)
	if err != nil {
		return BlobRecord{}, err
	}
	return *snap, nil
}

// SnapshotBlobOptions are the options of Snapshot Blob.
type SnapshotBlobOptions struct {
	// Metadata, when set, is the snapshot's metadata instead of the blob's.
	Metadata   Metadata
	Conditions Conditions
}

// SnapshotBlob takes a snapshot of a blob and returns its id and properties (the
// blob's ETag and Last-Modified, which the snapshot does not change).
func (s *Service) SnapshotBlob(ctx context.Context, key BlobKey, opts SnapshotBlobOptions) (string, BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return "", BlobProperties{}, notFoundForRead(err)
	}
	if opts.Metadata != nil {
		md, err := ValidateMetadata(opts.Metadata)
		if err != nil {
			return "", BlobProperties{}, err
		}
		opts.Metadata = md
	}
	var id string
	var props BlobProperties
	_, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if err := opts.Conditions.checkOptionalLease(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		tier := cur.Tier.Settled(s.now())
		if tier.Archived() {
			return BlobWrite{}, errBlobArchived()
		}
		if len(cur.Snapshots) >= MaxSnapshotsPerBlob {
			return BlobWrite{}, errSnapshotCountExceeded()
		}
		id = s.newSnapshotID(cur)
		snap := *cur
		// A snapshot keeps the blob's tier as it stands (a pending rehydration is the
		// blob's, not the snapshot's).
		snap.Snapshots, snap.Lease, snap.Tier = nil, Lease{}, AccessTier{Tier: tier.Tier, ChangedAt: tier.ChangedAt}
		if opts.Metadata != nil {
			snap.Metadata = opts.Metadata.Clone()
		}
		n := *cur
		n.Snapshots = append(slices.Clip(cur.Snapshots), Snapshot{ID: id, Record: snap})
		props = snap.properties()
		return BlobWrite{Blob: &n}, nil
	})
	if err != nil {
		return "", BlobProperties{}, err
	}
	return id, props, nil
}

// newSnapshotID is now at 100 ns precision, moved on past the ids rec already has.
func (s *Service) newSnapshotID(rec *BlobRecord) string {
	t := s.now().UTC().Truncate(100 * time.Nanosecond)
	for {
		id := t.Format(SnapshotLayout)
		if !slices.ContainsFunc(rec.Snapshots, func(sn Snapshot) bool { return sn.ID == id }) {
			return id
		}
		t = t.Add(100 * time.Nanosecond)
	}
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
	// Snapshot deletes only that snapshot of the blob.
	Snapshot   string
	Snapshots  DeleteSnapshots
	Conditions Conditions
}

// deleteWithSnapshots runs a Delete Blob that involves snapshots: of one snapshot, of
// the snapshots only, or of the blob with them. The commit replaces the record, so the
// content only the removed snapshots (or the blob) used is released after it.
func (s *Service) deleteWithSnapshots(ctx context.Context, key BlobKey, opts DeleteBlobOptions) error {
	cond := opts.Conditions
	var next *BlobRecord
	res, err := s.meta.UpdateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if opts.Snapshot != "" {
			// A snapshot has no lease and its own conditions: they apply to it.
			snap, err := snapshotOf(cur, opts.Snapshot)
			if err != nil {
				return BlobWrite{}, err
			}
			c := cond
			c.LeaseID = ""
			if err := c.checkWriteBlob(snap, s.now()); err != nil {
				return BlobWrite{}, err
			}
			n := *cur
			n.Snapshots = slices.DeleteFunc(slices.Clone(cur.Snapshots), func(sn Snapshot) bool { return sn.ID == opts.Snapshot })
			next = &n
			return BlobWrite{Blob: &n}, nil
		}
		if err := cond.checkWriteBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		if opts.Snapshots == DeleteSnapshotsOnly {
			n := *cur
			n.Snapshots = nil
			next = &n
			return BlobWrite{Blob: &n}, nil
		}
		next = nil
		return BlobWrite{DropBlocks: true}, nil
	})
	if err != nil {
		return err
	}
	s.releaseSnapshots(res.Prev, next)
	if next == nil && res.Prev != nil {
		// The snapshots are gone too: none of them keeps the blob's content alive.
		prev := *res.Prev
		prev.Snapshots = nil
		res.Prev = &prev
		s.release(res, nil)
	}
	return nil
}

// releaseSnapshots frees the content of prev's snapshots that next no longer has,
// unless next (the blob or a remaining snapshot) still uses it. next nil means the blob
// is gone, and release handles its own extents.
func (s *Service) releaseSnapshots(prev, next *BlobRecord) {
	if prev == nil || len(prev.Snapshots) == 0 {
		return
	}
	kept := map[string]bool{}
	if next != nil {
		for _, sn := range next.Snapshots {
			kept[sn.ID] = true
		}
	}
	candidates := map[ContentID]struct{}{}
	for _, sn := range prev.Snapshots {
		if kept[sn.ID] {
			continue
		}
		for _, e := range sn.Record.Extents {
			candidates[e.Content] = struct{}{}
		}
	}
	delete(candidates, "")
	if next == nil {
		// The blob's own extents go through release; leave them out here so that
		// nothing is freed twice.
		for _, e := range prev.Extents {
			delete(candidates, e.Content)
		}
	} else {
		for _, id := range next.allContents() {
			delete(candidates, id)
		}
	}
	if len(candidates) == 0 {
		return
	}
	ids := make([]ContentID, 0, len(candidates))
	for id := range candidates {
		ids = append(ids, id)
	}
	s.reclaim.free(ids)
}

// allContents returns what the blob and its snapshots reference.
func (r *BlobRecord) allContents() []ContentID {
	ids := r.contents()
	for _, sn := range r.Snapshots {
		ids = append(ids, sn.Record.contents()...)
	}
	return ids
}

// updateBlob is MetaStore.UpdateBlob for every write that is not about snapshots: the
// blob's snapshots stay as they are (fn need not carry them), and a write that would
// delete a blob with snapshots fails with SnapshotsPresent.
func (s *Service) updateBlob(ctx context.Context, key BlobKey, withBlocks bool, fn func(BlobState) (BlobWrite, error)) (BlobResult, error) {
	return s.meta.UpdateBlob(ctx, key, withBlocks, func(st BlobState) (BlobWrite, error) {
		w, err := fn(st)
		if err != nil || st.Blob == nil || len(st.Blob.Snapshots) == 0 {
			return w, err
		}
		if w.Blob == nil {
			return BlobWrite{}, errSnapshotsPresent()
		}
		n := *w.Blob
		n.Snapshots = st.Blob.Snapshots
		w.Blob = &n
		return w, nil
	})
}

// DeleteBlobWith is Delete Blob with its snapshot options: with none it is DeleteBlob.
func (s *Service) DeleteBlobWith(ctx context.Context, key BlobKey, opts DeleteBlobOptions) error {
	if opts.Snapshot == "" && opts.Snapshots == DeleteSnapshotsNone {
		return s.DeleteBlob(ctx, key, opts.Conditions)
	}
	if err := s.validateKey(key); err != nil {
		return notFoundForRead(err)
	}
	return s.deleteWithSnapshots(ctx, key, opts)
}

// snapshotEntries lists rec's snapshots, oldest first.
func snapshotEntries(rec *BlobRecord) []ListEntry {
	out := make([]ListEntry, 0, len(rec.Snapshots))
	for _, sn := range rec.Snapshots {
		r := sn.Record
		r.Container, r.Name = rec.Container, rec.Name
		out = append(out, ListEntry{Blob: r.properties(), Snapshot: sn.ID})
	}
	slices.SortFunc(out, func(a, b ListEntry) int { return strings.Compare(a.Snapshot, b.Snapshot) })
	return out
}
