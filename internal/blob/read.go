package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Range is an inclusive byte range; End < 0 means "to the end of the blob".
type Range struct {
	Start, End int64
}

// GetBlobOptions are the options of Get Blob.
type GetBlobOptions struct {
	Range      *Range
	Conditions Conditions
	// Snapshot reads that snapshot of the blob, Version that version; with neither
	// GetBlob reads the blob.
	Snapshot string
	Version  string
}

// GetBlob opens a blob, or the requested range of it, for reading. The reader sees the
// version that was current when GetBlob ran, even if the blob is replaced or deleted
// while it reads; Close must be called.
//
// A range that starts at or past the end of the blob (any range, for an empty blob)
// fails with InvalidRange; an end past the end is clamped.
func (s *Service) GetBlob(ctx context.Context, key BlobKey, opts GetBlobOptions) (*BlobReader, error) {
	if err := s.validateKey(key); err != nil {
		return nil, notFoundForRead(err)
	}
	epoch := s.reclaim.enter()
	r, err := s.openReader(ctx, key, opts, epoch)
	if err != nil {
		s.reclaim.leave(epoch)
		return nil, err
	}
	return r, nil
}

func (s *Service) openReader(ctx context.Context, key BlobKey, opts GetBlobOptions, epoch uint64) (*BlobReader, error) {
	rec, err := s.readRecord(ctx, key, At{Snapshot: opts.Snapshot, Version: opts.Version})
	if err != nil {
		return nil, err
	}
	if err := opts.Conditions.checkReadBlob(&rec, s.now()); err != nil {
		return nil, err
	}
	if err := refuseArchived(&rec, s.now()); err != nil {
		return nil, err
	}
	start, length := int64(0), rec.Size
	if rg := opts.Range; rg != nil {
		if rg.Start < 0 || rg.Start >= rec.Size || (rg.End >= 0 && rg.End < rg.Start) {
			return nil, errInvalidRange()
		}
		end := rec.Size - 1
		if rg.End >= 0 && rg.End < end {
			end = rg.End
		}
		start, length = rg.Start, end-rg.Start+1
	}
	extents := rec.Extents
	if rec.BlobType == BlobTypePage {
		extents = denseExtents(rec.Extents, rec.Size)
	}
	r := &BlobReader{
		Properties: s.settled(rec.properties()),
		Offset:     start,
		Length:     length,
		Partial:    opts.Range != nil,
		ctx:        ctx,
		svc:        s,
		epoch:      epoch,
		extents:    extents,
		ends:       make([]int64, len(extents)),
	}
	var off int64
	for i, e := range extents {
		off += e.Size
		r.ends[i] = off
	}
	return r, nil
}

// GetBlobProperties returns a blob's properties after checking read conditions.
func (s *Service) GetBlobProperties(ctx context.Context, key BlobKey, cond Conditions) (BlobProperties, error) {
	return s.GetBlobPropertiesAt(ctx, key, At{}, cond)
}

// GetBlobPropertiesAt is GetBlobProperties of a snapshot or version of the blob (At{}
// for the blob itself).
func (s *Service) GetBlobPropertiesAt(ctx context.Context, key BlobKey, at At, cond Conditions) (BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, notFoundForRead(err)
	}
	rec, err := s.readRecord(ctx, key, at)
	if err != nil {
		return BlobProperties{}, err
	}
	if err := cond.checkReadBlob(&rec, s.now()); err != nil {
		return BlobProperties{}, err
	}
	return s.settled(rec.properties()), nil
}

// denseExtents fills the gaps between a page blob's extents, and after the last one,
// with extents without content, which read as zeros.
func denseExtents(xs []Extent, size int64) []Extent {
	out := make([]Extent, 0, 2*len(xs)+1)
	var pos int64
	for _, e := range xs {
		if e.Offset > pos {
			out = append(out, Extent{Size: e.Offset - pos})
		}
		out = append(out, e)
		pos = e.Offset + e.Size
	}
	if size > pos {
		out = append(out, Extent{Size: size - pos})
	}
	return out
}

// notFoundForRead turns a name that cannot exist into "not found", as reads answer.
func notFoundForRead(err error) error {
	if CodeOf(err) == CodeContainerNotFound {
		return err
	}
	return errBlobNotFound()
}

// BlobReader reads a range [Offset, Offset+Length) of one blob version. It is an
// io.ReadSeeker over that range (Seek offsets are relative to Offset).
type BlobReader struct {
	Properties BlobProperties
	Offset     int64 // first byte of the range within the blob
	Length     int64 // bytes in the range
	Partial    bool  // a range was requested

	ctx     context.Context
	svc     *Service
	epoch   uint64
	extents []Extent
	ends    []int64 // ends[i]: blob offset just past extent i

	pos    int64 // relative to Offset
	cur    int   // index of the open extent, -1 when none
	file   ContentFile
	closed bool
	once   sync.Once
}

// Read implements io.Reader.
func (r *BlobReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("blob: read after close")
	}
	if r.pos >= r.Length {
		return 0, io.EOF
	}
	if rem := r.Length - r.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	abs := r.Offset + r.pos
	i := sort.Search(len(r.ends), func(i int) bool { return r.ends[i] > abs })
	if i == len(r.ends) {
		return 0, io.ErrUnexpectedEOF
	}
	e := r.extents[i]
	extStart := r.ends[i] - e.Size
	if n := r.ends[i] - abs; int64(len(p)) > n {
		p = p[:n]
	}
	if e.Inline != "" {
		n := copy(p, e.Inline[e.ContentOffset+abs-extStart:])
		r.pos += int64(n)
		return n, nil
	}
	if e.Content == "" {
		clear(p)
		r.pos += int64(len(p))
		return len(p), nil
	}
	if err := r.open(i); err != nil {
		return 0, err
	}
	n, err := r.file.ReadAt(p, e.ContentOffset+abs-extStart)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && n == len(p) {
		err = nil
	}
	if errors.Is(err, io.EOF) {
		// The file is shorter than the record says: the content is damaged.
		err = fmt.Errorf("blob: content %s of %s is short: %w", e.Content, r.Properties.Name, io.ErrUnexpectedEOF)
	}
	return n, err
}

func (r *BlobReader) open(i int) error {
	if r.file != nil && r.cur == i {
		return nil
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
	f, err := r.svc.content.Open(r.ctx, r.extents[i].Content)
	if err != nil {
		return fmt.Errorf("blob: opening content of %s: %w", r.Properties.Name, err)
	}
	r.file, r.cur = f, i
	return nil
}

// Seek implements io.Seeker within the range.
func (r *BlobReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.Length + offset
	default:
		return 0, errors.New("blob: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("blob: negative position")
	}
	r.pos = abs
	return abs, nil
}

// Close releases the reader; the content it read may be deleted from then on.
func (r *BlobReader) Close() error {
	var err error
	r.once.Do(func() {
		r.closed = true
		if r.file != nil {
			err = r.file.Close()
			r.file = nil
		}
		r.svc.reclaim.leave(r.epoch)
	})
	return err
}
