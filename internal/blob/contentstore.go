package blob

import (
	"context"
	"io"
)

// ContentStore keeps the bytes of blobs and blocks as immutable content files.
//
// Contract:
//   - a content file becomes durable only through ContentWriter.Commit; until then, and
//     after Abort, it may vanish (a crash leaves it behind for recovery to remove);
//   - Remove of an id that does not exist is not an error;
//   - Walk lists every content file present, committed or not, so that recovery can
//     remove the ones no record references. It is only called while nothing writes.
type ContentStore interface {
	Create(ctx context.Context) (ContentWriter, error)
	Open(ctx context.Context, id ContentID) (ContentFile, error)
	Remove(ctx context.Context, ids ...ContentID) error
	Walk(ctx context.Context, fn func(ContentID) error) error
	Close() error
}

// ContentWriter writes one new content file.
type ContentWriter interface {
	io.Writer
	ID() ContentID
	// Commit makes the file and its name durable.
	Commit(ctx context.Context) error
	// Abort discards the file; it is safe to call after Commit (then it does nothing).
	Abort() error
}

// ContentFile reads one content file.
type ContentFile interface {
	io.ReaderAt
	io.Closer
}
