package blobapi

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Blob versions (?versionid=) and Undelete Blob. The blob package keeps versions and
// soft-deleted states as the account's settings say (serviceprops.go, ARM
// blobServices/default); here they are addressed.

// RBAC actions of deleting a version and of Undelete Blob (blob.md: Undelete Blob needs
// containers/write).
const ActionBlobsDeleteVersion = actionPrefix + "containers/blobs/deleteBlobVersion/action"

var (
	opDeleteBlobVersion = &operation{"DeleteBlob", ActionBlobsDeleteVersion, true, (*Handler).deleteBlob}
	opUndeleteBlob      = &operation{"UndeleteBlob", ActionContainersWrite, false, (*Handler).undeleteBlob}
)

// routeVersion routes a request that addresses a version (?versionid=): reads (block list
// and page ranges too), Delete Blob, the version's tags and tier, as Azure serves them; every other write is refused, since
// a version is read-only.
func routeVersion(r *http.Request, t *target) (*operation, error) {
	v := t.query.Get("versionid")
	if t.query.Has("snapshot") {
		return nil, errInvalidQuery("versionid", v, "")
	}
	id, err := stateOfBlob(t, "versionid")
	if err != nil {
		return nil, err
	}
	t.version = id
	m := r.Method
	switch comp := t.query.Get("comp"); comp {
	case "":
		if m == http.MethodPut {
			return nil, errInvalidQuery("versionid", v, "a version is read-only")
		}
		return method(m, map[string]*operation{http.MethodGet: opGetBlob, http.MethodHead: opGetBlobProps,
			http.MethodDelete: opDeleteBlobVersion})
	case "metadata":
		if m == http.MethodPut {
			return nil, errInvalidQuery("versionid", v, "a version is read-only")
		}
		return method(m, map[string]*operation{http.MethodGet: opGetBlobMeta, http.MethodHead: opGetBlobMeta})
	case "tags":
		return method(m, map[string]*operation{http.MethodGet: opGetBlobTags, http.MethodPut: opSetBlobTags})
	case "tier":
		return method(m, map[string]*operation{http.MethodPut: opSetBlobTier})
	case "blocklist", "pagelist":
		if op, err := routeStateList(r, comp); op != nil || err != nil {
			return op, err
		}
	case "copy":
		return nil, errNotImplemented("comp=" + comp + " of a blob version")
	}
	if m == http.MethodGet || m == http.MethodHead {
		return nil, errInvalidQuery("comp", t.query.Get("comp"), "")
	}
	return nil, errInvalidQuery("versionid", v, "a version is read-only")
}

// at is the state of the blob the request addresses.
func (t *target) at() blob.At { return blob.At{Snapshot: t.snapshot, Version: t.version} }

// setVersionID adds a write's x-ms-version-id, when the blob has one.
func setVersionID(h http.Header, id string) {
	if id != "" {
		h.Set("x-ms-version-id", id)
	}
}

func (h *Handler) undeleteBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	if err := h.Service.UndeleteBlob(r.Context(), t.key()); err != nil {
		return err
	}
	return noContent(w, http.StatusOK)
}
