package blob

import (
	"time"
)

// ContentID names one content file of a ContentStore. Content files are immutable once
// committed and belong to at most one blob (or one uncommitted block).
type ContentID string

// Extent is one piece of a blob's data. A blob committed by Put Blob has one extent
// without a block ID; one committed by Put Block List has one extent per listed block,
// in list order; an append blob has one per appended block. Their extents follow one
// another, each a whole content file.
//
// A page blob's extents are the pages written, sorted by Offset and not overlapping;
// the gaps between them read as zeros. A page write over part of an older extent cuts
// it, so such an extent may start inside its content file (ContentOffset).
//
// A small block blob written by Put Blob keeps its bytes in its record instead (Inline,
// see inlineMax): such an extent has no content file (Content ""), Size len(Inline) and
// ContentOffset 0. An extent with neither Content nor Inline reads as zeros (the gaps of
// a page blob).
type Extent struct {
	BlockID string // base64 block id; "" for data written by Put Blob
	Content ContentID
	// Inline holds the extent's bytes when they live in the record, not in a content
	// file. A string, not a []byte, so that Extents stay comparable and immutable.
	Inline string
	Size   int64
	// Offset is where the extent starts in a page blob; 0 for other blob types.
	Offset int64
	// ContentOffset is where the extent's bytes start in its content file.
	ContentOffset int64
}

// BlobRecord is what the MetaStore keeps for a committed blob: its properties and where
// its bytes are. Records handed out by a MetaStore are snapshots that callers must not
// modify (their slices and maps may be shared).
type BlobRecord struct {
	BlobProperties
	Extents []Extent
	// Snapshots are the blob's earlier states, oldest first: its snapshots, and its
	// versions and soft-deleted states (see Snapshot.Kind). They are part of the record,
	// stored by every write of it and returned by every read and listing of it.
	Snapshots []Snapshot
	// Tombstone says the blob itself is deleted: the record is kept only for its
	// Snapshots (previous versions, soft-deleted states), and its properties and extents
	// are empty. The Service reads a tombstone as no blob.
	Tombstone bool
}

// Block is an uncommitted block: staged by Put Block, waiting for Put Block List.
type Block struct {
	ID        string // base64, as the client sent it
	Size      int64
	Content   ContentID
	CreatedAt time.Time
}

// BlockSummary describes a blob's uncommitted blocks without loading them, for the
// checks Put Block makes.
type BlockSummary struct {
	Count int
	// IDLength is the decoded length of the block ids staged so far; 0 when none.
	IDLength int
	// Replaces reports whether a block with the new block's id is already staged.
	Replaces bool
}

// BlobState is the state an update of a blob starts from.
type BlobState struct {
	Blob *BlobRecord // the committed blob; nil when there is none
	// Blocks are the uncommitted blocks, loaded only when the update asked for them.
	Blocks []Block
}

// BlobWrite is the outcome of an update function.
type BlobWrite struct {
	// Blob is the new committed record; nil deletes the blob.
	Blob *BlobRecord
	// DropBlocks discards every uncommitted block of the blob in the same commit, as
	// Put Blob, Put Block List and Delete Blob do.
	DropBlocks bool
}

// BlobResult reports what an update replaced, so that the caller can release content
// that is no longer referenced.
type BlobResult struct {
	Prev    *BlobRecord
	Dropped []Block
}

// contents returns the content ids a record references.
func (r *BlobRecord) contents() []ContentID {
	if r == nil {
		return nil
	}
	ids := make([]ContentID, 0, len(r.Extents))
	for _, e := range r.Extents {
		if e.Content != "" { // inline bytes and zeros have no file
			ids = append(ids, e.Content)
		}
	}
	return ids
}

func etagOf(r *BlobRecord) string {
	if r == nil {
		return ""
	}
	return r.ETag
}

func lastModifiedOf(r *BlobRecord) time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.LastModified
}

// createdAt keeps a blob's creation time across overwrites.
func createdAt(r *BlobRecord, now time.Time) time.Time {
	if r == nil || r.CreatedAt.IsZero() {
		return now
	}
	return r.CreatedAt
}
