package blob

import (
	"context"
	"strings"
	"time"
)

// TaggedBlob is one blob Find Blobs by Tags returns.
type TaggedBlob struct {
	Container string
	Name      string
	Tags      Tags
}

// TagMarker is where a Find page ends: results continue strictly after it, in
// (container, name) bytewise order. The zero TagMarker starts at the beginning.
type TagMarker struct {
	Container, Name string
}

// TagFinder is the part of the MetaStore that serves Find Blobs by Tags.
//
// FindBlobs returns up to limit committed blobs of account whose tags satisfy q.Match,
// only in q.Container when it is set, in (container, name) bytewise order, strictly
// after after. Every match has a tag q.Seek().Key with a value in q.Seek()'s range,
// which a store's tag index can look up; stores must not scan every blob of the account
// for a query (an account may hold millions). A missing container is not an error: Find
// returns nothing.
type TagFinder interface {
	FindBlobs(ctx context.Context, account string, q *TagQuery, after TagMarker, limit int) ([]TaggedBlob, error)
}

// FindBlobsOptions selects a page of Find Blobs by Tags.
type FindBlobsOptions struct {
	Marker     string // NextMarker of the previous page
	MaxResults int    // 0 means MaxListResults; larger values are capped to it
}

// FindBlobsResult is one page of Find Blobs by Tags.
type FindBlobsResult struct {
	Blobs      []TaggedBlob
	NextMarker string // "" on the last page
}

// FindBlobsByTags finds an account's blobs whose tags satisfy q (see ParseFindQuery).
func (s *Service) FindBlobsByTags(ctx context.Context, account string, q *TagQuery, opts FindBlobsOptions) (FindBlobsResult, error) {
	limit, err := pageSize(opts.MaxResults)
	if err != nil {
		return FindBlobsResult{}, err
	}
	m, err := decodeMarker(opts.Marker)
	if err != nil {
		return FindBlobsResult{}, err
	}
	var after TagMarker
	if m != "" {
		c, n, ok := strings.Cut(m, "\n")
		if !ok {
			return FindBlobsResult{}, errInvalid(CodeInvalidQueryValue, "Value for one of the query parameters specified in the request URI is invalid.")
		}
		after = TagMarker{Container: c, Name: n}
	}
	// One more than a page tells whether another page follows.
	found, err := s.meta.FindBlobs(ctx, account, q, after, limit+1)
	if err != nil {
		return FindBlobsResult{}, err
	}
	var res FindBlobsResult
	if len(found) > limit {
		found = found[:limit]
		last := found[limit-1]
		res.NextMarker = encodeMarker(last.Container + "\n" + last.Name)
	}
	res.Blobs = found
	return res, nil
}

// SetBlobTags replaces a blob's tags (none clears them). Unlike every other write it
// leaves the blob's ETag and Last-Modified as they are, as Azure does.
func (s *Service) SetBlobTags(ctx context.Context, key BlobKey, tags Tags, cond Conditions) error {
	return s.SetBlobTagsAt(ctx, key, At{}, tags, cond)
}

// SetBlobTagsAt is SetBlobTags of a snapshot or version of the blob (the zero At for the
// blob itself): their tags are the one thing about them that changes, and changing them
// changes neither their ETag nor their Last-Modified.
func (s *Service) SetBlobTagsAt(ctx context.Context, key BlobKey, at At, tags Tags, cond Conditions) error {
	if err := s.validateKey(key); err != nil {
		return notFoundForRead(err)
	}
	if at != (At{}) {
		return s.setStateTags(ctx, key, at, tags, cond)
	}
	_, err := s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		if st.Blob == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		return s.retagged(st.Blob, tags, cond)
	})
	return err
}

// retagged is the write that gives the blob's current state tags. Set and Get Blob Tags
// need a leased blob's lease id, as Azure documents.
func (s *Service) retagged(cur *BlobRecord, tags Tags, cond Conditions) (BlobWrite, error) {
	if err := cond.checkWriteBlob(cur, s.now()); err != nil {
		return BlobWrite{}, err
	}
	n := *cur
	n.Tags = tags.Clone()
	return BlobWrite{Blob: &n}, nil
}

// GetBlobTags returns a blob's tags. Every condition failing is 412, none is 304.
func (s *Service) GetBlobTags(ctx context.Context, key BlobKey, cond Conditions) (Tags, error) {
	return s.GetBlobTagsAt(ctx, key, At{}, cond)
}

// GetBlobTagsAt is GetBlobTags of a snapshot or version of the blob.
func (s *Service) GetBlobTagsAt(ctx context.Context, key BlobKey, at At, cond Conditions) (Tags, error) {
	if err := s.validateKey(key); err != nil {
		return nil, notFoundForRead(err)
	}
	rec, err := s.readRecord(ctx, key, at)
	if err != nil {
		return nil, err
	}
	if err := cond.checkWriteBlob(&rec, s.now()); err != nil {
		return nil, err
	}
	return rec.Tags.Clone(), nil
}

// CheckTags evaluates x-ms-if-tags alone against tags, for an operation that reads a
// blob's record in a form of its own (Get Block List).
func (c Conditions) CheckTags(tags Tags) error {
	return c.checkTags(&BlobRecord{BlobProperties: BlobProperties{Tags: tags}})
}

// BlobTags returns a blob's tags for an access decision (an ABAC condition on
// @Resource[...tags:key]): no conditions, and a blob that does not exist has none.
func (s *Service) BlobTags(ctx context.Context, key BlobKey) (Tags, error) {
	if s.validateKey(key) != nil {
		return nil, nil
	}
	rec, err := s.getBlob(ctx, key)
	switch CodeOf(err) {
	case "":
		return rec.Tags, nil
	case CodeBlobNotFound, CodeContainerNotFound:
		return nil, nil
	}
	return nil, err
}

// checkOptionalLease checks an operation whose conditions fail as a write's (each 412) and
// which checks the blob's lease only when the request names one (Snapshot Blob).
func (c Conditions) checkOptionalLease(r *BlobRecord, now time.Time) error {
	if err := r.Lease.checkUse(c.LeaseID, false, now, onBlob); err != nil {
		return err
	}
	// Not checkWriteBlob: it would ask a leased blob for the lease id again, as required.
	if err := c.checkWrite(true, r.ETag, r.LastModified); err != nil {
		return err
	}
	return c.checkTags(r)
}
