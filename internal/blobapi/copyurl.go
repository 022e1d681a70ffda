package blobapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// openCopySource opens the source of Put Blob From URL and Put Block From URL (a range
// of it when rg is set), after its x-ms-source-if-* conditions.
func (h *Handler) openCopySource(w http.ResponseWriter, r *http.Request, t *target, rg *blob.Range, readTags bool) (*blob.BlobReader, error) {
	srcCond, err := sourceConditions(r)
	if err != nil {
		return nil, err
	}
	src, err := h.resolveCopySource(w, r, t, readTags)
	if err != nil {
		return nil, err
	}
	br, err := h.Service.GetBlob(r.Context(), src.key, blob.GetBlobOptions{Range: rg, Conditions: srcCond})
	switch {
	case err == nil:
		return br, nil
	case lanyard.CodeOf(err) == blob.CodeConditionNotMet:
		return nil, lanyard.Errorf(lanyard.KindConflict, "The source condition specified using HTTP conditional header(s) is not met.").WithCode(blob.CodeSourceConditionNotMet)
	case lanyard.KindOf(err) == lanyard.KindNotFound:
		return nil, errCopySource(w, err)
	}
	return nil, err
}

// putBlobFromURL serves Put Blob From URL: a block blob made of the source's bytes, in
// one extent, with the source's HTTP properties unless x-ms-copy-source-blob-properties
// is false or the request sets its own.
func (h *Handler) putBlobFromURL(w http.ResponseWriter, r *http.Request, t *target) error {
	if err := noBody(r); err != nil {
		return err
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	tags, keepTags, err := copyTags(r, t, true)
	if err != nil {
		return err
	}
	srcMD5, err := sourceMD5(r)
	if err != nil {
		return err
	}
	copyProps := true
	switch v := r.Header.Get("x-ms-copy-source-blob-properties"); {
	case v == "" || strings.EqualFold(v, "true"):
	case strings.EqualFold(v, "false"):
		copyProps = false
	default:
		return errInvalidHeader("x-ms-copy-source-blob-properties", v)
	}
	own, err := blobHeaders(r.Header, false)
	if err != nil {
		return err
	}
	br, err := h.openCopySource(w, r, t, nil, keepTags)
	if err != nil {
		return err
	}
	defer br.Close()
	props := own
	if copyProps && own.ContentType == "" && own.ContentEncoding == "" && own.ContentLanguage == "" &&
		own.ContentDisposition == "" && own.CacheControl == "" && len(own.ContentMD5) == 0 {
		props = br.Properties.HTTPHeaders
		props.ContentMD5 = nil // computed again from the bytes copied
	}
	if keepTags {
		tags = br.Properties.Tags
	}
	userCreateOnly := createOnlyConditions(t, &cond)
	res, err := h.Service.PutBlob(r.Context(), blob.PutBlobInput{
		Key: t.key(), Body: br, Size: br.Length, Headers: props, Metadata: metadata(r.Header), Tags: tags,
		ContentMD5: srcMD5, Conditions: cond,
	})
	if err != nil {
		return addOnlyRefused(t, userCreateOnly, err)
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(res.ContentMD5))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// putBlockFromURL serves Put Block From URL: a block staged from the source's bytes, or
// the range x-ms-source-range names.
func (h *Handler) putBlockFromURL(w http.ResponseWriter, r *http.Request, t *target) error {
	if !t.query.Has("blockid") {
		return errMissingQuery("blockid")
	}
	if err := noBody(r); err != nil {
		return err
	}
	srcMD5, err := sourceMD5(r)
	if err != nil {
		return err
	}
	rg, err := sourceRange(r)
	if err != nil {
		return err
	}
	leaseID, err := leaseIDHeader(r.Header, "x-ms-lease-id")
	if err != nil {
		return err
	}
	if err := h.Service.CheckBlobLease(r.Context(), t.key(), leaseID); err != nil {
		return err
	}
	br, err := h.openCopySource(w, r, t, rg, false)
	if err != nil {
		return err
	}
	defer br.Close()
	if br.Length > blob.MaxBlockSize {
		return errBodyTooLarge()
	}
	res, err := h.Service.PutBlock(r.Context(), t.key(), t.query.Get("blockid"), br, br.Length, srcMD5, nil)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(res.ContentMD5))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// appendBlockFromURL serves Append Block From URL: the source's bytes, or the range
// x-ms-source-range names, appended as one block.
func (h *Handler) appendBlockFromURL(w http.ResponseWriter, r *http.Request, t *target) error {
	if err := noBody(r); err != nil {
		return err
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	var ac blob.AppendConditions
	if ac.MaxSize, err = intHeader(r.Header, "x-ms-blob-condition-maxsize"); err != nil {
		return err
	}
	if ac.AppendPosition, err = intHeader(r.Header, "x-ms-blob-condition-appendpos"); err != nil {
		return err
	}
	srcMD5, err := sourceMD5(r)
	if err != nil {
		return err
	}
	rg, err := sourceRange(r)
	if err != nil {
		return err
	}
	br, err := h.openCopySource(w, r, t, rg, false)
	if err != nil {
		return err
	}
	defer br.Close()
	if br.Length > blob.MaxAppendBlockSize {
		return errBodyTooLarge()
	}
	res, err := h.Service.AppendBlock(r.Context(), blob.AppendBlockInput{
		Key: t.key(), Body: br, Size: br.Length, ContentMD5: srcMD5, Conditions: cond, Append: ac,
	})
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(res.ContentMD5))
	hdr.Set("x-ms-blob-append-offset", itoa(res.Offset))
	hdr.Set("x-ms-blob-committed-block-count", strconv.Itoa(res.CommittedBlockCount))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// sourceRange reads x-ms-source-range; nil when absent.
func sourceRange(r *http.Request) (*blob.Range, error) {
	v := r.Header.Get("x-ms-source-range")
	if v == "" {
		return nil, nil
	}
	rg, ok := parseRange(v)
	if !ok {
		return nil, errInvalidHeader("x-ms-source-range", v)
	}
	return &rg, nil
}
