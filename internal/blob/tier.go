package blob

import (
	"context"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Access tiers of a block blob (x-ms-access-tier), and rehydrate priorities.
const (
	TierHot     = "Hot"
	TierCool    = "Cool"
	TierCold    = "Cold"
	TierArchive = "Archive"

	RehydrateStandard = "Standard"
	RehydrateHigh     = "High"
)

// DefaultRehydrateDelay is how long a rehydration from Archive takes when the
// configuration does not say: short, for Azure's hours would only stall a test.
const DefaultRehydrateDelay = 10 * time.Second

// Error codes of tiers.
const (
	CodeBlobArchived        = "BlobArchived"
	CodeBlobBeingRehydrated = "BlobBeingRehydrated"
)

// AccessTier is a block blob's tier state. It is part of the blob's record. A
// rehydration completes by the clock, not by a timer: readers apply it (Settled) once
// RehydrateAt has passed, so every node sharing the records agrees without anything
// running in the background.
type AccessTier struct {
	// Tier is Hot, Cool, Cold or Archive; "" when never set (Hot, inferred).
	Tier string
	// ChangedAt is when the tier was last set; zero when never.
	ChangedAt time.Time
	// RehydrateTo is the online tier an archived blob is being rehydrated to; "" when
	// no rehydration is pending.
	RehydrateTo string
	// RehydratePriority is the pending rehydration's priority.
	RehydratePriority string
	// RehydrateAt is when the pending rehydration completes.
	RehydrateAt time.Time
}

// Settled returns the tier state as of now: a rehydration whose time has come is done.
func (t AccessTier) Settled(now time.Time) AccessTier {
	if t.RehydrateTo == "" || now.Before(t.RehydrateAt) {
		return t
	}
	return AccessTier{Tier: t.RehydrateTo, ChangedAt: t.RehydrateAt}
}

// Effective is the tier the blob is in: Hot when never set.
func (t AccessTier) Effective() string {
	if t.Tier == "" {
		return TierHot
	}
	return t.Tier
}

// Inferred reports whether the tier was never set.
func (t AccessTier) Inferred() bool { return t.Tier == "" }

// Archived reports whether the blob is offline: in Archive, rehydrating or not.
func (t AccessTier) Archived() bool { return t.Tier == TierArchive }

// ArchiveStatus is x-ms-archive-status: rehydrate-pending-to-{tier} while a
// rehydration is pending, "" otherwise.
func (t AccessTier) ArchiveStatus() string {
	if t.RehydrateTo == "" {
		return ""
	}
	return "rehydrate-pending-to-" + strings.ToLower(t.RehydrateTo)
}

// ParseAccessTier returns the canonical name of a block blob tier (case-insensitive,
// as Azure accepts it), false for anything else.
func ParseAccessTier(s string) (string, bool) {
	for _, t := range []string{TierHot, TierCool, TierCold, TierArchive} {
		if strings.EqualFold(s, t) {
			return t, true
		}
	}
	return "", false
}

// ParseRehydratePriority returns the canonical name of a rehydrate priority, Standard
// for "", false for anything else.
func ParseRehydratePriority(s string) (string, bool) {
	switch {
	case s == "":
		return RehydrateStandard, true
	case strings.EqualFold(s, RehydrateStandard):
		return RehydrateStandard, true
	case strings.EqualFold(s, RehydrateHigh):
		return RehydrateHigh, true
	}
	return "", false
}

// uploadTier is the tier state of a blob an upload creates with tier ("" for none).
func uploadTier(tier string, now time.Time) AccessTier {
	if tier == "" {
		return AccessTier{}
	}
	return AccessTier{Tier: tier, ChangedAt: now}
}

func errBlobArchived() error {
	return lanyardConflict(CodeBlobArchived, "This operation is not permitted on an archived blob.")
}

func errBlobBeingRehydrated() error {
	return lanyardConflict(CodeBlobBeingRehydrated, "This operation is not permitted because the blob is being rehydrated.")
}

// refuseArchived fails with BlobArchived when r (settled at now) is offline.
func refuseArchived(r *BlobRecord, now time.Time) error {
	if r != nil && r.Tier.Settled(now).Archived() {
		return errBlobArchived()
	}
	return nil
}

// SetBlobTierInput is a Set Blob Tier request. Tier and Priority are canonical (see
// ParseAccessTier, ParseRehydratePriority).
type SetBlobTierInput struct {
	Key BlobKey
	// Version sets the tier of that version of the blob.
	Version    string
	Tier       string
	Priority   string
	Conditions Conditions
}

// SetBlobTier changes a block blob's tier. Leaving Archive starts a rehydration that
// completes after the Service's rehydrate delay; accepted reports that one was started
// (or is still pending), which Azure answers 202. Neither ETag nor Last-Modified change.
func (s *Service) SetBlobTier(ctx context.Context, in SetBlobTierInput) (accepted bool, err error) {
	if err := s.validateKey(in.Key); err != nil {
		return false, notFoundForRead(err)
	}
	if _, ok := ParseAccessTier(in.Tier); !ok {
		return false, lanyard.Errorf(lanyard.KindInvalid, "The value for one of the HTTP headers is not in the correct format.").WithCode(CodeInvalidHeaderValue)
	}
	if in.Version != "" {
		return s.setVersionTier(ctx, in)
	}
	_, err = s.updateBlob(ctx, in.Key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		next, acc, err := s.retiered(cur, in, in.Conditions)
		accepted = acc
		return BlobWrite{Blob: next}, err
	})
	if err != nil {
		return false, err
	}
	return accepted, nil
}

