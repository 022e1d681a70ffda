package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// maxRangeDigest is the largest range Azure returns a range MD5 or CRC-64 for.
const maxRangeDigest = 4 << 20

func (t *target) key() blob.BlobKey {
	return blob.BlobKey{Account: t.account, Container: t.container, Name: t.blob}
}

// contentLength returns the body length a write needs, refusing what is missing or too
// large before a byte is read.
func contentLength(r *http.Request, limit int64) (int64, error) {
	switch n := r.ContentLength; {
	case n < 0:
		return 0, &apiError{status: http.StatusLengthRequired, code: "MissingContentLengthHeader",
			message: "The Content-Length header was not specified."}
	case n > limit:
		return 0, errBodyTooLarge()
	default:
		return n, nil
	}
}

func (h *Handler) putBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	size, err := contentLength(r, blob.MaxPutBlobSize)
	if err != nil {
		return err
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	props, err := uploadHeaders(r.Header, true)
	if err != nil {
		return err
	}
	md5sum, crc, err := transactional(r.Header)
	if err != nil {
		return err
	}
	if len(props.ContentMD5) != 0 {
		// On Put Blob x-ms-blob-content-md5 takes precedence over Content-MD5: it is the
		// digest the body is checked against.
		md5sum = props.ContentMD5
	}
	tags, err := headerTags(r, t)
	if err != nil {
		return err
	}
	tier, err := uploadTierHeader(r.Header)
	if err != nil {
		return err
	}
	userCreateOnly := false
	for _, e := range cond.IfNoneMatch {
		userCreateOnly = userCreateOnly || e == "*"
	}
	if t.createOnly && !userCreateOnly {
		cond.IfNoneMatch = append(cond.IfNoneMatch, "*")
	}
	res, err := h.Service.PutBlob(r.Context(), blob.PutBlobInput{
		Key: t.key(), Body: r.Body, Size: size, Headers: props, Metadata: metadata(r.Header), Tags: tags,
		ContentMD5: md5sum, ContentCRC64: crc, Conditions: cond, Tier: tier,
	})
	if err != nil {
		if t.createOnly && !userCreateOnly && lanyard.CodeOf(err) == blob.CodeBlobAlreadyExists {
			// Only allowed to add: replacing needs blobs/write.
			return lanyard.Errorf(lanyard.KindPermissionDenied, "This request is not authorized to perform this operation using this permission.").WithCode("AuthorizationPermissionMismatch")
		}
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	setVersionID(hdr, res.VersionID)
	setDigests(hdr, res.ContentMD5, crc, res.CRC64)
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// getBlob serves Get Blob (GET) and Get Blob Properties (HEAD).
func (h *Handler) getBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	hdr := w.Header()
	if r.Method == http.MethodHead {
		p, err := h.Service.GetBlobPropertiesAt(r.Context(), t.key(), t.at(), cond)
		if err != nil {
			return h.notModified(w, r, t, err)
		}
		setBlobHeaders(hdr, p, h.Service.Now())
		if len(p.ContentMD5) > 0 {
			hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
		}
		hdr.Set("Content-Length", itoa(p.Size))
		setTierHeaders(hdr, p)
		w.WriteHeader(http.StatusOK)
		return nil
	}

	rg, err := requestRange(r.Header)
	if err != nil {
		return err
	}
	wantMD5 := r.Header.Get("x-ms-range-get-content-md5") == "true"
	wantCRC := r.Header.Get("x-ms-range-get-content-crc64") == "true"
	if (wantMD5 || wantCRC) && (rg == nil || (wantMD5 && wantCRC)) {
		return &apiError{status: http.StatusBadRequest, code: "InvalidInput",
			message: "One of the request inputs is not valid."}
	}
	br, err := h.Service.GetBlob(r.Context(), t.key(), blob.GetBlobOptions{Range: rg, Conditions: cond, Snapshot: t.snapshot, Version: t.version})
	if err != nil {
		if lanyard.CodeOf(err) == blob.CodeInvalidRange {
			if p, perr := h.Service.GetBlobPropertiesAt(r.Context(), t.key(), t.at(), blob.Conditions{}); perr == nil {
				hdr.Set("Content-Range", "bytes */"+itoa(p.Size))
			}
		}
		return h.notModified(w, r, t, err)
	}
	defer br.Close()
	p := br.Properties
	var body io.Reader = br
	var digest [2]string // header, value
	if wantMD5 || wantCRC {
		if br.Length > maxRangeDigest {
			return &apiError{status: http.StatusBadRequest, code: "OutOfRangeInput",
				message: "The range specified exceeds the 4 MiB a range digest can be computed for."}
		}
		// The digest goes in a header, so the (at most 4 MiB) range is read first.
		buf, err := io.ReadAll(br)
		if err != nil {
			return fmt.Errorf("blobapi: reading range: %w", err)
		}
		if wantMD5 {
			sum := md5.Sum(buf)
			digest = [2]string{"Content-MD5", base64.StdEncoding.EncodeToString(sum[:])}
		} else {
			digest = [2]string{"x-ms-content-crc64", base64.StdEncoding.EncodeToString(blob.CRC64Bytes(blob.CRC64(buf)))}
		}
		body = bytes.NewReader(buf)
	}
	setBlobHeaders(hdr, p, h.Service.Now())
	hdr.Set("Content-Length", itoa(br.Length))
	if digest[0] != "" {
		hdr.Set(digest[0], digest[1])
	}
	status := http.StatusOK
	// x-ms-blob-content-md5 is the whole blob's MD5, on every read (the SDKs read it as
	// the blob's); Content-MD5 is the body's, so a ranged read has it only when asked.
	if len(p.ContentMD5) > 0 {
		hdr.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	}
	if br.Partial {
		status = http.StatusPartialContent
		hdr.Set("Content-Range", "bytes "+itoa(br.Offset)+"-"+itoa(br.Offset+br.Length-1)+"/"+itoa(p.Size))
	} else if len(p.ContentMD5) > 0 {
		hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	}
	w.WriteHeader(status)
	if br.Length == 0 {
		return nil
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// Writer only: http.ResponseWriter's ReadFrom, over TLS, would copy through its own
	// 32 KiB buffer instead of this one.
	if _, err := io.CopyBuffer(struct{ io.Writer }{w}, body, *buf); err != nil {
		return fmt.Errorf("blobapi: sending blob: %w", err)
	}
	return nil
}

// copyBuffers are reused across downloads: large reads cut syscalls, and allocating (and
// zeroing) one per request would cost more than the small downloads themselves.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// notModified adds, to a 304, the validators the client compares with.
func (h *Handler) notModified(w http.ResponseWriter, r *http.Request, t *target, err error) error {
	if errors.Is(err, blob.ErrNotModified) {
		if p, perr := h.Service.GetBlobPropertiesAt(r.Context(), t.key(), t.at(), blob.Conditions{}); perr == nil {
			setWritten(w.Header(), p.ETag, p.LastModified)
		}
	}
	return err
}

func (h *Handler) getBlobMetadata(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	p, err := h.Service.GetBlobPropertiesAt(r.Context(), t.key(), t.at(), cond)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, p.ETag, p.LastModified)
	setMetadata(hdr, p.Metadata)
	return noContent(w, http.StatusOK)
}

func (h *Handler) setBlobMetadata(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	p, err := h.Service.SetBlobMetadata(r.Context(), t.key(), metadata(r.Header), cond)
	if err != nil {
		return err
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	setVersionID(w.Header(), p.VersionID)
	w.Header().Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusOK)
}

func (h *Handler) setBlobProperties(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	props, err := blobHeaders(r.Header, false)
	if err != nil {
		return err
	}
	p, err := h.Service.SetBlobHTTPHeaders(r.Context(), t.key(), props, cond)
	if err != nil {
		return err
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	return noContent(w, http.StatusOK)
}

func (h *Handler) deleteBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	opts, err := deleteOptions(r, t, cond)
	if err != nil {
		return err
	}
	if err := h.Service.DeleteBlobWith(r.Context(), t.key(), opts); err != nil {
		return err
	}
	// Without soft delete, every delete is permanent; the SDKs read the header.
	pol, err := h.Service.Policy(r.Context(), t.account)
	if err != nil {
		return err
	}
	w.Header().Set("x-ms-delete-type-permanent", strconv.FormatBool(pol.RetentionDays == 0))
	return noContent(w, http.StatusAccepted)
}
