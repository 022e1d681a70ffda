package blob

import (
	"context"
	"time"
)

// MetaStore persists containers, committed blobs and uncommitted blocks. It is kept
// narrow so that an SQL implementation is a small job.
//
// Contract, for every method:
//   - ctx comes first and cancels the call;
//   - errors are *lanyard.Error where the caller can act on them: a missing container is
//     KindNotFound with code ContainerNotFound, a missing blob KindNotFound with code
//     BlobNotFound, an existing container KindConflict with code ContainerAlreadyExists;
//     errors returned by callback functions are returned unchanged (test with errors.As);
//   - a *lanyard.Error of a kind other than KindInternal and KindUnavailable means the
//     call changed nothing, and so does any error wrapping ErrUnchanged; any other error
//     (I/O, a cancelled context) may come after the change was made durable, and callers
//     must not assume either way;
//   - a full disk is ErrNoSpace; a store should keep reads, and writes that free space
//     (deletions), working meanwhile, and accept writes again once space is back;
//   - a method that changes state returns only after the change is durable: a crash
//     after it returns cannot undo it, a crash before it returns leaves either the old or
//     the new state, never a mix;
//   - callbacks (fn) run inside the store's transaction for that record: no other write
//     to the same record can happen between the read that fn sees and the write fn
//     returns. A callback may be called more than once and must not have side effects;
//   - names are case-sensitive and compared bytewise; lists are in bytewise order;
//   - records handed out are snapshots; callers must not modify them, and the store must
//     not modify values it was handed after the call returns;
//   - times round-trip with at least millisecond precision (in UTC);
//   - a container's and a blob's Lease are part of its record: stored by every write of
//     the record and returned by every read and listing of it (a lease is a lock between
//     nodes, so an update that changes only the lease must be committed like any other);
//   - so is a blob's Tier, stored as given (a pending rehydration included: the store
//     does not settle it), by every write and returned by every read and listing.
//   - so are a container's DeletedTime and RetainUntil: stored by every write of the
//     container record (MoveContainer's included), returned by every read and listing.
//   - so is a blob's history (kept as EncodeHistory writes it): its Snapshots
//     (snapshots, previous versions and soft-deleted states, each with its Kind and
//     Deleted), its VersionID and its Tombstone flag: stored by every write of the
//     record, even one that changes nothing else (a state's deletion, a version's tags:
//     see SameHistory), returned by every read and listing, and in BlobResult.Prev; the
//     states' extents' content counts as referenced (Contents, and DeleteContainer's
//     result).
//   - a tombstone (BlobRecord.Tombstone: a deleted blob kept for its versions or
//     soft-deleted states) is a record like any other to the store: GetBlob returns it,
//     ListBlobs lists it, UpdateBlob hands it to fn. The Service, not the store, reads it
//     as no blob.
//   - so is a blob's Copy (the x-ms-copy-* properties of the copy that made it), nil
//     when none: kept by every write of the record, returned by every read and listing.
//   - so are an extent's inline bytes (Extent.Inline, arbitrary bytes, not text): stored
//     with the extent wherever it is kept (the blob's extents, its earlier states'),
//     returned byte for byte. An inline extent references no content file: Contents and
//     DeleteContainer do not report it.
type MetaStore interface {
	// CreateContainer stores c, or fails with ContainerAlreadyExists.
	CreateContainer(ctx context.Context, c Container) error
	// GetContainer returns a container or ContainerNotFound.
	GetContainer(ctx context.Context, account, name string) (Container, error)
	// UpdateContainer replaces a container with what fn returns. The account and name
	// fn returns are ignored.
	UpdateContainer(ctx context.Context, account, name string, fn func(Container) (Container, error)) (Container, error)
	// DeleteContainer removes a container with all its blobs and uncommitted blocks in
	// one step, if fn (given the container) returns nil. It returns the content ids the
	// removed records referenced, for the caller to release.
	DeleteContainer(ctx context.Context, account, name string, fn func(Container) error) ([]ContentID, error)
	// MoveContainer gives the container account/name, with all its blobs and
	// uncommitted blocks, the account and name of the record fn returns (given the
	// container), and stores that record, in one step. ContainerNotFound when the
	// container does not exist, ContainerAlreadyExists when the target does (then fn's
	// record is not stored). The blobs keep their records and content; read from the
	// target, they name it. Container soft delete and restore are such moves.
	MoveContainer(ctx context.Context, account, name string, fn func(Container) (Container, error)) (Container, error)
	// ListContainers returns up to limit containers of account whose names start with
	// prefix and sort strictly after after.
	ListContainers(ctx context.Context, account, prefix, after string, limit int) ([]Container, error)

	// GetBlob returns the committed blob, or BlobNotFound (also when only uncommitted
	// blocks exist), or ContainerNotFound.
	GetBlob(ctx context.Context, key BlobKey) (BlobRecord, error)
	// UpdateBlob reads the blob's state (with its uncommitted blocks when withBlocks),
	// calls fn with it and commits what fn returns, atomically. It fails with
	// ContainerNotFound when the container does not exist. The result reports the
	// record and blocks the commit replaced or dropped. fn may run more than once, and a
	// store may first run it on a guess (no blob, no blocks) to create a blob in one
	// step; only what fn returns for the state the commit replaces is committed.
	UpdateBlob(ctx context.Context, key BlobKey, withBlocks bool, fn func(BlobState) (BlobWrite, error)) (BlobResult, error)
	// ListBlobs returns up to limit committed blobs of a container whose names start
	// with prefix and sort strictly after after.
	ListBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]BlobRecord, error)
	// ListUncommittedBlobs returns, in the same way, the names of up to limit blobs that
	// have uncommitted blocks and no committed version (List Blobs with
	// include=uncommittedblobs); ContainerNotFound when the container does not exist.
	ListUncommittedBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]string, error)

	// PutBlock stages b for the blob, replacing a staged block with the same id, if fn
	// (given a summary of the blocks staged so far) returns nil. It returns the block it
	// replaced, if any. ContainerNotFound when the container does not exist.
	PutBlock(ctx context.Context, key BlobKey, b Block, fn func(BlockSummary) error) (*Block, error)
	// ListBlocks returns the blob's uncommitted blocks, ordered by id.
	ListBlocks(ctx context.Context, key BlobKey) ([]Block, error)
	// ExpireBlocks drops every uncommitted block staged before before and returns them.
	ExpireBlocks(ctx context.Context, before time.Time) ([]Block, error)

	// Contents calls fn with every content id a record references (blob extents and
	// uncommitted blocks), for recovery. It may call fn more than once for an id.
	Contents(ctx context.Context, fn func(ContentID) error) error

	TagFinder

	Close() error
}
