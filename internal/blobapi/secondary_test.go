package blobapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The secondary endpoint of a read-access geo-redundant account, /{account}-secondary,
// reads the account's own data with the same authorization, and refuses every write
// with Azure's 403 InsufficientAccountPermissions. A geo-redundant account without read
// access refuses reads there too; any other account has no secondary endpoint.
func TestSecondaryEndpoint(t *testing.T) {
	e := newEnv(t)
	e.h.Accounts = accounts{account: "Standard_RAGRS", "grsacct": "Standard_GRS", "lrsacct": "Standard_LRS"}
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}}
	e.container(t, "box")
	e.put(t, "box/a.txt", "hello", map[string]string{"x-ms-meta-k": "v", "x-ms-tags": "t=1"})
	sec := "/" + account + "-secondary"

	reads := []struct{ method, path, want string }{
		{"GET", sec + "/box/a.txt", "hello"},
		{"HEAD", sec + "/box/a.txt", ""},
		{"GET", sec + "/box?restype=container&comp=list", "<Name>a.txt</Name>"},
		{"GET", sec + "/?comp=list", "<Name>box</Name>"},
		{"GET", sec + "/box?restype=container", ""},
		{"GET", sec + "/box/a.txt?comp=tags", "<Key>t</Key>"},
		{"GET", sec + "/box/a.txt?comp=metadata", ""},
		{"GET", sec + "/?restype=service&comp=properties", "<StorageServiceProperties>"},
		{"GET", strings.ToUpper(sec) + "/box/a.txt", "hello"},
	}
	for _, r := range reads {
		res := e.must(t, req{method: r.method, path: r.path}, http.StatusOK)
		if !strings.Contains(res.body, r.want) {
			t.Errorf("%s %s = %q; want it to hold %q", r.method, r.path, res.body, r.want)
		}
		if got := e.auth.last(); got.Account != account {
			t.Errorf("%s %s asked RBAC about account %q; want %q", r.method, r.path, got.Account, account)
		}
	}
	if got := e.do(t, req{method: "HEAD", path: sec + "/box/a.txt"}); got.hdr.Get("x-ms-meta-k") != "v" {
		t.Errorf("HEAD on the secondary: %v", got.hdr)
	}
	// The secondary's authorization is the primary's: a denied read stays denied.
	e.auth.denied[blobapi.ActionBlobsRead] = true
	e.fails(t, req{method: "GET", path: sec + "/box/a.txt", hdr: map[string]string{"Authorization": "Bearer limited"}}, http.StatusForbidden, "AuthorizationPermissionMismatch")

	writes := []req{
		{method: "PUT", path: sec + "/box/b.txt", body: "x", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}},
		{method: "PUT", path: sec + "/other?restype=container"},
		{method: "DELETE", path: sec + "/box/a.txt"},
		{method: "PUT", path: sec + "/box/a.txt?comp=metadata", hdr: map[string]string{"x-ms-meta-k": "w"}},
		{method: "PUT", path: sec + "/?restype=service&comp=properties", body: "<StorageServiceProperties><Cors/></StorageServiceProperties>"},
		{method: "POST", path: sec + "/?restype=service&comp=userdelegationkey", body: "<KeyInfo/>"},
	}
	for _, w := range writes {
		res := e.fails(t, w, http.StatusForbidden, "InsufficientAccountPermissions")
		if !strings.Contains(res.body, "Write operations to the secondary location are not allowed.") {
			t.Errorf("%s %s: %s", w.method, w.path, res.body)
		}
	}
	if res := e.must(t, req{method: "GET", path: "/" + account + "/box/a.txt?comp=metadata"}, http.StatusOK); res.hdr.Get("x-ms-meta-k") != "v" {
		t.Errorf("a write refused on the secondary changed the blob: %v", res.hdr)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/box/b.txt"}, http.StatusNotFound, "BlobNotFound")

	res := e.fails(t, req{method: "GET", path: "/grsacct-secondary/?comp=list"}, http.StatusForbidden, "InsufficientAccountPermissions")
	if !strings.Contains(res.body, "Read-access geo-redundant replication is not enabled for the account.") {
		t.Errorf("secondary of a Standard_GRS account: %s", res.body)
	}
	for _, p := range []string{"/lrsacct-secondary/?comp=list", "/missing-secondary/?comp=list", "/-secondary/?comp=list", "/" + account + "-secondary-secondary/?comp=list"} {
		e.fails(t, req{method: "GET", path: p}, http.StatusNotFound, "ResourceNotFound")
	}
}

