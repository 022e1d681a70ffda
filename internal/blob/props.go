package blob

import (
	"context"
	"slices"
)

// SetBlobMetadata replaces a blob's metadata (none clears it).
func (s *Service) SetBlobMetadata(ctx context.Context, key BlobKey, md Metadata, cond Conditions) (BlobProperties, error) {
	md, err := ValidateMetadata(md)
	if err != nil {
		return BlobProperties{}, err
	}
	return s.updateProperties(ctx, key, cond, func(p *BlobProperties) { p.Metadata = md })
}

// SetBlobHTTPHeaders replaces a blob's HTTP headers; those not given are cleared, as
// Set Blob Properties does.
func (s *Service) SetBlobHTTPHeaders(ctx context.Context, key BlobKey, h HTTPHeaders, cond Conditions) (BlobProperties, error) {
	// Azure drops the x-ms-copy-* properties of a blob whose properties are set.
	return s.updateProperties(ctx, key, cond, func(p *BlobProperties) { p.HTTPHeaders, p.Copy = h, nil })
}

func (s *Service) updateProperties(ctx context.Context, key BlobKey, cond Conditions, set func(*BlobProperties)) (BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, notFoundForRead(err)
	}
	var next *BlobRecord
	_, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if err := cond.checkWriteBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		if err := refuseArchived(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		n := *cur
		set(&n.BlobProperties)
		now := s.timestamp()
		n.ETag, n.LastModified = newETag(now), now
		next = &n
		return BlobWrite{Blob: next}, nil
	})
	if err != nil {
		return BlobProperties{}, err
	}
	return next.BlobProperties, nil
}

// DeleteBlob deletes a blob and its uncommitted blocks.
func (s *Service) DeleteBlob(ctx context.Context, key BlobKey, cond Conditions) error {
	if err := s.validateKey(key); err != nil {
		return notFoundForRead(err)
	}
	// Azure deletes an existing blob despite If-None-Match: *, which only means "create
	// only" to writes that create.
	cond.IfNoneMatch = slices.DeleteFunc(slices.Clone(cond.IfNoneMatch), func(t string) bool { return unquote(t) == "*" })
	res, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if err := cond.checkWriteBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		return BlobWrite{DropBlocks: true}, nil
	})
	if err != nil {
		return err
	}
	s.release(res, nil)
	return nil
}
