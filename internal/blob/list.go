package blob

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"
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
	// Versions lists each blob's previous versions (include=versions), oldest first,
	// before the blob, which is then its current version.
	Versions bool
	// Deleted also lists soft-deleted blobs, and with Snapshots or Versions
	// soft-deleted snapshots and versions (include=deleted).
	Deleted bool
	// DeletedWithVersions also lists each deleted blob that has versions, as its latest
	// version with HasVersionsOnly (include=deletedwithversions).
	DeletedWithVersions bool
}

// ListEntry is a blob or, in a hierarchical listing, a prefix (BlobPrefix) standing for
// every blob whose name continues past the delimiter.
type ListEntry struct {
	Prefix string // set for a BlobPrefix entry
	Blob   BlobProperties
	// Snapshot is set on an entry that is a snapshot of Blob.Name.
	Snapshot string
	// Version is set, in a listing with versions, on an entry that is a version of
	// Blob.Name; IsCurrentVersion on the current one.
	Version          string
	IsCurrentVersion bool
	// Deleted is set on a soft-deleted entry.
	Deleted *Deletion
	// HasVersionsOnly marks a deleted blob listed for its versions.
	HasVersionsOnly bool
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

// nextListMarker is the NextMarker of a List Containers or List Blobs page whose last
// entry is named after: that name itself, as Azurite's markers are (markers are opaque,
// so Azure's clients take any), unless listMarker could not read it back as a name (a
// position past a BlobPrefix, or a name that looks like an encoded marker).
func nextListMarker(after string) string {
	if utf8.ValidString(after) && !strings.HasPrefix(after, markerPrefix) {
		return after
	}
	return encodeMarker(after)
}

// listMarker is decodeMarker for List Containers and List Blobs, which also take a plain
// name, the last one a page listed (what Azurite's markers are, and clients written
// against it pass): the listing goes on after it.
func listMarker(m string) (string, error) {
	if m == "" || strings.HasPrefix(m, markerPrefix) {
		return decodeMarker(m)
	}
	if len(m) > 4*MaxBlobNameLength+1 {
		return "", errInvalid(CodeInvalidQueryValue, "Value for one of the query parameters specified in the request URI is invalid.")
	}
	return m, nil
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
	after, err := listMarker(opts.Marker)
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
		res.NextMarker = nextListMarker(listKey(cs[limit-1]))
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
	after, err := listMarker(opts.Marker)
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
			entries := s.entriesOf(&r, opts)
			if len(entries) == 0 {
				after = r.Name // a tombstone with nothing to show
				continue
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
			if len(entries) > 1 && len(res.Entries) > 0 && len(res.Entries)+len(entries) > limit {
				more = true
				break scan
			}
			res.Entries = append(res.Entries, entries...)
			after = r.Name
		}
		if exhausted {
			break
		}
	}
	if more {
		res.NextMarker = nextListMarker(after)
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

// entriesOf lists what a listing with opts shows of a blob's record: its snapshots and
// versions, oldest first, then the blob; none for a tombstone with nothing to show.
func (s *Service) entriesOf(rec *BlobRecord, opts ListBlobsOptions) []ListEntry {
	now := s.now()
	var out []ListEntry
	var base *ListEntry
	baseID := ""
	for i := range rec.Snapshots {
		sn := &rec.Snapshots[i]
		if !sn.visible(opts.Deleted, now) {
			continue
		}
		r := sn.Record
		r.Container, r.Name = rec.Container, rec.Name
		e := ListEntry{Blob: r.properties(), Deleted: sn.Deleted}
		switch {
		case sn.Kind == KindSnapshot && opts.Snapshots:
			e.Snapshot = sn.ID
		case sn.Kind == KindVersion && opts.Versions:
			e.Blob.VersionID, e.Version = sn.ID, sn.ID
		case sn.Kind == KindBase && opts.Deleted && rec.Tombstone:
			if base == nil || sn.ID > baseID {
				base, baseID = &e, sn.ID
			}
			continue
		default:
			continue
		}
		out = append(out, e)
	}
	// Snapshots first, each kind oldest first (ids are times).
	slices.SortStableFunc(out, func(a, b ListEntry) int {
		if (a.Snapshot == "") != (b.Snapshot == "") {
			if a.Snapshot != "" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Snapshot+a.Version, b.Snapshot+b.Version)
	})
	switch {
	case !rec.Tombstone:
		e := ListEntry{Blob: s.settled(rec.properties())}
		if opts.Versions && rec.VersionID != "" {
			e.Version, e.IsCurrentVersion = rec.VersionID, true
		}
		out = append(out, e)
	case base != nil:
		out = append(out, *base)
	case opts.DeletedWithVersions:
		if v := latestVersion(rec); v != nil {
			out = append(out, ListEntry{Blob: v.properties(), HasVersionsOnly: true})
		}
	}
	return out
}

// latestVersion is rec's newest live previous version, with rec's name; nil when none.
func latestVersion(rec *BlobRecord) *BlobRecord {
	var latest *Snapshot
	for i := range rec.Snapshots {
		if sn := &rec.Snapshots[i]; sn.Kind == KindVersion && sn.Deleted == nil && (latest == nil || sn.ID > latest.ID) {
			latest = sn
		}
	}
	if latest == nil {
		return nil
	}
	r := latest.Record
	r.Container, r.Name = rec.Container, rec.Name
	return &r
}
