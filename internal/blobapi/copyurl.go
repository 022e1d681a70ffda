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
	br, err := h.Service.GetBlob(r.Context(), src.key, blob.GetBlobOptions{Range: rg, Conditions: srcCond, Snapshot: src.at.Snapshot, Version: src.at.Version})
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
	tier, err := uploadTierHeader(r.Header)
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
	if props.ContentType == "" {
		props.ContentType = defaultContentType
	}
	if keepTags {
		tags = br.Properties.Tags
	}
	userCreateOnly := createOnlyConditions(t, &cond)
	res, err := h.Service.PutBlob(r.Context(), blob.PutBlobInput{
		Key: t.key(), Body: br, Size: br.Length, Headers: props, Metadata: metadata(r.Header), Tags: tags,
		ContentMD5: srcMD5, Conditions: cond, Tier: tier,
	})
	if err != nil {
		return addOnlyRefused(t, userCreateOnly, err)
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	setVersionID(hdr, res.VersionID)
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
	srcMD5, srcCRC, err := sourceDigests(r)
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
	res, err := h.Service.PutBlock(r.Context(), t.key(), t.query.Get("blockid"), br, br.Length, srcMD5, srcCRC)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setDigests(hdr, res.ContentMD5, srcCRC, res.CRC64)
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
	srcMD5, srcCRC, err := sourceDigests(r)
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
		Key: t.key(), Body: br, Size: br.Length, ContentMD5: srcMD5, ContentCRC64: srcCRC, Conditions: cond, Append: ac,
	})
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	setDigests(hdr, res.ContentMD5, srcCRC, res.CRC64)
	hdr.Set("x-ms-blob-append-offset", itoa(res.Offset))
	hdr.Set("x-ms-blob-committed-block-count", strconv.Itoa(res.CommittedBlockCount))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// putPageFromURL serves Put Page From URL: the pages x-ms-range names written with the
// bytes x-ms-source-range names in the source, a range of the same length.
func (h *Handler) putPageFromURL(w http.ResponseWriter, r *http.Request, t *target) error {
	if err := noBody(r); err != nil {
		return err
	}
	switch mode := r.Header.Get("x-ms-page-write"); mode {
	case "update":
	case "":
		return errMissingHeader("x-ms-page-write")
	default:
		// Clearing takes no source: Put Page does it.
		return errInvalidHeader("x-ms-page-write", mode)
	}
	rg, err := pageRange(r.Header)
	if err != nil {
		return err
	}
	src, err := sourceRange(r)
	if err != nil {
		return err
	}
	if src == nil {
		return errMissingHeader("x-ms-source-range")
	}
	if rg.End < rg.Start {
		return errInvalidHeader("x-ms-range", r.Header.Get("x-ms-range"))
	}
	size := rg.End - rg.Start + 1
	if src.End < 0 || src.End-src.Start+1 != size {
		return errInvalidHeader("x-ms-source-range", r.Header.Get("x-ms-source-range"))
	}
	if size > blob.MaxPageWrite {
		return errBodyTooLarge()
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	seq, err := sequenceConditions(r.Header)
	if err != nil {
		return err
	}
	srcMD5, srcCRC, err := sourceDigests(r)
	if err != nil {
		return err
	}
	br, err := h.openCopySource(w, r, t, src, false)
	if err != nil {
		return err
	}
	defer br.Close()
	if br.Length != size {
		// The source ends inside the range.
		return errInvalidHeader("x-ms-source-range", r.Header.Get("x-ms-source-range"))
	}
	res, err := h.Service.PutPages(r.Context(), blob.PutPagesInput{
		Key: t.key(), Start: rg.Start, End: rg.End, Body: br, ContentMD5: srcMD5, ContentCRC64: srcCRC,
		Conditions: cond, Sequence: seq,
	})
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	setDigests(hdr, res.ContentMD5, srcCRC, res.CRC64)
	hdr.Set("x-ms-blob-sequence-number", itoa(res.SequenceNumber))
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
