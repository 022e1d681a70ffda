package blob

import (
	"context"
)

// SetBlobMetadata replaces a blob's metadata (none clears it).
func (s *Service) SetBlobMetadata(ctx context.Context, key BlobKey, md Metadata, cond Conditions) (BlobProperties, error) {
	md, err := ValidateMetadata(md)
	if err != nil {
		return BlobProperties{}, err
	}
	return s.updateProperties(ctx, key, cond, changeMetadata, func(p *BlobProperties) { p.Metadata = md })
}

// SetBlobHTTPHeaders replaces a blob's HTTP headers; those not given are cleared, as
// Set Blob Properties does.
func (s *Service) SetBlobHTTPHeaders(ctx context.Context, key BlobKey, h HTTPHeaders, cond Conditions) (BlobProperties, error) {
	// Azure drops the x-ms-copy-* properties of a blob whose properties are set.
	return s.updateProperties(ctx, key, cond, changeInPlace, func(p *BlobProperties) { p.HTTPHeaders, p.Copy = h, nil })
}

func (s *Service) updateProperties(ctx context.Context, key BlobKey, cond Conditions, ch change, set func(*BlobProperties)) (BlobProperties, error) {
	if err := s.validateKey(key); err != nil {
		return BlobProperties{}, notFoundForRead(err)
	}
	var next *BlobRecord
	_, err := s.writeBlob(ctx, key, false, ch, func(st BlobState) (BlobWrite, error) {
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
	return next.properties(), nil
}
