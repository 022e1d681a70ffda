package blob

import (
	"context"
	"math"
)

// Errors of Get Page Ranges with prevsnapshot, as Azure words them.
const (
	CodePreviousSnapshotNotFound              = "PreviousSnapshotNotFound"
	CodePreviousSnapshotCannotBeNewer         = "PreviousSnapshotCannotBeNewer"
	CodePreviousSnapshotOperationNotSupported = "PreviousSnapshotOperationNotSupported"
)

func errPreviousSnapshotNotFound() error {
	return lanyardConflict(CodePreviousSnapshotNotFound, "The previous snapshot is not found.")
}

func errPreviousSnapshotCannotBeNewer() error {
	return errInvalid(CodePreviousSnapshotCannotBeNewer, "The prevsnapshot query parameter value cannot be newer than snapshot query parameter value.")
}

func errPreviousSnapshotNotSupported() error {
	return lanyardConflict(CodePreviousSnapshotOperationNotSupported, "Differential Get Page Ranges is not supported on the previous snapshot.")
}

// PageDiff is the answer of Get Page Ranges with prevsnapshot: the pages written since
// the previous snapshot (Changed) and the pages that held data then and hold none now
// (Cleared), each sorted and merged where adjacent.
type PageDiff struct {
	Changed []PageRange
	Cleared []PageRange
}

// GetPageRangesDiff returns the pages of a page blob, or of its snapshot when snapshot
// is set, that changed since the blob's snapshot prev, within rg when it is not nil.
// Both ids are canonical (ParseSnapshotID), so they compare as times. The conditions
// apply to the blob (or snapshot) listed.
func (s *Service) GetPageRangesDiff(ctx context.Context, key BlobKey, snapshot, prev string, rg *Range, cond Conditions) (BlobProperties, PageDiff, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, PageDiff{}, notFoundForRead(err)
	}
	if snapshot != "" && prev > snapshot {
		return BlobProperties{}, PageDiff{}, errPreviousSnapshotCannotBeNewer()
	}
	blobRec, err := s.getRecord(ctx, key)
	if err != nil {
		return BlobProperties{}, PageDiff{}, err
	}
	rec := &blobRec
	switch {
	case snapshot != "":
		if rec, err = stateOf(&blobRec, At{Snapshot: snapshot}); err != nil {
			return BlobProperties{}, PageDiff{}, err
		}
	case blobRec.Tombstone:
		return BlobProperties{}, PageDiff{}, errBlobNotFound()
	}
	if rec.BlobType != BlobTypePage {
		return BlobProperties{}, PageDiff{}, errInvalidBlobType()
	}
	if err := cond.checkReadBlob(rec, s.now()); err != nil {
		return BlobProperties{}, PageDiff{}, err
	}
	base, err := stateOf(&blobRec, At{Snapshot: prev})
	if err != nil {
		return BlobProperties{}, PageDiff{}, errPreviousSnapshotNotFound()
	}
	if base.BlobType != BlobTypePage {
		// The blob was replaced by one of another type since: no pages to compare.
		return BlobProperties{}, PageDiff{}, errPreviousSnapshotNotSupported()
	}
	from, to, err := pageWindow(rg, rec.Size)
	if err != nil {
		return BlobProperties{}, PageDiff{}, err
	}
	return rec.properties(), diffExtents(rec.Extents, base.Extents, from, to), nil
}

// diffExtents compares two page maps (extents sorted by offset, not overlapping) over
// [from, to). Every page write stores its bytes in content of its own and a snapshot
// keeps the extents it was taken with, so a page is unchanged exactly when the same
// bytes of the same content hold it in both: the extents tell, without reading data. A
// page rewritten with the bytes it had counts as changed, as in Azure, which tracks
// writes, not contents.
func diffExtents(cur, prev []Extent, from, to int64) PageDiff {
	d := PageDiff{Changed: []PageRange{}, Cleared: []PageRange{}}
	i, j := 0, 0
	for pos := from; pos < to; {
		for i < len(cur) && cur[i].Offset+cur[i].Size <= pos {
			i++
		}
		for j < len(prev) && prev[j].Offset+prev[j].Size <= pos {
			j++
		}
		// [pos, next) lies wholly inside or wholly outside each side's extent.
		c, cNext := extentAt(cur, i, pos)
		p, pNext := extentAt(prev, j, pos)
		next := min(to, cNext, pNext)
		switch {
		case c != nil && !sameBytes(c, p, pos):
			d.Changed = appendPageRange(d.Changed, pos, next)
		case c == nil && p != nil:
			d.Cleared = appendPageRange(d.Cleared, pos, next)
		}
		pos = next
	}
	return d
}

// extentAt returns xs[i] when it holds the byte at pos (nil when no extent does), and
// where that answer next changes: the extent's end, or the start of the next one.
func extentAt(xs []Extent, i int, pos int64) (*Extent, int64) {
	if i >= len(xs) {
		return nil, math.MaxInt64
	}
	if e := &xs[i]; e.Offset <= pos {
		return e, e.Offset + e.Size
	}
	return nil, xs[i].Offset
}

// sameBytes reports whether p holds the byte at pos from the same place in the same
// content (or the same inline bytes) as c does.
func sameBytes(c, p *Extent, pos int64) bool {
	return p != nil && c.Content == p.Content && c.Inline == p.Inline && c.ContentOffset+(pos-c.Offset) == p.ContentOffset+(pos-p.Offset)
}

// appendPageRange adds the bytes [a, b) to ranges, merged with the last range when they
// touch; an empty span adds nothing.
func appendPageRange(ranges []PageRange, a, b int64) []PageRange {
	if a >= b {
		return ranges
	}
	if n := len(ranges); n > 0 && ranges[n-1].End+1 == a {
		ranges[n-1].End = b - 1
		return ranges
	}
	return append(ranges, PageRange{Start: a, End: b - 1})
}
