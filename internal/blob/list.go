package blob

import (
	"context"
	"encoding/base64"
	"strings"
)

// ListContainersOptions selects a page of containers.
type ListContainersOptions struct {
	Prefix     string
	Marker     string // NextMarker of the previous page
	MaxResults int    // 0 means MaxListResults; larger values are capped to it
	// Deleted also lists soft-deleted containers (include=deleted), each with its
	// Version, after the live container of its name.
	Deleted bool
}

// ListContainersResult is one page of containers in name order.
type ListContainersResult struct {
	Containers []Container
	NextMarker string // "" on the last page
}

// ListBlobsOptions selects a page of blobs.
type ListBlobsOptions struct {
	Prefix     string
	Delimiter  string // when set, names are rolled up into prefixes at the delimiter
	Marker     string
	MaxResults int
	// Uncommitted also lists blobs that have only uncommitted blocks
	// (include=uncommittedblobs), as empty block blobs without an ETag.
	Uncommitted bool
	// Snapshots also lists each blob's snapshots (include=snapshots), oldest first,
	// before the blob. A blob and its snapshots are never split across pages.
	Snapshots bool
}

// ListEntry is a blob or, in a hierarchical listing, a prefix (BlobPrefix) standing for
// every blob whose name continues past the delimiter.
type ListEntry struct {
	Prefix string // set for a BlobPrefix entry
	Blob   BlobProperties
	// Snapshot is set on an entry that is a snapshot of Blob.Name.
	Snapshot string
}

// ListBlobsResult is one page of a listing in name order. BlobPrefix entries count
// against MaxResults, as in Azure.
type ListBlobsResult struct {
	Entries    []ListEntry
	NextMarker string
}

// markerPrefix versions the marker format, which is opaque to clients.
const markerPrefix = "1!"

func encodeMarker(after string) string {
	return markerPrefix + base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeMarker(m string) (string, error) {
	if m == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(m, markerPrefix)
	if !ok {
		return "", errInvalid(CodeInvalidQueryValue, "Value for one of the query parameters specified in the request URI is invalid.")
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) > 4*MaxBlobNameLength+1 {
		return "", errInvalid(CodeInvalidQueryValue, "Value for one of the query parameters specified in the request URI is invalid.")
	}
	return string(b), nil
}

func pageSize(n int) (int, error) {
	switch {
	case n < 0:
		return 0, errInvalid(CodeOutOfRangeInput, "One of the request inputs is out of range.")
	case n == 0 || n > MaxListResults:
		return MaxListResults, nil
	}
	return n, nil
}

// ListContainers lists an account's containers.
func (s *Service) ListContainers(ctx context.Context, account string, opts ListContainersOptions) (ListContainersResult, error) {
	limit, err := pageSize(opts.MaxResults)
	if err != nil {
		return ListContainersResult{}, err
	}
	after, err := decodeMarker(opts.Marker)
	if err != nil {
		return ListContainersResult{}, err
	}
	cs, err := s.meta.ListContainers(ctx, account, opts.Prefix, after, limit+1)
	if err != nil {
		return ListContainersResult{}, err
	}
	if opts.Deleted {
		deleted, err := s.listDeleted(ctx, account, opts.Prefix, after, limit+1)
		if err != nil {
			return ListContainersResult{}, err
		}
		cs = mergeContainers(cs, deleted)
	}
	var res ListContainersResult
	if len(cs) > limit {
		cs = cs[:limit]
		res.NextMarker = encodeMarker(listKey(cs[limit-1]))
	}
	res.Containers = cs
	return res, nil
}

// mergeContainers merges two lists ordered by listKey.
func mergeContainers(a, b []Container) []Container {
	out := make([]Container, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if listKey(a[0]) < listKey(b[0]) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// skipPast sorts after every name that starts with prefix p: no UTF-8 text contains the
// byte 0xFF, so p+"\xff" is greater than all of them.
func skipPast(p string) string { return p + "\xff" }

// ListBlobs lists a container's committed blobs, flat or (with a delimiter) as one level
// of a hierarchy.
func (s *Service) ListBlobs(ctx context.Context, account, container string, opts ListBlobsOptions) (ListBlobsResult, error) {
	limit, err := pageSize(opts.MaxResults)
	if err != nil {
		return ListBlobsResult{}, err
	}
	after, err := decodeMarker(opts.Marker)
	if err != nil {
		return ListBlobsResult{}, err
	}
	var res ListBlobsResult
	more := false
scan:
	for {
		// Fetch one more than still fits, so that a full page knows whether more follow.
		batch := limit - len(res.Entries) + 1
		recs, exhausted, err := s.listBatch(ctx, account, container, opts, after, batch)
		if err != nil {
			return ListBlobsResult{}, err
		}
		for _, r := range recs {
			if len(res.Entries) == limit {
				more = true
				break scan
			}
			if !strings.HasPrefix(r.Name, opts.Prefix) {
				continue // a store bug; never let it slice out of range
			}
			if opts.Delimiter != "" {
				rest := r.Name[len(opts.Prefix):]
				if i := strings.Index(rest, opts.Delimiter); i >= 0 {
					p := opts.Prefix + rest[:i+len(opts.Delimiter)]
					res.Entries = append(res.Entries, ListEntry{Prefix: p})
					// Jump over the rest of the prefix instead of reading it.
					after = skipPast(p)
					continue scan
				}
			}
			if opts.Snapshots && len(r.Snapshots) > 0 {
				if len(res.Entries) > 0 && len(res.Entries)+len(r.Snapshots) >= limit {
					more = true
					break scan
				}
				res.Entries = append(res.Entries, snapshotEntries(&r)...)
			}
			res.Entries = append(res.Entries, ListEntry{Blob: s.settled(r.properties())})
			after = r.Name
		}
		if exhausted {
			break
		}
	}
	if more {
		res.NextMarker = encodeMarker(after)
	}
	return res, nil
}

// listBatch returns up to n blobs named after after, and whether there are no more: the
// committed ones, merged in name order, with opts.Uncommitted, with those that have only
// uncommitted blocks.
func (s *Service) listBatch(ctx context.Context, account, container string, opts ListBlobsOptions, after string, n int) ([]BlobRecord, bool, error) {
	recs, err := s.meta.ListBlobs(ctx, account, container, opts.Prefix, after, n)
	if err != nil || !opts.Uncommitted {
		return recs, len(recs) < n, err
	}
	names, err := s.meta.ListUncommittedBlobs(ctx, account, container, opts.Prefix, after, n)
	if err != nil {
		return nil, false, err
	}
	exhausted := len(recs) < n && len(names) < n && len(recs)+len(names) <= n
	merged := make([]BlobRecord, 0, min(n, len(recs)+len(names)))
	for len(merged) < n && (len(recs) > 0 || len(names) > 0) {
		if len(names) == 0 || (len(recs) > 0 && recs[0].Name < names[0]) {
			merged, recs = append(merged, recs[0]), recs[1:]
			continue
		}
		merged = append(merged, BlobRecord{BlobProperties: BlobProperties{Container: container, Name: names[0], BlobType: BlobTypeBlock}})
		names = names[1:]
	}
	return merged, exhausted, nil
}
