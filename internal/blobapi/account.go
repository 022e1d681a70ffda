package blobapi

import (
	"net/http"
)

// ActionGetAccountInfo is what Get Account Information is authorized with: reading blob
// data at the account, which every Storage Blob Data role assigned there grants, so that
// an app with such a role (as the SDKs' users have) can call it, and a role scoped to one
// container cannot learn about the account. (Azure's permission table names a getInfo
// action that no built-in role lists; see the report of this change.)
const ActionGetAccountInfo = ActionBlobsRead

var opGetAccountInfo = &operation{"GetAccountInformation", ActionGetAccountInfo, true, (*Handler).getAccountInfo}

// routeAccount routes restype=account, which Azure serves at the service, a container
// and a blob URL alike. It is authorized at the account, whatever the URL names: what it
// tells is the account's.
func routeAccount(r *http.Request, t *target) (*operation, error) {
	if comp := t.query.Get("comp"); comp != "properties" {
		return nil, errInvalidQuery("comp", comp, "")
	}
	t.container, t.blob = "", ""
	return method(r.Method, map[string]*operation{http.MethodGet: opGetAccountInfo, http.MethodHead: opGetAccountInfo})
}

// getAccountInfo answers Get Account Information: every Lanyard account is a general
// purpose v2 account with a flat namespace, of the SKU it was given.
func (h *Handler) getAccountInfo(w http.ResponseWriter, r *http.Request, t *target) error {
	hdr := w.Header()
	hdr.Set("x-ms-sku-name", t.sku)
	hdr.Set("x-ms-account-kind", "StorageV2")
	hdr.Set("x-ms-is-hns-enabled", "false")
	return noContent(w, http.StatusOK)
}
