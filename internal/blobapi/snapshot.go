package blobapi

import (
	"net/http"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// opSnapshotBlob serves Snapshot Blob (PUT comp=snapshot): a write of the blob.
var opSnapshotBlob = &operation{"SnapshotBlob", ActionBlobsWrite, true, (*Handler).snapshotBlob}

// routeSnapshot routes a request that addresses a snapshot (?snapshot=): reads and Delete
// Blob, as Azure serves them; every write is refused, since a snapshot is read-only.
func routeSnapshot(r *http.Request, t *target) (*operation, error) {
	v := t.query.Get("snapshot")
	id, err := stateOfBlob(t, "snapshot")
	if err != nil {
		return nil, err
	}
	t.snapshot = id
	m := r.Method
	switch comp := t.query.Get("comp"); comp {
	case "":
		if m == http.MethodPut {
			return nil, errInvalidQuery("snapshot", v, "a snapshot is read-only")
		}
		return method(m, map[string]*operation{http.MethodGet: opGetBlob, http.MethodHead: opGetBlobProps,
			http.MethodDelete: opDeleteBlob})
	case "metadata":
		if m == http.MethodPut {
			return nil, errInvalidQuery("snapshot", v, "a snapshot is read-only")
		}
		return method(m, map[string]*operation{http.MethodGet: opGetBlobMeta, http.MethodHead: opGetBlobMeta})
	case "blocklist", "pagelist":
		if op, err := routeStateList(r, comp); op != nil || err != nil {
			return op, err
		}
	case "tags":
		// A snapshot starts with the tags its blob had; they may be set afterwards, as
		// a version's may (tags are an index over the data, not part of it).
		return method(m, map[string]*operation{http.MethodGet: opGetBlobTags, http.MethodPut: opSetBlobTags})
	case "copy", "tier":
		if m == http.MethodGet || m == http.MethodHead {
			return nil, errNotImplemented("comp=" + comp + " of a blob snapshot")
		}
	}
	if m == http.MethodGet || m == http.MethodHead {
		return nil, errInvalidQuery("comp", t.query.Get("comp"), "")
	}
	return nil, errInvalidQuery("snapshot", v, "a snapshot is read-only")
}

// routeStateList routes Get Block List and Get Page Ranges (comp=blocklist|pagelist) of a
// snapshot or version; nil for another method, which the caller refuses.
func routeStateList(r *http.Request, comp string) (*operation, error) {
	switch {
	case r.Method != http.MethodGet:
		return nil, nil
	case comp == "blocklist":
		return opGetBlockList, nil
	}
	if err := refusePreviousSnapshotURL(r); err != nil {
		return nil, err
	}
	return opGetPageRanges, nil
}

func (h *Handler) snapshotBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	id, p, err := h.Service.SnapshotBlob(r.Context(), t.key(), blob.SnapshotBlobOptions{
		Metadata: metadata(r.Header), Conditions: cond})
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("x-ms-snapshot", id)
	setWritten(hdr, p.ETag, p.LastModified)
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// deleteOptions reads Delete Blob's snapshot options: the snapshot addressed, or what
// x-ms-delete-snapshots says to do with the blob's.
func deleteOptions(r *http.Request, t *target, cond blob.Conditions) (blob.DeleteBlobOptions, error) {
	opts := blob.DeleteBlobOptions{Snapshot: t.snapshot, Version: t.version, Conditions: cond}
	if t.query.Has("deletetype") {
		// Permanent delete of soft-deleted snapshots and versions is an account setting
		// Lanyard does not have.
		return opts, errNotImplemented("Delete Blob with deletetype=" + truncate(t.query.Get("deletetype"), 16))
	}
	v := r.Header.Get("x-ms-delete-snapshots")
	switch strings.ToLower(v) {
	case "":
		return opts, nil
	case "include":
		opts.Snapshots = blob.DeleteSnapshotsInclude
	case "only":
		opts.Snapshots = blob.DeleteSnapshotsOnly
	default:
		return opts, errInvalidHeader("x-ms-delete-snapshots", v)
	}
	if t.snapshot != "" || t.version != "" {
		// Azure: the header on a request that deletes one snapshot is a bad request.
		return opts, errInvalidHeader("x-ms-delete-snapshots", v)
	}
	return opts, nil
}

// stateOfBlob reads the snapshot or version id that the query parameter param names
// (canonical), and makes sure t addresses a blob: /{account}/{name} is a blob of the root
// container, as route treats it. Anything else is Azure's 400 for the parameter.
func stateOfBlob(t *target, param string) (string, error) {
	v := t.query.Get(param)
	id, err := blob.ParseSnapshotID(v)
	if err != nil {
		return "", errInvalidQuery(param, v, "")
	}
	if t.blob == "" && t.query.Get("restype") == "" {
		t.container, t.blob = "$root", t.container
	}
	if t.blob == "" {
		return "", errInvalidQuery(param, v, "")
	}
	return id, nil
}
