package blobapi

import (
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
	return reqctx.NewID()
}
