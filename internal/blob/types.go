package blob

import (
	"time"
)

// Blob types, as x-ms-blob-type names them.
const (
	BlobTypeBlock  = "BlockBlob"
	BlobTypeAppend = "AppendBlob"
	BlobTypePage   = "PageBlob"
)

// Container is a named group of blobs in an account.
type Container struct {
	Account      string
	Name         string
	Metadata     Metadata
	ETag         string // unquoted, e.g. 0x8DC4A2B1C3D4E5F
	LastModified time.Time
	CreatedAt    time.Time
	Lease        Lease
	// AccessPolicies are the container's stored access policies (Set Container ACL), in
	// the order set; a slice is replaced, never modified in place.
	AccessPolicies []AccessPolicy
	// DeletedTime and RetainUntil are set on a soft-deleted container only (see
	// SoftDeleteContainer): when it was deleted, and when its retention ends.
	DeletedTime time.Time
	RetainUntil time.Time
	// Version is a soft-deleted container's version id, in listings; it is the store
	// name's suffix, not a stored field.
	Version string
}

// AccessPolicy is a stored access policy: a signed identifier and what a SAS naming it
// may do, and when. The times and permissions are kept as set, for Get Container ACL.
type AccessPolicy struct {
	ID         string `json:"id"`
	Start      string `json:"st,omitempty"`
	Expiry     string `json:"se,omitempty"`
	Permission string `json:"sp,omitempty"`
}

// BlobKey names one blob.
type BlobKey struct {
	Account   string
	Container string
	Name      string
}

func (k BlobKey) String() string { return k.Account + "/" + k.Container + "/" + k.Name }

// HTTPHeaders are the blob properties a client sets and reads back as HTTP headers.
type HTTPHeaders struct {
	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	// ContentMD5 is the stored MD5 of the whole blob, nil when unknown.
	ContentMD5 []byte
}

// BlobProperties describes the committed version of a blob.
type BlobProperties struct {
	Container string
	Name      string
	Size      int64
	HTTPHeaders
	Metadata     Metadata
	ETag         string // unquoted
	LastModified time.Time
	CreatedAt    time.Time
	BlobType     string // BlobTypeBlock, BlobTypeAppend or BlobTypePage
	// Sealed is set on an append blob that takes no more blocks.
	Sealed bool
	// SequenceNumber is a page blob's client-managed sequence number.
	SequenceNumber int64
	// CommittedBlockCount is an append blob's number of blocks. Stores need not keep
	// it: the Service derives it from the extents on the way out.
	CommittedBlockCount int
	// Tags are the blob's index tags (Set Blob Tags, x-ms-tags). Changing them changes
	// neither ETag nor Last-Modified.
	Tags Tags
	// Lease is the blob's lease; a write that replaces the blob keeps it.
	Lease Lease
	// Tier is a block blob's access tier state (see AccessTier.Settled); a write that
	// replaces the blob resets it to what the write says.
	Tier AccessTier
	// Copy describes the Copy Blob that made the blob; nil when none did, or when a
	// later write (Put Blob, Put Block List, Set Blob Properties) replaced its outcome.
	Copy *CopyInfo
	// VersionID is the id of this version of the blob (x-ms-version-id); "" when it was
	// written while versioning was off.
	VersionID string
	// PreviousVersion is set on a previous version read by its id; stores do not keep it.
	PreviousVersion bool
}

// CopyInfo is what a blob keeps of the copy that made it (x-ms-copy-* properties).
type CopyInfo struct {
	ID       string `json:"id"`           // x-ms-copy-id, a GUID
	Source   string `json:"src"`          // x-ms-copy-source: the source URL, without its query
	Status   string `json:"st"`           // CopyStatusSuccess: copies within Lanyard complete synchronously
	Progress string `json:"pr,omitempty"` // "copied/total" bytes
	// CompletionTime is when the copy finished.
	CompletionTime time.Time `json:"end"`
}

// CopyStatusSuccess is the x-ms-copy-status of a finished copy.
const CopyStatusSuccess = "success"

// BlockInfo describes one block of a block list.
type BlockInfo struct {
	ID        string // base64, as the client sent it
	Size      int64
	Committed bool
}

// Metadata holds user-defined name/value pairs. Names are stored lower-cased because
// HTTP canonicalizes header names and both Azure SDKs lower-case them on read anyway.
type Metadata map[string]string

// Clone returns a copy of m (nil stays nil).
func (m Metadata) Clone() Metadata {
	if m == nil {
		return nil
	}
	c := make(Metadata, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
