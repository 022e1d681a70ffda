package blob

import (
	"context"
	"hash"
	"io"
	"time"
)

// CreateBlobInput creates an empty append blob or page blob (Put Blob with
// x-ms-blob-type AppendBlob or PageBlob), replacing any blob of the name.
type CreateBlobInput struct {
	Key      BlobKey
	Headers  HTTPHeaders
	Metadata Metadata
	Tags     Tags // x-ms-tags, validated
	// Size and SequenceNumber are a page blob's; Size must be a multiple of PageSize.
	Size           int64
	SequenceNumber int64
	Conditions     Conditions
}

// CreateAppendBlob creates an empty append blob.
func (s *Service) CreateAppendBlob(ctx context.Context, in CreateBlobInput) (BlobProperties, error) {
	return s.createEmpty(ctx, in, BlobTypeAppend)
}

func (s *Service) createEmpty(ctx context.Context, in CreateBlobInput, blobType string) (BlobProperties, error) {
	if err := s.validateKey(in.Key); err != nil {
		return BlobProperties{}, err
	}
	md, err := ValidateMetadata(in.Metadata)
	if err != nil {
		return BlobProperties{}, err
	}
	var next *BlobRecord
	res, err := s.writeBlob(ctx, in.Key, false, changeContent, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if err := in.Conditions.checkCreateBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		now := s.timestamp()
		next = &BlobRecord{BlobProperties: BlobProperties{
			Container: in.Key.Container, Name: in.Key.Name, Size: in.Size,
			HTTPHeaders: in.Headers, Metadata: md, Tags: in.Tags.Clone(),
			ETag: newETag(now), LastModified: now, CreatedAt: createdAt(cur, now),
			BlobType: blobType, SequenceNumber: in.SequenceNumber, Lease: leaseOf(cur),
		}}
		return BlobWrite{Blob: next, DropBlocks: true}, nil
	})
	if err != nil {
		return BlobProperties{}, err
	}
	s.release(res, next)
	return next.properties(), nil
}

// AppendConditions are the conditions of Append Block and Seal beyond the HTTP ones.
type AppendConditions struct {
	// MaxSize fails the append when the blob would grow past it (x-ms-blob-condition-maxsize).
	MaxSize *int64
	// AppendPosition fails it unless the blob's size is exactly this (x-ms-blob-condition-appendpos).
	AppendPosition *int64
}

func (c AppendConditions) check(cur *BlobRecord, n int64) error {
	if c.MaxSize != nil && cur.Size+n > *c.MaxSize {
		return errPrecondition(CodeMaxBlobSizeConditionNotMet, "The max blob size condition specified was not met.")
	}
	if c.AppendPosition != nil && cur.Size != *c.AppendPosition {
		return errPrecondition(CodeAppendPositionConditionNotMet, "The append position condition specified was not met.")
	}
	return nil
}

// AppendBlockInput is an Append Block request.
type AppendBlockInput struct {
	Key          BlobKey
	Body         io.Reader
	Size         int64
	ContentMD5   []byte
	ContentCRC64 []byte
	Conditions   Conditions
	Append       AppendConditions
}

// AppendBlockResult describes an appended block.
type AppendBlockResult struct {
	BlobProperties
	// Offset is where the block landed in the blob.
	Offset     int64
	ContentMD5 []byte
	CRC64      uint64
}

