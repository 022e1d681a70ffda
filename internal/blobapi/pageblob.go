package blobapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func (h *Handler) createPageBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	v := r.Header.Get("x-ms-blob-content-length")
	if v == "" {
		return errMissingHeader("x-ms-blob-content-length")
	}
	size, err := pageBlobSize(v)
	if err != nil {
		return err
	}
	seq, err := intHeader(r.Header, "x-ms-blob-sequence-number")
	if err != nil {
		return err
	}
	in, userSet, err := createInput(r, t)
	if err != nil {
		return err
	}
	in.Size = size
	if seq != nil {
		in.SequenceNumber = *seq
	}
	p, err := h.Service.CreatePageBlob(r.Context(), in)
	if err != nil {
		return refusedReplace(t, userSet, err)
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	setVersionID(w.Header(), p.VersionID)
	w.Header().Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// pageBlobSize parses x-ms-blob-content-length: a multiple of 512 up to 8 TiB.
func pageBlobSize(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n%blob.PageSize != 0 || n > blob.MaxPageBlobSize {
		return 0, errInvalidHeader("x-ms-blob-content-length", v)
	}
	return n, nil
}

func sequenceConditions(h http.Header) (blob.SequenceConditions, error) {
	var c blob.SequenceConditions
	var err error
	if c.LE, err = intHeader(h, "x-ms-if-sequence-number-le"); err != nil {
		return c, err
	}
	if c.LT, err = intHeader(h, "x-ms-if-sequence-number-lt"); err != nil {
		return c, err
	}
	c.EQ, err = intHeader(h, "x-ms-if-sequence-number-eq")
	return c, err
}

// pageRange reads the range of Put Page: x-ms-range or Range, both ends given.
func pageRange(h http.Header) (blob.Range, error) {
	name := "x-ms-range"
	v := h.Get(name)
	if v == "" {
		name, v = "Range", h.Get("Range")
	}
	if v == "" {
		return blob.Range{}, errMissingHeader("x-ms-range")
	}
	rg, ok := parseRange(v)
	if !ok || rg.End < 0 {
		return blob.Range{}, errInvalidHeader(name, v)
	}
	return rg, nil
}

func (h *Handler) putPage(w http.ResponseWriter, r *http.Request, t *target) error {
	mode := r.Header.Get("x-ms-page-write")
	switch mode {
	case "":
		return errMissingHeader("x-ms-page-write")
	case "update", "clear":
	default:
		return errInvalidHeader("x-ms-page-write", mode)
	}
	rg, err := pageRange(r.Header)
	if err != nil {
		return err
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	seq, err := sequenceConditions(r.Header)
	if err != nil {
		return err
	}
	in := blob.PutPagesInput{Key: t.key(), Start: rg.Start, End: rg.End, Clear: mode == "clear", Conditions: cond, Sequence: seq}
	var crc []byte
	if in.Clear {
		if r.ContentLength > 0 {
			return errInvalidHeader("Content-Length", itoa(r.ContentLength))
		}
	} else {
		if rg.End >= rg.Start && rg.End-rg.Start+1 > blob.MaxPageWrite {
			return errBodyTooLarge()
		}
		size, err := contentLength(r, blob.MaxPageWrite)
		if err != nil {
			return err
		}
		if rg.End >= rg.Start && size != rg.End-rg.Start+1 && (rg.Start%blob.PageSize == 0 && (rg.End+1)%blob.PageSize == 0) {
			// An aligned range the body does not fill.
			return errInvalidHeader("Content-Length", itoa(size))
		}
		if in.ContentMD5, crc, err = transactional(r.Header); err != nil {
			return err
		}
		in.Body, in.ContentCRC64 = r.Body, crc
	}
	res, err := h.Service.PutPages(r.Context(), in)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	if !in.Clear {
		setWriteDigest(hdr, in.ContentMD5, res.ContentMD5, res.CRC64)
		hdr.Set("x-ms-request-server-encrypted", "true")
	}
	hdr.Set("x-ms-blob-sequence-number", itoa(res.SequenceNumber))
	return noContent(w, http.StatusCreated)
}

func (h *Handler) getPageRanges(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	rg, err := requestRange(r.Header)
	if err != nil {
		return err
	}
	var (
		p    blob.BlobProperties
		diff blob.PageDiff
	)
	if t.query.Has("prevsnapshot") {
		if t.version != "" {
			return errNotImplemented("Get Page Ranges of a blob version with prevsnapshot")
		}
		v := t.query.Get("prevsnapshot")
		prev, perr := blob.ParseSnapshotID(v)
		if perr != nil {
			return errInvalidQuery("prevsnapshot", v, "")
		}
		p, diff, err = h.Service.GetPageRangesDiff(r.Context(), t.key(), t.snapshot, prev, rg, cond)
	} else {
		p, diff.Changed, err = h.Service.GetPageRangesAt(r.Context(), t.key(), t.at(), rg, cond)
	}
	if err != nil {
		return h.notModified(w, r, t, err)
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><PageList>`)
	writePageList(&b, diff)
	b.WriteString("<NextMarker /></PageList>")
	hdr := w.Header()
	setWritten(hdr, p.ETag, p.LastModified)
	hdr.Set("x-ms-blob-content-length", itoa(p.Size))
	return writeXMLBody(w, b.Bytes())
}

// writePageList writes the PageRange and ClearRange elements of a page list, merged in
// the order of their offsets (both SDKs collect each kind wherever it appears).
func writePageList(b *bytes.Buffer, d blob.PageDiff) {
	i, j := 0, 0
	for i < len(d.Changed) || j < len(d.Cleared) {
		name, pr := "PageRange", blob.PageRange{}
		if j == len(d.Cleared) || (i < len(d.Changed) && d.Changed[i].Start < d.Cleared[j].Start) {
			pr = d.Changed[i]
			i++
		} else {
			name, pr = "ClearRange", d.Cleared[j]
			j++
		}
		b.WriteString("<" + name + "><Start>" + itoa(pr.Start) + "</Start><End>" + itoa(pr.End) + "</End></" + name + ">")
	}
}

// setPageBlobProperties serves Set Blob Properties when it resizes a page blob or sets
// its sequence number; the blob's HTTP headers are left as they are.
func (h *Handler) setPageBlobProperties(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	u := blob.PageBlobUpdate{Conditions: cond}
	if v := r.Header.Get("x-ms-blob-content-length"); v != "" {
		size, err := pageBlobSize(v)
		if err != nil {
			return err
		}
		u.Size = &size
	}
	seq, err := intHeader(r.Header, "x-ms-blob-sequence-number")
	if err != nil {
		return err
	}
	switch u.SequenceAction = r.Header.Get("x-ms-sequence-number-action"); u.SequenceAction {
	case "":
	case blob.SequenceMax, blob.SequenceUpdate:
		if seq == nil {
			return errMissingHeader("x-ms-blob-sequence-number")
		}
		u.SequenceNumber = *seq
	case blob.SequenceIncrement:
		if seq != nil {
			return errInvalidHeader("x-ms-blob-sequence-number", itoa(*seq))
		}
	default:
		return errInvalidHeader("x-ms-sequence-number-action", u.SequenceAction)
	}
	p, err := h.Service.UpdatePageBlob(r.Context(), t.key(), u)
	if err != nil {
		return err
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	w.Header().Set("x-ms-blob-sequence-number", itoa(p.SequenceNumber))
	return noContent(w, http.StatusOK)
}
