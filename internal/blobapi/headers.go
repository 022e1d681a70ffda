package blobapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

const (
	metaPrefix = "X-Ms-Meta-" // canonical form: net/http canonicalizes header names
	// maxPropertyHeader bounds each blob property header (Content-Type and friends).
	maxPropertyHeader = 4 << 10
)

// conditions reads the conditional headers.
func conditions(r *http.Request) (blob.Conditions, error) {
	var c blob.Conditions
	c.IfMatch = etagList(r.Header.Values("If-Match"))
	c.IfNoneMatch = etagList(r.Header.Values("If-None-Match"))
	q, err := blob.ParseTagCondition(r.Header.Get("x-ms-if-tags"))
	if err != nil {
		return c, err
	}
	c.IfTags = q
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"If-Modified-Since", &c.IfModifiedSince}, {"If-Unmodified-Since", &c.IfUnmodifiedSince}} {
		vs := r.Header.Values(d.name)
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return c, errInvalidHeader(d.name, strings.Join(vs, ", "))
		}
		t, err := http.ParseTime(vs[0])
		if err != nil {
			return c, errInvalidHeader(d.name, vs[0])
		}
		*d.dst = t
	}
	c.LeaseID, err = leaseIDHeader(r.Header, "x-ms-lease-id")
	return c, err
}

// etagList splits If-Match / If-None-Match values; ETags never contain commas.
func etagList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// metadata reads x-ms-meta-* headers. The domain validates names and sizes.
func metadata(h http.Header) blob.Metadata {
	var md blob.Metadata
	for k, vs := range h {
		name, ok := strings.CutPrefix(k, metaPrefix)
		if !ok {
			if len(k) > len(metaPrefix) && strings.EqualFold(k[:len(metaPrefix)], metaPrefix) {
				name = k[len(metaPrefix):] // a header the server did not canonicalize
			} else {
				continue
			}
		}
		if md == nil {
			md = blob.Metadata{}
		}
		md[name] = strings.Join(vs, ",")
	}
	return md
}

// blobHeaders reads the x-ms-blob-* properties. With fallback, the plain HTTP headers
// stand in for missing ones, as Put Blob allows.
func blobHeaders(h http.Header, fallback bool) (blob.HTTPHeaders, error) {
	var out blob.HTTPHeaders
	fields := []struct {
		name, plain string
		dst         *string
	}{
		{"x-ms-blob-content-type", "Content-Type", &out.ContentType},
		{"x-ms-blob-content-encoding", "Content-Encoding", &out.ContentEncoding},
		{"x-ms-blob-content-language", "Content-Language", &out.ContentLanguage},
		{"x-ms-blob-content-disposition", "", &out.ContentDisposition},
		{"x-ms-blob-cache-control", "Cache-Control", &out.CacheControl},
	}
	for _, f := range fields {
		v := h.Get(f.name)
		if v == "" && fallback && f.plain != "" {
			v = h.Get(f.plain)
		}
		if len(v) > maxPropertyHeader {
			return out, errInvalidHeader(f.name, v)
		}
		*f.dst = v
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		// Set Blob Properties stores a value of any length, as Azure does; uploads
		// (uploadHeaders) want an MD5.
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(v) > maxPropertyHeader {
			return out, errInvalidMd5()
		}
		out.ContentMD5 = b
	}
	return out, nil
}

// createHeaders is blobHeaders for a write that creates a blob: one created without a
// content type gets Azure's default, stored (Set Blob Properties without one clears it).
func createHeaders(h http.Header, fallback bool) (blob.HTTPHeaders, error) {
	out, err := blobHeaders(h, fallback)
	if out.ContentType == "" {
		out.ContentType = defaultContentType
	}
	return out, err
}

// uploadHeaders is createHeaders for a write with content (Put Blob, Put Block List):
// there x-ms-blob-content-md5 must be an MD5. It is stored as the blob's, in place of the
// one the server computes. (Creating an empty append or page blob stores any value, as
// Set Blob Properties does.)
func uploadHeaders(h http.Header, fallback bool) (blob.HTTPHeaders, error) {
	out, err := createHeaders(h, fallback)
	if err == nil && len(out.ContentMD5) != 0 && len(out.ContentMD5) != 16 {
		err = errInvalidMd5()
	}
	return out, err
}

