package blob

import (
	"context"
	"time"
)

// Lease is the stored lease of a blob or a container. It is plain data that the MetaStore
// keeps with the record, so every node sharing a store sees one lease; its state at a
// given time is computed from the times it holds (see State), so nothing runs when a lease
// expires or a break period ends.
type Lease struct {
	// ID is the lease id, a GUID in canonical form (lower-case, hyphenated); "" when the
	// resource has no lease (never had one, or it was released).
	ID string
	// Phase is what the last lease operation left: "" (none), LeasePhaseLeased,
	// LeasePhaseBreaking or LeasePhaseBroken.
	Phase string
	// Duration is a lease's length in seconds, LeaseInfinite for one without end.
	Duration int
	// Until is when a fixed lease ends (Phase leased) or when a break period ends (Phase
	// breaking); zero otherwise.
	Until time.Time
}

// Phases of a stored lease.
const (
	LeasePhaseLeased   = "leased"
	LeasePhaseBreaking = "breaking"
	LeasePhaseBroken   = "broken"
)

// LeaseState is a lease's state at a point in time, as x-ms-lease-state names it.
type LeaseState string

// Lease states.
const (
	LeaseAvailable LeaseState = "available"
	LeaseLeased    LeaseState = "leased"
	LeaseExpired   LeaseState = "expired"
	LeaseBreaking  LeaseState = "breaking"
	LeaseBroken    LeaseState = "broken"
)

// Lease limits, as Azure has them.
const (
	LeaseInfinite       = -1
	MinLeaseDuration    = 15
	MaxLeaseDuration    = 60
	MaxLeaseBreakPeriod = 60
)

// IsZero reports whether l is no lease at all.
func (l Lease) IsZero() bool { return l == Lease{} }

// State returns the lease's state at now.
func (l Lease) State(now time.Time) LeaseState {
	switch l.Phase {
	case LeasePhaseLeased:
		if l.Duration != LeaseInfinite && !now.Before(l.Until) {
			return LeaseExpired
		}
		return LeaseLeased
	case LeasePhaseBreaking:
		if !now.Before(l.Until) {
			return LeaseBroken
		}
		return LeaseBreaking
	case LeasePhaseBroken:
		return LeaseBroken
	}
	return LeaseAvailable
}

// Locked reports whether the lease holds the resource at now (x-ms-lease-status locked):
// while leased, and while breaking.
func (l Lease) Locked(now time.Time) bool {
	s := l.State(now)
	return s == LeaseLeased || s == LeaseBreaking
}

// Infinite reports whether an active lease has no end (x-ms-lease-duration infinite).
func (l Lease) Infinite() bool { return l.Duration == LeaseInfinite }

// leaseTarget names what a lease is on in the error codes of operations that are not
// lease operations: "Blob" or "Container".
type leaseTarget string

const (
	onBlob      leaseTarget = "Blob"
	onContainer leaseTarget = "Container"
)

// checkUse checks an operation on a leased resource against the lease id it gave ("" for
// none). With required, the operation needs the id while the lease holds the resource
// (writes and deletes); without, an id is only checked when given (Azure's optional
// x-ms-lease-id of Set Container Metadata and of reads).
func (l Lease) checkUse(id string, required bool, now time.Time, on leaseTarget) error {
	if l.Locked(now) {
		switch {
		case id == "" && required:
			return errLease(CodeLeaseIDMissing, "There is currently a lease on the "+lower(on)+" and no lease ID was specified in the request.")
		case id != "" && !SameLeaseID(id, l.ID):
			return errLease("LeaseIdMismatchWith"+string(on)+"Operation", "The lease ID specified did not match the lease ID for the "+lower(on)+".")
		}
		return nil
	}
	if id == "" {
		return nil
	}
	if l.State(now) == LeaseAvailable {
		return errLease("LeaseNotPresentWith"+string(on)+"Operation", "There is currently no lease on the "+lower(on)+".")
	}
	return errLease(CodeLeaseLost, "A lease ID was specified, but the lease for the "+lower(on)+" has expired.")
}

func lower(on leaseTarget) string {
	if on == onBlob {
		return "blob"
	}
	return "container"
}

// leaseOf returns a record's lease, none for no record: a blob replaced by a write keeps
// its lease, as in Azure.
func leaseOf(r *BlobRecord) Lease {
	if r == nil {
		return Lease{}
	}
	return r.Lease
}

// Now is the service's clock, for the state of the leases it hands out (Lease.State).
func (s *Service) Now() time.Time { return s.now() }

// CheckBlobLease checks a write that does not change the committed blob (Put Block)
// against the blob's lease, as Azure does. The check is advisory: a lease acquired right
// after it does not undo the staged block, but the block can only be committed (Put Block
// List) with the lease id, and that check is atomic.
func (s *Service) CheckBlobLease(ctx context.Context, key BlobKey, leaseID string) error {
	if err := s.validateKey(key); err != nil {
		return err
	}
	rec, err := s.getBlob(ctx, key)
	var cur *BlobRecord
	switch {
	case err == nil:
		cur = &rec
	case CodeOf(err) != CodeBlobNotFound:
		return err
	}
	return leaseOf(cur).checkUse(leaseID, true, s.now(), onBlob)
}

// CheckContainerLease checks a read of a container (Get Container Properties, Get
// Container Metadata) that names a lease id: it must be the container's active lease.
func (s *Service) CheckContainerLease(c Container, leaseID string) error {
	return c.Lease.checkUse(leaseID, false, s.now(), onContainer)
}
