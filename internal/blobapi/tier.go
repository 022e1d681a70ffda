package blobapi

import (
	"net/http"
	"strings"
)

// refuseAccessTier refuses an upload that asks for an access tier Lanyard does not keep.
// Every blob is Hot (Get Blob Properties says so, inferred), so asking for Hot is what
// happens anyway and is accepted; any other tier would be dropped, so the request is
// refused with 501 rather than answered 201 with the tier lost.
func refuseAccessTier(h http.Header) error {
	v := h.Get("x-ms-access-tier")
	if v == "" || strings.EqualFold(v, "Hot") {
		return nil
	}
	return errNotImplemented("access tier " + truncate(v, 64))
}