// retiered is r with in.Tier set, after checking cond, and whether a rehydration is
// (still) pending.
func (s *Service) retiered(r *BlobRecord, in SetBlobTierInput, cond Conditions) (*BlobRecord, bool, error) {
	now := s.now()
	if err := cond.checkTierBlob(r, now); err != nil {
		return nil, false, err
	}
	if r.BlobType != BlobTypeBlock {
		return nil, false, errInvalidBlobType()
	}
	t, changed, accepted, err := s.nextTier(r.Tier.Settled(now), in, s.timestamp())
	if err != nil || !changed {
		return r, accepted, err
	}
	next := *r
	next.Tier = t
	return &next, accepted, nil
}

// nextTier is the tier state after setting in.Tier on cur: whether it changed, and
// whether a rehydration is (still) pending.
func (s *Service) nextTier(cur AccessTier, in SetBlobTierInput, now time.Time) (next AccessTier, changed, pending bool, err error) {
	switch {
	case cur.RehydrateTo != "":
		// A pending rehydration is not cancelled nor redirected; only its priority may
		// be raised.
		if in.Tier != cur.RehydrateTo {
			return cur, false, false, errBlobBeingRehydrated()
		}
		if in.Priority == RehydrateHigh && cur.RehydratePriority != RehydrateHigh {
			cur.RehydratePriority = RehydrateHigh
			return cur, true, true, nil
		}
		return cur, false, true, nil
	case cur.Archived() && in.Tier != TierArchive:
		return AccessTier{Tier: TierArchive, ChangedAt: cur.ChangedAt, RehydrateTo: in.Tier,
			RehydratePriority: in.Priority, RehydrateAt: now.Add(s.rehydrateDelay)}, true, true, nil
	case cur.Tier == in.Tier:
		return cur, false, false, nil
	}
	return AccessTier{Tier: in.Tier, ChangedAt: now}, true, false, nil
}

// checkTierBlob checks what Set Blob Tier honours of the conditions: the lease and
// x-ms-if-tags, not ETags nor dates.
func (c Conditions) checkTierBlob(r *BlobRecord, now time.Time) error {
	if err := r.Lease.checkUse(c.LeaseID, false, now, onBlob); err != nil {
		return err
	}
	return c.checkTags(r)
}

// settled returns p with its tier state as of now.
func (s *Service) settled(p BlobProperties) BlobProperties {
	p.Tier = p.Tier.Settled(s.now())
	return p
}
