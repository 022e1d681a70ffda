package blobapi

import (
	"net/http"
)

// ActionGetAccountInfo is the RBAC action of Get Account Information (the reference's
// operation-to-permission table: getInfo/action under blobServices).
const ActionGetAccountInfo = actionPrefix + "getInfo/action"

var opGetAccountInfo = &operation{"GetAccountInformation", ActionGetAccountInfo, false, (*Handler).getAccountInfo}

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
// purpose v2 account with locally redundant storage and a flat namespace.
func (h *Handler) getAccountInfo(w http.ResponseWriter, r *http.Request, t *target) error {
	hdr := w.Header()
	hdr.Set("x-ms-sku-name", "Standard_LRS")
	hdr.Set("x-ms-account-kind", "StorageV2")
	hdr.Set("x-ms-is-hns-enabled", "false")
	return noContent(w, http.StatusOK)
}