// A copy's source may be named by its account's secondary endpoint: it is the account's
// own blob, read there; the secondary of an account without one is no source.
func TestCopyFromSecondaryEndpoint(t *testing.T) {
	e := newEnv(t)
	e.h.Accounts = accounts{account: "Standard_LRS", "geoacct": "Standard_RAGRS"}
	e.container(t, "box")
	e.must(t, req{method: "PUT", path: "/geoacct/src?restype=container"}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: "/geoacct/src/b", body: "far away", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}}, http.StatusCreated)
	e.must(t, e.copyReq("box/copy", e.srv.URL+"/geoacct-secondary/src/b", map[string]string{"x-ms-requires-sync": "true"}), http.StatusAccepted)
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/copy"}, http.StatusOK); got.body != "far away" {
		t.Fatalf("copy from the secondary = %q", got.body)
	}
	if got := e.auth.last(); got.Account != account {
		t.Errorf("the copy's last authorization was for %q", got.Account)
	}
	res := e.fails(t, e.copyReq("box/copy2", e.srv.URL+"/"+account+"-secondary/box/copy", nil), http.StatusNotFound, "CannotVerifyCopySource")
	if res.hdr.Get("x-ms-copy-source-error-code") != "ResourceNotFound" {
		t.Errorf("copy from the secondary of a Standard_LRS account: %v", res.hdr)
	}
}

// Get Blob Service Stats answers on the secondary endpoint only, authorized as reading
// the Blob service; Get Account Information reports the account's SKU, there and on the
// primary.
func TestServiceStatsAndAccountSKU(t *testing.T) {
	e := newEnv(t)
	e.h.Accounts = accounts{account: "Standard_RAGZRS", "lrsacct": "Standard_LRS"}
	before := time.Now().Add(-time.Second)
	sec := "/" + account + "-secondary"

	c, err := service.NewClient(e.srv.URL+sec, fixedToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.GetStatistics(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := stats.GeoReplication; g == nil || g.Status == nil || *g.Status != service.BlobGeoReplicationStatusLive || g.LastSyncTime == nil || g.LastSyncTime.Before(before) {
		t.Fatalf("GetStatistics = %+v", stats.GeoReplication)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionServiceRead || got.DataAction || got.Account != account {
		t.Fatalf("Get Blob Service Stats asked RBAC for %+v", got)
	}
	res := e.must(t, req{method: "GET", path: sec + "/?restype=service&comp=stats"}, http.StatusOK)
	if _, err := time.Parse(http.TimeFormat, between(res.body, "<LastSyncTime>", "</LastSyncTime>")); err != nil || !strings.Contains(res.body, "<Status>live</Status>") {
		t.Fatalf("stats body %s (%v)", res.body, err)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/?restype=service&comp=stats"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/lrsacct/?restype=service&comp=stats"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "PUT", path: sec + "/?restype=service&comp=stats"}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")

	for p, sku := range map[string]string{"/" + account + "/": "Standard_RAGZRS", sec + "/": "Standard_RAGZRS", "/lrsacct/": "Standard_LRS"} {
		res := e.must(t, req{method: "GET", path: p + "?restype=account&comp=properties"}, http.StatusOK)
		if got := res.hdr.Get("x-ms-sku-name"); got != sku {
			t.Errorf("Get Account Information at %s: sku %q; want %s", p, got, sku)
		}
	}
}

// between is the text of s between the first open and the close after it.
func between(s, open, close string) string {
	_, rest, _ := strings.Cut(s, open)
	v, _, _ := strings.Cut(rest, close)
	return v
}
