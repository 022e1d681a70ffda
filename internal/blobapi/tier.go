package blobapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// opSetBlobTier is Set Blob Tier (PUT comp=tier), which Azure authorizes as a write.
var opSetBlobTier = &operation{"SetBlobTier", ActionBlobsWrite, true, (*Handler).setBlobTier}

// refuseAccessTier checks x-ms-access-tier on an upload before anything is read. A block
// blob upload (Put Blob of a BlockBlob, Put Block List) and a copy (whose source must then
// be a block blob) take Hot, Cool, Cold or Archive; anything else is 400
// InvalidHeaderValue. Page and append blobs have no tier in a standard account: Hot is
// what they are anyway, and a premium page blob tier (P10...) is not served (501) rather
// than dropped.
func refuseAccessTier(r *http.Request) error {
	v := r.Header.Get("x-ms-access-tier")
	if v == "" {
		return nil
	}
	if r.URL.Query().Get("comp") == "blocklist" || r.Header.Get("x-ms-blob-type") == blob.BlobTypeBlock || r.Header.Get("x-ms-copy-source") != "" {
		_, err := uploadTierHeader(r.Header)
		return err
	}
	if strings.EqualFold(v, blob.TierHot) {
		return nil
	}
	return errNotImplemented("access tier " + truncate(v, 64))
}

// uploadTierHeader returns a block blob upload's x-ms-access-tier, canonical, "" for none.
func uploadTierHeader(h http.Header) (string, error) {
	v := h.Get("x-ms-access-tier")
	if v == "" {
		return "", nil
	}
	t, ok := blob.ParseAccessTier(v)
	if !ok {
		return "", errInvalidHeader("x-ms-access-tier", v)
	}
	return t, nil
}

// setBlobTier serves Set Blob Tier: 200 when the tier changed (or already was), 202
// when a rehydration from Archive was started or is pending. Of the conditions it
// honours the lease and x-ms-if-tags, as Azure does.
func (h *Handler) setBlobTier(w http.ResponseWriter, r *http.Request, t *target) error {
	v := r.Header.Get("x-ms-access-tier")
	if v == "" {
		return errMissingHeader("x-ms-access-tier")
	}
	tier, ok := blob.ParseAccessTier(v)
	if !ok {
		return errInvalidHeader("x-ms-access-tier", v)
	}
	prio, ok := blob.ParseRehydratePriority(r.Header.Get("x-ms-rehydrate-priority"))
	if !ok {
		return errInvalidHeader("x-ms-rehydrate-priority", r.Header.Get("x-ms-rehydrate-priority"))
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	accepted, err := h.Service.SetBlobTier(r.Context(), blob.SetBlobTierInput{Key: t.key(), Version: t.version, Tier: tier, Priority: prio,
		Conditions: blob.Conditions{LeaseID: cond.LeaseID, IfTags: cond.IfTags}})
	if errors.Is(err, blob.ErrRehydrateVersion) {
		return errNotImplemented("rehydrating a previous blob version from Archive")
	}
	if err != nil {
		return err
	}
	if accepted {
		return noContent(w, http.StatusAccepted)
	}
	return noContent(w, http.StatusOK)
}

// setTierHeaders sets the tier headers of Get Blob Properties for a block blob.
func setTierHeaders(hdr http.Header, p blob.BlobProperties) {
	if blobType(p) != blob.BlobTypeBlock {
		return
	}
	tr := p.Tier
	hdr.Set("x-ms-access-tier", tr.Effective())
	if tr.Inferred() {
		hdr.Set("x-ms-access-tier-inferred", "true")
	}
	if !tr.ChangedAt.IsZero() {
		hdr.Set("x-ms-access-tier-change-time", httpTime(tr.ChangedAt))
	}
	if s := tr.ArchiveStatus(); s != "" {
		hdr.Set("x-ms-archive-status", s)
		hdr.Set("x-ms-rehydrate-priority", tr.RehydratePriority)
	}
}

// writeTierXML writes the tier elements of a block blob's List Blobs properties.
func writeTierXML(b *bytes.Buffer, p blob.BlobProperties) {
	if blobType(p) != blob.BlobTypeBlock {
		return
	}
	tr := p.Tier
	element(b, "AccessTier", tr.Effective())
	if tr.Inferred() {
		b.WriteString("<AccessTierInferred>true</AccessTierInferred>")
	}
	if !tr.ChangedAt.IsZero() {
		element(b, "AccessTierChangeTime", httpTime(tr.ChangedAt))
	}
	if s := tr.ArchiveStatus(); s != "" {
		element(b, "ArchiveStatus", s)
		element(b, "RehydratePriority", tr.RehydratePriority)
	}
}