// defaultContentType is the content type Azure gives a blob created without one.
const defaultContentType = "application/octet-stream"

func errInvalidMd5() error {
	return &apiError{status: http.StatusBadRequest, code: "InvalidMd5",
		message: "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded."}
}

// transactional reads Content-MD5 and x-ms-content-crc64, the digests of the body.
func transactional(h http.Header) (md5, crc []byte, err error) {
	if h.Get("Content-MD5") != "" && h.Get("x-ms-content-crc64") != "" {
		return nil, nil, &apiError{status: http.StatusBadRequest, code: "BothCrc64AndMd5HeaderPresent",
			message: "Both x-ms-content-crc64 header and Content-MD5 header are present."}
	}
	if v := h.Get("Content-MD5"); v != "" {
		md5, err = base64.StdEncoding.DecodeString(v)
		if err != nil || len(md5) != 16 {
			return nil, nil, errInvalidMd5()
		}
	}
	if v := h.Get("x-ms-content-crc64"); v != "" {
		crc, err = base64.StdEncoding.DecodeString(v)
		if err != nil || len(crc) != 8 {
			return nil, nil, errInvalidHeader("x-ms-content-crc64", v)
		}
	}
	return md5, crc, nil
}

// setDigests sets a write's Content-MD5 and, when the request carried one, the
// x-ms-content-crc64 of the body (Put Blob and the From URL writes).
func setDigests(h http.Header, md5, sentCRC []byte, crc uint64) {
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(md5))
	if len(sentCRC) > 0 {
		h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(blob.CRC64Bytes(crc)))
	}
}

// setWriteDigest sets the digest Azure answers an append or page write with (version
// 2019-02-02 on): Content-MD5 when the request sent one, else the CRC-64 it computed.
func setWriteDigest(h http.Header, sentMD5, md5 []byte, crc uint64) {
	if len(sentMD5) > 0 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(md5))
		return
	}
	h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(blob.CRC64Bytes(crc)))
}

// httpTime formats times the way Azure (and the SDKs' parsers) want: RFC 1123, GMT.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func quote(etag string) string { return `"` + etag + `"` }

func setMetadata(h http.Header, md blob.Metadata) {
	for k, v := range md {
		h["x-ms-meta-"+k] = []string{v} // not canonicalized: keep the stored case
	}
}

// setBlobHeaders writes the properties Get Blob and Get Blob Properties return.
func setBlobHeaders(h http.Header, p blob.BlobProperties, now time.Time) {
	if p.ContentType != "" {
		h.Set("Content-Type", p.ContentType)
	} else {
		// Cleared by Set Blob Properties: Azure sends none (and net/http must not sniff one).
		h["Content-Type"] = nil
	}
	h.Set("ETag", quote(p.ETag))
	h.Set("Last-Modified", httpTime(p.LastModified))
	h.Set("x-ms-creation-time", httpTime(p.CreatedAt))
	for _, kv := range [][2]string{
		{"Content-Encoding", p.ContentEncoding}, {"Content-Language", p.ContentLanguage},
		{"Content-Disposition", p.ContentDisposition}, {"Cache-Control", p.CacheControl},
	} {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	h.Set("x-ms-blob-type", blobType(p))
	setTypeHeaders(h, p)
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-server-encrypted", "true")
	setLeaseHeaders(h, p.Lease, now)
	setMetadata(h, p.Metadata)
	setCopyHeaders(h, p.Copy)
	if n := tagCount(p); n != "" {
		h.Set("x-ms-tag-count", n)
	}
	if p.VersionID != "" {
		h.Set("x-ms-version-id", p.VersionID)
		h.Set("x-ms-is-current-version", strconv.FormatBool(!p.PreviousVersion))
	}
}

func setWritten(h http.Header, etag string, lastModified time.Time) {
	h.Set("ETag", quote(etag))
	h.Set("Last-Modified", httpTime(lastModified))
}

func noContent(w http.ResponseWriter, status int) error {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
