package blobapi

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The secondary endpoint. Azure serves a read-access geo-redundant account (RA-GRS,
// RA-GZRS) at a second host, <account>-secondary.blob.core.windows.net, from which its
// data can be read but not written. Lanyard's Blob endpoint takes the account from the
// path, as Azurite does, so /<account>-secondary/... is that host: the same account, its
// same data (Lanyard keeps one copy, always in sync), read-only. Account names are
// lowercase letters and digits, so no account is itself named <x>-secondary.

const secondarySuffix = "-secondary"

// endpoint is the account a request's first path segment names, and how.
type endpoint struct {
	account, sku string
	secondary    bool
}

func errNoAccount() error {
	return lanyard.Errorf(lanyard.KindNotFound, "The specified resource does not exist.").WithCode("ResourceNotFound")
}

func errInsufficientAccountPermissions(msg string) error {
	return &apiError{status: http.StatusForbidden, code: "InsufficientAccountPermissions", message: msg}
}

// errSecondaryWrite is Azure's answer to a write sent to a secondary endpoint.
func errSecondaryWrite() error {
	return errInsufficientAccountPermissions("Write operations to the secondary location are not allowed.")
}

// resolveAccount finds the account segment (lowercased) names: the account itself, or
// the secondary endpoint of a read-access geo-redundant account. The secondary of a
// geo-redundant account without read access is refused as Azure refuses it; that of any
// other account does not exist.
func (h *Handler) resolveAccount(ctx context.Context, segment string) (endpoint, error) {
	sku, ok, err := h.Accounts.AccountSKU(ctx, segment)
	if err != nil {
		return endpoint{}, fmt.Errorf("blobapi: looking up account: %w", err)
	}
	if ok {
		return endpoint{account: segment, sku: sku}, nil
	}
	primary, found := strings.CutSuffix(segment, secondarySuffix)
	if !found || primary == "" {
		return endpoint{}, errNoAccount()
	}
	sku, ok, err = h.Accounts.AccountSKU(ctx, primary)
	switch {
	case err != nil:
		return endpoint{}, fmt.Errorf("blobapi: looking up account: %w", err)
	case ok && lanyard.ReadableSecondary(sku):
		return endpoint{account: primary, sku: sku, secondary: true}, nil
	case ok && lanyard.GeoRedundant(sku):
		return endpoint{}, errInsufficientAccountPermissions("Read-access geo-redundant replication is not enabled for the account.")
	}
	return endpoint{}, errNoAccount()
}

// readOnly reports whether r may be served by a secondary endpoint: reads only.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// Get Blob Service Stats is authorized as reading the Blob service's properties (Azure's
// permission table: blobServices/read).
var opGetServiceStats = &operation{"GetBlobServiceStats", ActionServiceRead, false, (*Handler).getServiceStats}

// routeStats routes Get Blob Service Stats, which Azure serves on the secondary endpoint
// only: on the primary the query is invalid.
func routeStats(r *http.Request, t *target) (*operation, error) {
	if !t.secondary {
		return nil, errInvalidQuery("comp", "stats", "Get Blob Service Stats is served on the secondary endpoint of a read-access geo-redundant account only: /"+t.account+secondarySuffix+".")
	}
	return method(r.Method, map[string]*operation{http.MethodGet: opGetServiceStats})
}

type serviceStats struct {
	XMLName        xml.Name `xml:"StorageServiceStats"`
	GeoReplication struct {
		Status       string `xml:"Status"`
		LastSyncTime string `xml:"LastSyncTime"`
	} `xml:"GeoReplication"`
}

// getServiceStats answers Get Blob Service Stats. The secondary is the primary's own data,
// so replication is live and every write so far is readable there: the last sync is now.
func (h *Handler) getServiceStats(w http.ResponseWriter, r *http.Request, t *target) error {
	var s serviceStats
	s.GeoReplication.Status = "live"
	s.GeoReplication.LastSyncTime = time.Now().UTC().Format(http.TimeFormat)
	return writeXML(w, s)
}
