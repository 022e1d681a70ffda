package blob

import (
	"context"
	"hash"
	"io"
	"sort"
)

// PutBlockResult describes a staged block.
type PutBlockResult struct {
	ContentMD5 []byte
	CRC64      uint64
}

// PutBlock stages a block for a later Put Block List. The block is durable when the
// call returns.
func (s *Service) PutBlock(ctx context.Context, key BlobKey, id string, body io.Reader, size int64, wantMD5, wantCRC64 []byte) (PutBlockResult, error) {
	if err := s.validateKey(key); err != nil {
		return PutBlockResult{}, err
	}
	idLen, err := blockIDLength(id)
	if err != nil {
		return PutBlockResult{}, err
	}
	if size < 0 || size > MaxBlockSize {
		return PutBlockResult{}, errTooLarge(CodeRequestBodyTooLarge, "The request body is too large and exceeds the maximum permissible limit.")
	}
	// Blocks are staged for a block blob only; the check is advisory, as Put Block List
	// checks the type again when it commits.
	switch rec, err := s.getBlob(ctx, key); {
	case err == nil && rec.BlobType != BlobTypeBlock:
		return PutBlockResult{}, errInvalidBlobType()
	case err != nil && CodeOf(err) != CodeBlobNotFound:
		return PutBlockResult{}, err
	}
	// Azure answers every Put Block with the CRC-64 it computed, asked for or not.
	var crc hash.Hash64
	if len(wantCRC64) == 0 {
		crc = NewCRC64()
		body = io.TeeReader(body, crc)
	}
	w, err := s.writeContent(ctx, body, size, wantMD5, wantCRC64)
	if err != nil {
		return PutBlockResult{}, err
	}
	if crc != nil {
		w.crc64 = crc.Sum64()
	}
	replaced, err := s.meta.PutBlock(ctx, key, Block{ID: id, Size: size, Content: w.id, CreatedAt: s.timestamp()}, func(sum BlockSummary) error {
		if !sum.Replaces && sum.Count >= MaxUncommitted {
			return lanyardConflict(CodeBlockCountExceeds, "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
		}
		if sum.Count > 0 && sum.IDLength != idLen {
			// Azure requires all block ids of a blob to have the same length.
			return errInvalid(CodeInvalidBlobOrBlock, "The specified blob or block content is invalid.")
		}
		return nil
	})
	if err != nil {
		s.discard(w.id, err)
		return PutBlockResult{}, err
	}
	if replaced != nil && replaced.Content != "" {
		s.reclaim.free([]ContentID{replaced.Content})
	}
	return PutBlockResult{ContentMD5: w.md5, CRC64: w.crc64}, nil
}

// BlockListKind says where Put Block List looks a block id up.
type BlockListKind int

const (
	// BlockLatest takes the uncommitted block if there is one, else the committed one.
	BlockLatest BlockListKind = iota
	BlockCommitted
	BlockUncommitted
)

// BlockListItem is one entry of a Put Block List body.
type BlockListItem struct {
	ID   string
	Kind BlockListKind
}

// PutBlockListInput is a Put Block List request.
type PutBlockListInput struct {
	Key        BlobKey
	Blocks     []BlockListItem
	Headers    HTTPHeaders // Headers.ContentMD5 is stored as is (x-ms-blob-content-md5)
	Metadata   Metadata
	Tags       Tags // x-ms-tags, validated
	Conditions Conditions
	// Tier is x-ms-access-tier, canonical (see ParseAccessTier); "" for none.
	Tier string
}

// PutBlockList commits a blob made of the listed blocks, in order, without copying
// their data: the new version's extents are the blocks' content files. Every
// uncommitted block of the blob is discarded.
func (s *Service) PutBlockList(ctx context.Context, in PutBlockListInput) (BlobProperties, error) {
	if err := s.validateKey(in.Key); err != nil {
		return BlobProperties{}, err
	}
	md, err := ValidateMetadata(in.Metadata)
	if err != nil {
		return BlobProperties{}, err
	}
	if len(in.Blocks) > MaxCommittedBlocks {
		return BlobProperties{}, errInvalid(CodeBlockListTooLong, "The block list may not contain more than 50,000 blocks.")
	}
	for _, b := range in.Blocks {
		if _, err := blockIDLength(b.ID); err != nil {
			return BlobProperties{}, errInvalid(CodeInvalidBlockList, "The specified block list is invalid.")
		}
	}
	var next *BlobRecord
	res, err := s.writeBlob(ctx, in.Key, true, changeContent, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if err := in.Conditions.checkCreateBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		if cur != nil && cur.BlobType != BlobTypeBlock {
			return BlobWrite{}, errInvalidBlobType()
		}
		staged := make(map[string]Block, len(st.Blocks))
		for _, b := range st.Blocks {
			staged[b.ID] = b
		}
		committed := map[string]Extent{}
		if cur != nil {
			for _, e := range cur.Extents {
				if _, dup := committed[e.BlockID]; e.BlockID != "" && !dup {
					committed[e.BlockID] = e
				}
			}
		}
		extents := make([]Extent, 0, len(in.Blocks))
		var size int64
		for _, item := range in.Blocks {
			e, ok := resolveBlock(item, staged, committed)
			if !ok {
				return BlobWrite{}, errInvalid(CodeInvalidBlockList, "The specified block list is invalid.")
			}
			extents = append(extents, e)
			size += e.Size
		}
		now := s.timestamp()
		next = &BlobRecord{
			BlobProperties: BlobProperties{
				Container: in.Key.Container, Name: in.Key.Name, Size: size,
				HTTPHeaders: in.Headers, Metadata: md, Tags: in.Tags.Clone(),
				ETag: newETag(now), LastModified: now, CreatedAt: createdAt(cur, now),
				BlobType: BlobTypeBlock, Lease: leaseOf(cur), Tier: uploadTier(in.Tier, now),
			},
			Extents: extents,
		}
		return BlobWrite{Blob: next, DropBlocks: true}, nil
	})
	if err != nil {
		return BlobProperties{}, err
	}
	s.release(res, next)
	return next.BlobProperties, nil
}

