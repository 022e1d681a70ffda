package blob

import (
	"context"
	"io"
)

// PutBlobInput is a Put Blob request.
type PutBlobInput struct {
	Key  BlobKey
	Body io.Reader
	// Size is the exact length of Body (the request's Content-Length).
	Size int64
	// Headers are the blob's new properties. Headers.ContentMD5, when set, is stored as
	// is; otherwise the MD5 of the body is stored.
	Headers  HTTPHeaders
	Metadata Metadata
	Tags     Tags // x-ms-tags, validated
	// ContentMD5 and ContentCRC64 are the transactional digests of the body
	// (Content-MD5, x-ms-content-crc64); the body is refused when they do not match.
	ContentMD5   []byte
	ContentCRC64 []byte
	Conditions   Conditions
	// Tier is x-ms-access-tier, canonical (see ParseAccessTier); "" for none.
	Tier string
}

// PutBlobResult describes the blob Put Blob committed.
type PutBlobResult struct {
	BlobProperties
	// CRC64 is the CRC-64 of the body, computed only when the request carried one.
	CRC64 uint64
}

// inlineMax is the largest Put Blob body kept in the blob's record instead of a content
// file of its own. Creating a file costs a small upload more than writing its bytes
// (see docs/benchmarks.md, "Small Put Blob"), while a record is made durable by the
// MetaStore's commit, which fsmeta shares among concurrent writes. It is small because
// fsmeta keeps every record in memory and writes it whole to its journal and
// snapshots: one file system block, which a content file would take on disk anyway.
const inlineMax = 4 << 10

// PutBlob creates or replaces a block blob with the body. The blob is visible, and the
// call returns, only once content and metadata are both durable: a body of up to
// inlineMax bytes is stored in the record (Extent.Inline), durable with it.
func (s *Service) PutBlob(ctx context.Context, in PutBlobInput) (PutBlobResult, error) {
	if err := s.validateKey(in.Key); err != nil {
		return PutBlobResult{}, err
	}
	md, err := ValidateMetadata(in.Metadata)
	if err != nil {
		return PutBlobResult{}, err
	}
	if in.Size < 0 || in.Size > MaxPutBlobSize {
		return PutBlobResult{}, errTooLarge(CodeRequestBodyTooLarge, "The request body is too large and exceeds the maximum permissible limit.")
	}
	// Refuse early what would be refused at commit, before reading a possibly large body.
	if err := s.precheck(ctx, in.Key, in.Conditions, true); err != nil {
		return PutBlobResult{}, err
	}
	var w written
	if in.Size <= inlineMax {
		w, err = s.receiveContent(ctx, in.Body, in.Size, in.ContentMD5, in.ContentCRC64)
	} else {
		w, err = s.writeContent(ctx, in.Body, in.Size, in.ContentMD5, in.ContentCRC64)
	}
	if err != nil {
		return PutBlobResult{}, err
	}
	inline := string(w.data) // "" unless received into memory
	h := in.Headers
	if len(h.ContentMD5) == 0 {
		h.ContentMD5 = w.md5
	}
	var next *BlobRecord
	res, err := s.writeBlob(ctx, in.Key, false, changeContent, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if err := in.Conditions.checkCreateBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		now := s.timestamp()
		next = &BlobRecord{BlobProperties: BlobProperties{
			Container: in.Key.Container, Name: in.Key.Name, Size: w.size,
			HTTPHeaders: h, Metadata: md, Tags: in.Tags.Clone(),
			ETag: newETag(now), LastModified: now, CreatedAt: createdAt(cur, now),
			BlobType: BlobTypeBlock, Lease: leaseOf(cur), Tier: uploadTier(in.Tier, now),
		}}
		switch {
		case w.id != "":
			next.Extents = []Extent{{Content: w.id, Size: w.size}}
		case w.size > 0:
			next.Extents = []Extent{{Inline: inline, Size: w.size}}
		}
		return BlobWrite{Blob: next, DropBlocks: true}, nil
	})
	if err != nil {
		s.discard(w.id, err)
		return PutBlobResult{}, err
	}
	s.release(res, next)
	return PutBlobResult{BlobProperties: next.BlobProperties, CRC64: w.crc64}, nil
}

func (s *Service) validateKey(k BlobKey) error {
	if err := ValidateContainerName(k.Container); err != nil {
		return errContainerNotFound()
	}
	return ValidateBlobName(k.Name)
}

// precheck fails fast when the container is missing or (for create=true) the
// conditions already fail. It is advisory: the commit checks again, atomically.
func (s *Service) precheck(ctx context.Context, k BlobKey, cond Conditions, create bool) error {
	if cond.IsZero() {
		_, err := s.meta.GetContainer(ctx, k.Account, k.Container)
		return err
	}
	rec, err := s.getBlob(ctx, k)
	var cur *BlobRecord
	switch {
	case err == nil:
		cur = &rec
	case CodeOf(err) != CodeBlobNotFound:
		return err
	}
	if create {
		return cond.checkCreateBlob(cur, s.now())
	}
	return cond.checkWriteBlob(cur, s.now())
}
