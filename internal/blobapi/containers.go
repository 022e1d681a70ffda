package blobapi

import (
	"net/http"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func (h *Handler) createContainer(w http.ResponseWriter, r *http.Request, t *target) error {
	// A request that is malformed is refused as such first (400), before the account's
	// policy is applied to it (409).
	if _, err := blob.ValidateMetadata(metadata(r.Header)); err != nil {
		return err
	}
	if r.Header.Get("x-ms-blob-public-access") != "" {
		// Anonymous access does not exist in Lanyard, as on an account that disallows it.
		return &apiError{status: http.StatusConflict, code: "PublicAccessNotPermitted",
			message: "Public access is not permitted on this storage account."}
	}
	c, err := h.Service.CreateContainer(r.Context(), t.account, t.container, metadata(r.Header))
	if err != nil {
		return err
	}
	setWritten(w.Header(), c.ETag, c.LastModified)
	return noContent(w, http.StatusCreated)
}

func (h *Handler) getContainer(w http.ResponseWriter, r *http.Request, t *target) error {
	leaseID, err := leaseIDHeader(r.Header, "x-ms-lease-id")
	if err != nil {
		return err
	}
	c, err := h.Service.GetContainer(r.Context(), t.account, t.container)
	if err != nil {
		return err
	}
	if err := h.Service.CheckContainerLease(c, leaseID); err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, c.ETag, c.LastModified)
	setMetadata(hdr, c.Metadata)
	setLeaseHeaders(hdr, c.Lease, h.Service.Now())
	hdr.Set("x-ms-has-immutability-policy", "false")
	hdr.Set("x-ms-has-legal-hold", "false")
	hdr.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	hdr.Set("x-ms-deny-encryption-scope-override", "false")
	hdr.Set("x-ms-immutable-storage-with-versioning-enabled", "false")
	return noContent(w, http.StatusOK)
}

func (h *Handler) setContainerMetadata(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	c, err := h.Service.SetContainerMetadata(r.Context(), t.account, t.container, metadata(r.Header), cond)
	if err != nil {
		return err
	}
	setWritten(w.Header(), c.ETag, c.LastModified)
	return noContent(w, http.StatusOK)
}

func (h *Handler) deleteContainer(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	var retain time.Duration
	if h.Settings != nil {
		if retain, err = h.Settings.ContainerDeleteRetention(r.Context(), t.account); err != nil {
			return err
		}
	}
	if _, err := h.Service.SoftDeleteContainer(r.Context(), t.account, t.container, cond, retain); err != nil {
		return err
	}
	return noContent(w, http.StatusAccepted)
}

// restoreContainer is Restore Container (PUT ?restype=container&comp=undelete): the
// deleted version named by the headers comes back under the request's container name,
// which must be its own (Azure no longer restores under another name).
func (h *Handler) restoreContainer(w http.ResponseWriter, r *http.Request, t *target) error {
	const nameHeader, versionHeader = "x-ms-deleted-container-name", "x-ms-deleted-container-version"
	name, version := r.Header.Get(nameHeader), r.Header.Get(versionHeader)
	switch {
	case name == "":
		return errMissingHeader(nameHeader)
	case version == "":
		return errMissingHeader(versionHeader)
	case name != t.container:
		return errInvalidHeader(nameHeader, name)
	}
	c, err := h.Service.RestoreContainer(r.Context(), t.account, name, version)
	if err != nil {
		return err
	}
	setWritten(w.Header(), c.ETag, c.LastModified)
	return noContent(w, http.StatusCreated)
}
