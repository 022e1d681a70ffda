package blob

import (
	"context"
	"io"
	"math"
	"slices"
)

// Page blobs are stored sparsely: each Put Page writes its bytes to a content file of
// their own, and the blob's record maps page ranges to content (see Extent). Pages never
// written, or cleared, have no extent and read as zeros, so a terabyte blob with a few
// pages costs a few pages of disk.

// CreatePageBlob creates a page blob of in.Size bytes, all zeros.
func (s *Service) CreatePageBlob(ctx context.Context, in CreateBlobInput) (BlobProperties, error) {
	if in.Size < 0 || in.Size%PageSize != 0 || in.Size > MaxPageBlobSize {
		return BlobProperties{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
	}
	if in.SequenceNumber < 0 {
		return BlobProperties{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
	}
	return s.createEmpty(ctx, in, BlobTypePage)
}

// SequenceConditions are the x-ms-if-sequence-number-le/lt/eq conditions of page writes.
type SequenceConditions struct {
	LE, LT, EQ *int64
}

func (c SequenceConditions) check(seq int64) error {
	if (c.LE != nil && seq > *c.LE) || (c.LT != nil && seq >= *c.LT) || (c.EQ != nil && seq != *c.EQ) {
		return errPrecondition(CodeSequenceNumberConditionNotMet, "The sequence number condition specified was not met.")
	}
	return nil
}

// PutPagesInput is a Put Page request: an update writes Body over [Start, End], a clear
// (Clear set, no body) zeroes the range.
type PutPagesInput struct {
	Key          BlobKey
	Start, End   int64 // inclusive, page-aligned
	Clear        bool
	Body         io.Reader
	ContentMD5   []byte
	ContentCRC64 []byte
	Conditions   Conditions
	Sequence     SequenceConditions
}

// PutPagesResult describes a page write.
type PutPagesResult struct {
	BlobProperties
	ContentMD5 []byte // of the body; nil for a clear
	CRC64      uint64
}

// PutPages writes or clears a page range of a page blob. The pages are durable when the
// call returns; concurrent writes to one blob are committed together (see combine), in
// the order they arrived, the later winning where they overlap.
func (s *Service) PutPages(ctx context.Context, in PutPagesInput) (PutPagesResult, error) {
	if err := s.validateKey(in.Key); err != nil {
		return PutPagesResult{}, notFoundForRead(err)
	}
	if in.Start < 0 || in.Start%PageSize != 0 || (in.End+1)%PageSize != 0 || in.End < in.Start {
		return PutPagesResult{}, errInvalidPageRange()
	}
	size := in.End - in.Start + 1
	if !in.Clear && size > MaxPageWrite {
		return PutPagesResult{}, errTooLarge(CodeRequestBodyTooLarge, "The request body is too large and exceeds the maximum permissible limit.")
	}
	check := func(cur *BlobRecord) error {
		if cur.BlobType != BlobTypePage {
			return errInvalidBlobType()
		}
		if err := in.Conditions.checkWriteBlob(cur, s.now()); err != nil {
			return err
		}
		if err := in.Sequence.check(cur.SequenceNumber); err != nil {
			return err
		}
		if in.End >= cur.Size {
			return errInvalidPageRange()
		}
		return nil
	}
	// Refusals are rare and found at commit (see AppendBlock).
	if _, err := s.meta.GetContainer(ctx, in.Key.Account, in.Key.Container); err != nil {
		return PutPagesResult{}, err
	}
	var (
		w   written
		err error
	)
	if !in.Clear {
		if w, err = s.receive(ctx, in.Body, size, in.ContentMD5, in.ContentCRC64); err != nil {
			return PutPagesResult{}, err
		}
	}
	cw := &combinedWrite{content: w.id, data: w.data}
	cw.apply = func(cur *BlobRecord, _ bool) (*BlobRecord, error) {
		if cur == nil {
			return nil, errBlobNotFound()
		}
		if err := check(cur); err != nil {
			return nil, err
		}
		n := *cur
		n.Extents = cutPages(cur.Extents, in.Start, in.End+1)
		if !in.Clear {
			// cutPages keeps the order and left a gap for the new extent.
			i, _ := slices.BinarySearchFunc(n.Extents, in.Start, func(e Extent, off int64) int { return cmpInt64(e.Offset, off) })
			n.Extents = slices.Insert(n.Extents, i, Extent{Content: cw.content, ContentOffset: cw.offset, Size: size, Offset: in.Start})
		}
		now := s.timestamp()
		n.ETag, n.LastModified = newETag(now), now
		return &n, nil
	}
	next, err := s.combine(ctx, in.Key, cw)
	if err != nil {
		s.discard(w.id, err)
		return PutPagesResult{}, err
	}
	return PutPagesResult{BlobProperties: next.properties(), ContentMD5: w.md5, CRC64: w.crc64}, nil
}

// cutPages returns xs without the bytes in [from, to): extents inside it go, extents
// across its edges are trimmed to what lies outside.
func cutPages(xs []Extent, from, to int64) []Extent {
	out := make([]Extent, 0, len(xs)+2)
	for _, e := range xs {
		end := e.Offset + e.Size
		if end <= from || e.Offset >= to {
			out = append(out, e)
			continue
		}
		if e.Offset < from {
			l := e
			l.Size = from - e.Offset
			out = append(out, l)
		}
		if end > to {
			r := e
			r.Offset, r.Size = to, end-to
			r.ContentOffset = e.ContentOffset + (to - e.Offset)
			out = append(out, r)
		}
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// PageRange is an inclusive range of written pages.
type PageRange struct {
	Start, End int64
}

// GetPageRanges returns the written page ranges of a page blob, adjacent ones merged,
// within rg when it is not nil.
func (s *Service) GetPageRanges(ctx context.Context, key BlobKey, rg *Range, cond Conditions) (BlobProperties, []PageRange, error) {
	return s.GetPageRangesAt(ctx, key, At{}, rg, cond)
}

// GetPageRangesAt is GetPageRanges of a snapshot or version of the blob (the zero At for
// the blob itself).
func (s *Service) GetPageRangesAt(ctx context.Context, key BlobKey, at At, rg *Range, cond Conditions) (BlobProperties, []PageRange, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, nil, notFoundForRead(err)
	}
	rec, err := s.readRecord(ctx, key, at)
	if err != nil {
		return BlobProperties{}, nil, err
	}
	if rec.BlobType != BlobTypePage {
		return BlobProperties{}, nil, errInvalidBlobType()
	}
	if err := cond.checkReadBlob(&rec, s.now()); err != nil {
		return BlobProperties{}, nil, err
	}
	from, to, err := pageWindow(rg, rec.Size)
	if err != nil {
		return BlobProperties{}, nil, err
	}
	// One range per extent, as written: Azure lists pages written by separate Put Page
	// calls as separate ranges even when they touch (Azurite's page blob tests expect the
	// same), and a client reads the list either way.
	ranges := []PageRange{}
	for _, e := range rec.Extents {
		if a, b := max(e.Offset, from), min(e.Offset+e.Size, to); a < b {
			ranges = append(ranges, PageRange{Start: a, End: b - 1})
		}
	}
	return rec.properties(), ranges, nil
}

// pageWindow is the window [from, to) of a page blob of size bytes that Get Page Ranges
// lists: all of it, or what rg names.
func pageWindow(rg *Range, size int64) (from, to int64, err error) {
	from, to = 0, size
	if rg != nil {
		if rg.Start < 0 || (rg.End >= 0 && rg.End < rg.Start) {
			return 0, 0, errInvalidRange()
		}
		if rg.Start >= size {
			// Azure refuses a window that starts past the blob's end (Azure/Azurite#640).
			return 0, 0, errInvalidPageRange()
		}
		from = rg.Start
		if rg.End >= 0 && rg.End+1 < to {
			to = rg.End + 1
		}
	}
	return from, to, nil
}

// Sequence number actions of Set Blob Properties (x-ms-sequence-number-action).
const (
	SequenceMax       = "max"
	SequenceUpdate    = "update"
	SequenceIncrement = "increment"
)

// PageBlobUpdate is what Set Blob Properties changes on a page blob: its size (Resize)
// and its sequence number.
type PageBlobUpdate struct {
	Size           *int64
	SequenceAction string // "" leaves the sequence number
	SequenceNumber int64  // for max and update
	Conditions     Conditions
}

// UpdatePageBlob resizes a page blob and/or sets its sequence number in one commit.
// Shrinking drops the pages past the new end; growing adds zeros.
func (s *Service) UpdatePageBlob(ctx context.Context, key BlobKey, u PageBlobUpdate) (BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, notFoundForRead(err)
	}
	if u.Size != nil && (*u.Size < 0 || *u.Size%PageSize != 0 || *u.Size > MaxPageBlobSize) {
		return BlobProperties{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
	}
	switch u.SequenceAction {
	case "", SequenceIncrement:
	case SequenceMax, SequenceUpdate:
		if u.SequenceNumber < 0 {
			return BlobProperties{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
		}
	default:
		return BlobProperties{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
	}
	var next *BlobRecord
	res, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if cur.BlobType != BlobTypePage {
			return BlobWrite{}, errInvalidBlobType()
		}
		if err := u.Conditions.checkWriteBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		n := *cur
		if u.Size != nil {
			n.Size = *u.Size
			if n.Size < cur.Size {
				n.Extents = cutPages(cur.Extents, n.Size, cur.Size)
			}
		}
		switch u.SequenceAction {
		case SequenceMax:
			n.SequenceNumber = max(cur.SequenceNumber, u.SequenceNumber)
		case SequenceUpdate:
			n.SequenceNumber = u.SequenceNumber
		case SequenceIncrement:
			if cur.SequenceNumber == math.MaxInt64 {
				return BlobWrite{}, lanyardConflict(CodeSequenceNumberIncrementTooLarge, "Setting the sequence number would exceed the maximum allowed value.")
			}
			n.SequenceNumber = cur.SequenceNumber + 1
		}
		now := s.timestamp()
		n.ETag, n.LastModified = newETag(now), now
		next = &n
		return BlobWrite{Blob: next}, nil
	})
	if err != nil {
		return BlobProperties{}, err
	}
	s.release(res, next)
	return next.properties(), nil
}
