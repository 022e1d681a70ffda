package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func (h *Handler) putBlock(w http.ResponseWriter, r *http.Request, t *target) error {
	if !t.query.Has("blockid") {
		return errMissingQuery("blockid")
	}
	size, err := contentLength(r, blob.MaxBlockSize)
	if err != nil {
		return err
	}
	md5sum, crc, err := transactional(r.Header)
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
	res, err := h.Service.PutBlock(r.Context(), t.key(), t.query.Get("blockid"), r.Body, size, md5sum, crc)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(res.ContentMD5))
	hdr.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(blob.CRC64Bytes(res.CRC64)))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

func (h *Handler) putBlockList(w http.ResponseWriter, r *http.Request, t *target) error {
	if r.ContentLength > maxBlockListBody {
		return errBodyTooLarge()
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	props, err := uploadHeaders(r.Header, false)
	if err != nil {
		return err
	}
	md5sum, crc, err := transactional(r.Header)
	if err != nil {
		return err
	}
	tags, err := headerTags(r, t)
	if err != nil {
		return err
	}
	tier, err := uploadTierHeader(r.Header)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBlockListBody+1))
	if err != nil {
		return fmt.Errorf("blobapi: reading block list: %w", err)
	}
	if int64(len(body)) > maxBlockListBody {
		return errBodyTooLarge()
	}
	if err := checkDigests(body, md5sum, crc); err != nil {
		return err
	}
	items, err := parseBlockList(body)
	if errors.Is(err, errListTooLong) {
		return &apiError{status: http.StatusBadRequest, code: blob.CodeBlockListTooLong,
			message: "The block list may not contain more than 50,000 blocks."}
	}
	if err != nil {
		return err
	}
	p, err := h.Service.PutBlockList(r.Context(), blob.PutBlockListInput{
		Key: t.key(), Blocks: items, Headers: props, Metadata: metadata(r.Header), Tags: tags, Conditions: cond, Tier: tier,
	})
	if err != nil {
		return err
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	setVersionID(w.Header(), p.VersionID)
	w.Header().Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// checkDigests verifies the transactional digests of a small, buffered body.
func checkDigests(body, md5sum, crc []byte) error {
	if len(md5sum) > 0 {
		if sum := md5.Sum(body); !bytes.Equal(md5sum, sum[:]) {
			return &apiError{status: http.StatusBadRequest, code: blob.CodeMd5Mismatch,
				message: "The MD5 value specified in the request did not match with the MD5 value calculated by the server."}
		}
	}
	if len(crc) > 0 && !bytes.Equal(crc, blob.CRC64Bytes(blob.CRC64(body))) {
		return &apiError{status: http.StatusBadRequest, code: blob.CodeCrc64Mismatch,
			message: "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server."}
	}
	return nil
}

func (h *Handler) getBlockList(w http.ResponseWriter, r *http.Request, t *target) error {
	which := blob.ListCommitted
	switch v := t.query.Get("blocklisttype"); v {
	case "", "committed":
	case "uncommitted":
		which = blob.ListUncommitted
	case "all":
		which = blob.ListAll
	default:
		return errInvalidQuery("blocklisttype", v, "")
	}
	// Of the conditional headers, Get Block List honours x-ms-if-tags alone.
	ifTags, err := blob.ParseTagCondition(r.Header.Get("x-ms-if-tags"))
	if err != nil {
		return err
	}
	bl, err := h.Service.GetBlockListAt(r.Context(), t.key(), t.at(), which)
	if err == nil && ifTags != nil {
		var tags blob.Tags
		if bl.Blob != nil {
			tags = bl.Blob.Tags
		}
		err = blob.Conditions{IfTags: ifTags}.CheckTags(tags)
	}
	if err != nil {
		return err
	}
	out := blockListXML{Committed: blocksXML(bl.Committed), Uncommitted: blocksXML(bl.Uncommitted)}
	if which != blob.ListUncommitted && out.Committed == nil {
		out.Committed = &[]blockXML{}
	}
	if which != blob.ListCommitted && out.Uncommitted == nil {
		out.Uncommitted = &[]blockXML{}
	}
	hdr := w.Header()
	if bl.Blob != nil {
		setWritten(hdr, bl.Blob.ETag, bl.Blob.LastModified)
		hdr.Set("x-ms-blob-content-length", strconv.FormatInt(bl.Blob.Size, 10))
	}
	return writeXML(w, out)
}

// writeXML sends v as an XML document with status 200.
func writeXML(w http.ResponseWriter, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("blobapi: encoding XML: %w", err)
	}
	return writeXMLBody(w, append([]byte(`<?xml version="1.0" encoding="utf-8"?>`), b...))
}

// writeXMLBody sends a complete XML document.
func writeXMLBody(w http.ResponseWriter, body []byte) error {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}
