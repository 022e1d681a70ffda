package blob

import (
	"context"
	"slices"
	"time"
)

// Snapshot is a read-only earlier state of a blob: a snapshot (Snapshot Blob), a
// previous version (versioning), or the blob itself soft-deleted: its properties,
// metadata, tags and extents at the time. It lives in its blob's record
// (BlobRecord.Snapshots), so every write of the blob and every change of its states is
// one commit: a write can never free content a state still uses, and recovery and
// Delete Container find their content with the blob's own. Azure never lets snapshots
// outlive their blob (deleting a blob that has snapshots needs x-ms-delete-snapshots);
// versions and soft-deleted states do, in a tombstone record (BlobRecord.Tombstone).
type Snapshot struct {
	// ID is the state's timestamp as x-ms-snapshot or x-ms-version-id carries it
	// (SnapshotLayout, UTC), unique within the blob.
	ID   string
	Kind StateKind
	// Deleted is set on a soft-deleted state.
	Deleted *Deletion
	// Record is the blob as it was; it has no snapshots and no lease.
	Record BlobRecord
}

// StateKind says what an earlier state of a blob is.
type StateKind string

// State kinds.
const (
	KindSnapshot StateKind = ""  // a snapshot (Snapshot Blob, or soft delete's copy of an overwritten blob)
	KindVersion  StateKind = "v" // a previous version
	// KindBase is the blob itself, soft-deleted by Delete Blob; Undelete Blob makes it
	// the blob again.
	KindBase StateKind = "b"
)

// Deletion records that a state was soft-deleted.
type Deletion struct {
	At time.Time
	// Until is when the state is purged (the retention at the time of the deletion).
	Until time.Time
}

func (d *Deletion) equal(o *Deletion) bool {
	if d == nil || o == nil {
		return d == o
	}
	return d.At.Equal(o.At) && d.Until.Equal(o.Until)
}

// visible reports whether a state is live (not soft-deleted), or soft-deleted but
// shown (withDeleted) and not yet expired at now.
func (sn *Snapshot) visible(withDeleted bool, now time.Time) bool {
	return sn.Deleted == nil || (withDeleted && now.Before(sn.Deleted.Until))
}

// SnapshotLayout is the format of a snapshot id: RFC 3339 with seven fractional digits.
const SnapshotLayout = "2006-01-02T15:04:05.0000000Z"

// MaxSnapshotsPerBlob bounds a blob's snapshots, and MaxStatesPerBlob all its earlier
// states (snapshots, versions, soft-deleted states): its record carries them all, and
// every write of the blob rewrites it.
const (
	MaxSnapshotsPerBlob = 200
	MaxStatesPerBlob    = 1000
)

// countStates counts the live states of a kind.
func countStates(states []Snapshot, kind StateKind) int {
	n := 0
	for _, sn := range states {
		if sn.Kind == kind && sn.Deleted == nil {
			n++
		}
	}
	return n
}

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

// At names a state of a blob: its current state when both fields are empty, else the
// snapshot or the version with that id.
type At struct {
	Snapshot string
	Version  string
}

// stateOf finds the live (not soft-deleted) snapshot or version of rec that at names;
// BlobNotFound when there is none. The current version is found by its id too.
func stateOf(rec *BlobRecord, at At) (*BlobRecord, error) {
	id, kind := at.Snapshot, KindSnapshot
	if at.Version != "" {
		if !rec.Tombstone && rec.VersionID == at.Version {
			return rec, nil
		}
		id, kind = at.Version, KindVersion
	}
	for i := range rec.Snapshots {
		sn := &rec.Snapshots[i]
		if sn.ID == id && sn.Kind == kind && sn.Deleted == nil {
			r := sn.Record
			r.Container, r.Name = rec.Container, rec.Name
			if kind == KindVersion {
				r.VersionID, r.PreviousVersion = id, true
			}
			return &r, nil
		}
	}
	return nil, errBlobNotFound()
}

// getBlob is MetaStore.GetBlob for the blob itself: a tombstone is no blob.
func (s *Service) getBlob(ctx context.Context, key BlobKey) (BlobRecord, error) {
	rec, err := s.getRecord(ctx, key)
	if err == nil && rec.Tombstone {
		return BlobRecord{}, errBlobNotFound()
	}
	return rec, err
}

// getRecord is MetaStore.GetBlob, purging the expired soft-deleted states it comes
// across (which no read shows) before it returns.
func (s *Service) getRecord(ctx context.Context, key BlobKey) (BlobRecord, error) {
	rec, err := s.meta.GetBlob(ctx, key)
	if err != nil || !s.hasExpired(&rec) {
		return rec, err
	}
	s.purge(ctx, key)
	return s.meta.GetBlob(ctx, key)
}

// readRecord returns the blob's record, or the snapshot or version at names.
func (s *Service) readRecord(ctx context.Context, key BlobKey, at At) (BlobRecord, error) {
	if at == (At{}) {
		return s.getBlob(ctx, key)
	}
	rec, err := s.getRecord(ctx, key)
	if err != nil {
		return rec, err
	}
	st, err := stateOf(&rec, at)
	if err != nil {
		return BlobRecord{}, err
	}
	return *st, nil
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
		if cur == nil || cur.Tombstone {
			return BlobWrite{}, errBlobNotFound()
		}
		if err := opts.Conditions.checkOptionalLease(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		tier := cur.Tier.Settled(s.now())
		if tier.Archived() {
			return BlobWrite{}, errBlobArchived()
		}
		if countStates(cur.Snapshots, KindSnapshot) >= MaxSnapshotsPerBlob || len(cur.Snapshots) >= MaxStatesPerBlob {
			return BlobWrite{}, errSnapshotCountExceeded()
		}
		id = newStateID(cur.Snapshots, s.now())
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

// newStateID is t at 100 ns precision, moved on past the ids states already has.
func newStateID(states []Snapshot, t time.Time) string {
	t = t.UTC().Truncate(100 * time.Nanosecond)
	for {
		id := t.Format(SnapshotLayout)
		if !slices.ContainsFunc(states, func(sn Snapshot) bool { return sn.ID == id }) {
			return id
		}
		t = t.Add(100 * time.Nanosecond)
	}
}