func resolveBlock(item BlockListItem, staged map[string]Block, committed map[string]Extent) (Extent, bool) {
	if item.Kind != BlockCommitted {
		if b, ok := staged[item.ID]; ok {
			return Extent{BlockID: b.ID, Content: b.Content, Size: b.Size}, true
		}
		if item.Kind == BlockUncommitted {
			return Extent{}, false
		}
	}
	e, ok := committed[item.ID]
	return e, ok
}

// BlockListType selects the lists Get Block List returns.
type BlockListType int

const (
	ListCommitted BlockListType = iota
	ListUncommitted
	ListAll
)

// BlockList is a blob's committed and uncommitted blocks.
type BlockList struct {
	// Blob is the committed blob, nil when there is none.
	Blob        *BlobProperties
	Committed   []BlockInfo
	Uncommitted []BlockInfo
}

// GetBlockList returns a blob's block lists. A blob with neither a committed version
// nor (when asked for) staged blocks is not found.
func (s *Service) GetBlockList(ctx context.Context, key BlobKey, which BlockListType) (BlockList, error) {
	return s.GetBlockListAt(ctx, key, At{}, which)
}

// GetBlockListAt is GetBlockList of a snapshot or version of the blob (the zero At for
// the blob itself); a snapshot or version has only committed blocks.
func (s *Service) GetBlockListAt(ctx context.Context, key BlobKey, at At, which BlockListType) (BlockList, error) {
	if err := s.validateKey(key); err != nil {
		return BlockList{}, err
	}
	if at != (At{}) {
		which = ListCommitted
	}
	var bl BlockList
	rec, err := s.readRecord(ctx, key, at)
	switch {
	case err == nil:
		p := rec.BlobProperties
		bl.Blob = &p
	case CodeOf(err) != CodeBlobNotFound:
		return BlockList{}, err
	}
	if which != ListUncommitted && bl.Blob != nil {
		bl.Committed = []BlockInfo{}
		for _, e := range rec.Extents {
			if e.BlockID != "" {
				bl.Committed = append(bl.Committed, BlockInfo{ID: e.BlockID, Size: e.Size, Committed: true})
			}
		}
	}
	if which != ListCommitted {
		blocks, err := s.meta.ListBlocks(ctx, key)
		if err != nil {
			return BlockList{}, err
		}
		sort.Slice(blocks, func(i, j int) bool { return blocks[i].ID < blocks[j].ID })
		bl.Uncommitted = make([]BlockInfo, 0, len(blocks))
		for _, b := range blocks {
			bl.Uncommitted = append(bl.Uncommitted, BlockInfo{ID: b.ID, Size: b.Size})
		}
	}
	if bl.Blob == nil && len(bl.Uncommitted) == 0 {
		return BlockList{}, errBlobNotFound()
	}
	return bl, nil
}
