package blobapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// parseRange parses "bytes=S-E" or "bytes=S-", the forms Azure serves. ok is false for
// anything else (suffix ranges, several ranges, garbage). E < S parses; the domain
// answers it with InvalidRange.
func parseRange(v string) (rg blob.Range, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found {
		return rg, false
	}
	s, e, found := strings.Cut(spec, "-")
	if !found || !digits(s) || (e != "" && !digits(e)) {
		return rg, false
	}
	start, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return rg, false
	}
	end := int64(-1)
	if e != "" {
		if end, err = strconv.ParseInt(e, 10, 64); err != nil {
			return rg, false
		}
	}
	return blob.Range{Start: start, End: end}, true
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// requestRange returns the range of a Get Blob: x-ms-range wins over Range (the Go SDK
// rewrites Range into it). A malformed Range is ignored, as HTTP says; a malformed
// x-ms-range is an error, since only Azure clients send it.
func requestRange(h http.Header) (*blob.Range, error) {
	if v := h.Get("x-ms-range"); v != "" {
		rg, ok := parseRange(v)
		if !ok {
			return nil, errInvalidHeader("x-ms-range", v)
		}
		return &rg, nil
	}
	if v := h.Get("Range"); v != "" {
		if rg, ok := parseRange(v); ok {
			return &rg, nil
		}
	}
	return nil, nil
}