// AppendBlock adds a block at the end of an append blob. The block's bytes are made
// durable first, in a content file of their own; the commit then places it at the end
// of whatever the blob holds at that instant, inside the MetaStore's transaction, so
// concurrent appenders (of any process sharing the stores) each get their own offset.
// Concurrent appends to one blob are committed together (see combine).
func (s *Service) AppendBlock(ctx context.Context, in AppendBlockInput) (AppendBlockResult, error) {
	if err := s.validateKey(in.Key); err != nil {
		return AppendBlockResult{}, notFoundForRead(err)
	}
	if in.Size == 0 {
		return AppendBlockResult{}, errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format.")
	}
	if in.Size < 0 || in.Size > MaxAppendBlockSize {
		return AppendBlockResult{}, errTooLarge(CodeRequestBodyTooLarge, "The request body is too large and exceeds the maximum permissible limit.")
	}
	// Refusals (a missing blob, another type, a sealed blob) are rare and found at
	// commit: checking first would read the blob's record, and its extents, twice.
	if _, err := s.meta.GetContainer(ctx, in.Key.Account, in.Key.Container); err != nil {
		return AppendBlockResult{}, err
	}
	w, err := s.receive(ctx, in.Body, in.Size, in.ContentMD5, in.ContentCRC64)
	if err != nil {
		return AppendBlockResult{}, err
	}
	var offset int64
	cw := &combinedWrite{content: w.id, data: w.data}
	cw.apply = func(cur *BlobRecord, own bool) (*BlobRecord, error) {
		if cur == nil {
			return nil, errBlobNotFound()
		}
		if err := checkAppendable(cur, in, s.now()); err != nil {
			return nil, err
		}
		n := *cur
		if !own {
			// Room for the other appends combined with this one, so that they do not copy
			// a long extent list again, each.
			n.Extents = make([]Extent, len(cur.Extents), len(cur.Extents)+combineRoom)
			copy(n.Extents, cur.Extents)
		}
		n.Extents = append(n.Extents, Extent{Content: cw.content, ContentOffset: cw.offset, Size: w.size})
		offset = cur.Size
		n.Size = cur.Size + w.size
		now := s.timestamp()
		n.ETag, n.LastModified = newETag(now), now
		return &n, nil
	}
	next, err := s.combine(ctx, in.Key, cw)
	if err != nil {
		s.discard(w.id, err)
		return AppendBlockResult{}, err
	}
	return AppendBlockResult{BlobProperties: next.properties(), Offset: offset, ContentMD5: w.md5, CRC64: w.crc64}, nil
}

// checkAppendable checks what Append Block requires of the blob.
func checkAppendable(cur *BlobRecord, in AppendBlockInput, now time.Time) error {
	if cur.BlobType != BlobTypeAppend {
		return errInvalidBlobType()
	}
	if err := in.Conditions.checkWriteBlob(cur, now); err != nil {
		return err
	}
	if cur.Sealed {
		return lanyardConflict(CodeBlobIsSealed, "The specified blob is sealed, and its contents can't be modified unless the blob is re-created after a delete.")
	}
	if len(cur.Extents) >= MaxAppendBlocks {
		return lanyardConflict(CodeBlockCountExceeds, "The committed block count cannot exceed the maximum limit of 50,000 blocks.")
	}
	return in.Append.check(cur, in.Size)
}

// SealAppendBlob seals an append blob: it takes no more blocks. Sealing a sealed blob
// succeeds.
func (s *Service) SealAppendBlob(ctx context.Context, key BlobKey, cond Conditions, appendPos *int64) (BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, notFoundForRead(err)
	}
	var next *BlobRecord
	_, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if cur.BlobType != BlobTypeAppend {
			return BlobWrite{}, errInvalidBlobType()
		}
		if err := cond.checkWriteBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		if err := (AppendConditions{AppendPosition: appendPos}).check(cur, 0); err != nil {
			return BlobWrite{}, err
		}
		n := *cur
		n.Sealed = true
		now := s.timestamp()
		n.ETag, n.LastModified = newETag(now), now
		next = &n
		return BlobWrite{Blob: next}, nil
	})
	if err != nil {
		return BlobProperties{}, err
	}
	return next.properties(), nil
}

// properties returns the record's properties with what is derived from its extents.
func (r *BlobRecord) properties() BlobProperties {
	p := r.BlobProperties
	if p.BlobType == BlobTypeAppend {
		p.CommittedBlockCount = len(r.Extents)
	}
	return p
}

// receive takes in the body of an append or a page write: a small one into memory, to be
// written with the writes combined with it, a larger one into a content file of its own.
func (s *Service) receive(ctx context.Context, body io.Reader, size int64, wantMD5, wantCRC64 []byte) (written, error) {
	// Azure answers an append or page write that carried no Content-MD5 with the CRC-64
	// it computed, asked for or not.
	var crc hash.Hash64
	if len(wantMD5) == 0 && len(wantCRC64) == 0 {
		crc = NewCRC64()
		body = io.TeeReader(body, crc)
	}
	var w written
	var err error
	if size <= smallWrite {
		w, err = s.receiveContent(ctx, body, size, wantMD5, wantCRC64)
	} else {
		w, err = s.writeContent(ctx, body, size, wantMD5, wantCRC64)
	}
	if err == nil && crc != nil {
		w.crc64 = crc.Sum64()
	}
	return w, err
}
