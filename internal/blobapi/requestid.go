package blobapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// requestID is the id the server's edge gave the request, so that the x-ms-request-id
// the client sees is the one in the logs and the audit trail; a new one when there is
// none (the handler served on its own, as in tests).
func requestID(r *http.Request) string {
	if id := reqctx.ID(r.Context()); id != "" {
		return id
	}
	return newRequestID()
}

// newRequestID returns a random UUID (version 4), the form of Azure's x-ms-request-id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
