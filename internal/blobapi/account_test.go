package blobapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// A case variant of the account segment names the account itself, never a namespace of
// its own: one that would outlive the account and reappear in a re-created one.
func TestAccountSegmentIsCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	upper := strings.ToUpper(account)
	e.must(t, req{method: "PUT", path: "/" + upper + "/box?restype=container"}, http.StatusCreated)
	if got := e.auth.last(); got.Account != account {
		t.Errorf("RBAC was asked about account %q; want %q", got.Account, account)
	}
	e.must(t, req{method: "PUT", path: "/DevStoreAccount1/box/b", body: "hello", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}}, http.StatusCreated)
	if got := e.auth.last(); got.Account != account || got.Scope != "blobServices/default/containers/box/blobs/b" {
		t.Errorf("RBAC was asked about account %q, scope %q; want %q", got.Account, got.Scope, account)
	}
	if res := e.must(t, req{method: "GET", path: "/" + account + "/box/b"}, http.StatusOK); res.body != "hello" {
		t.Fatalf("GET through the lowercase name = %q; want the blob written through a case variant", res.body)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/?comp=list"}, http.StatusOK)
	if !strings.Contains(list.body, "<Name>box</Name>") {
		t.Fatalf("the container made through %s is not listed under %s:\n%s", upper, account, list.body)
	}
	// And the other way round: a case variant sees what the lowercase name wrote.
	e.put(t, "box/c", "world", nil)
	if res := e.must(t, req{method: "GET", path: "/" + upper + "/box/c"}, http.StatusOK); res.body != "world" {
		t.Fatalf("GET through %s = %q; want world", upper, res.body)
	}
}

// Get Account Information answers at the service, a container and a blob URL, authorized
// at the account.
func TestGetAccountInformation(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/" + account + "/", "/" + account + "/box", "/" + account + "/box/some/blob"} {
		for _, m := range []string{"GET", "HEAD"} {
			res := e.must(t, req{method: m, path: p + "?restype=account&comp=properties"}, http.StatusOK)
			if res.hdr.Get("x-ms-sku-name") != "Standard_LRS" || res.hdr.Get("x-ms-account-kind") != "StorageV2" || res.hdr.Get("x-ms-is-hns-enabled") != "false" {
				t.Fatalf("%s %s answered %v", m, p, res.hdr)
			}
			if got := e.auth.last(); got.Action != blobapi.ActionGetAccountInfo || !got.DataAction || got.Scope != "" || got.Container != "" {
				t.Fatalf("%s %s asked RBAC for %+v; want blobs/read at the account", m, p, got)
			}
		}
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/?restype=account&comp=list"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "PUT", path: "/" + account + "/?restype=account&comp=properties"}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	e.auth.denied[blobapi.ActionGetAccountInfo] = true
	e.fails(t, req{method: "GET", path: "/" + account + "/?restype=account&comp=properties", hdr: map[string]string{"Authorization": "Bearer limited"}},
		http.StatusForbidden, "AuthorizationPermissionMismatch")
}
