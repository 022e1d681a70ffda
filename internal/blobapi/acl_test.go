package blobapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// TestContainerACLWithGoSDK: stored access policies set with SetAccessPolicy come back
// from GetAccessPolicy; public access is refused as on an account that disallows it;
// more than five identifiers are refused; the operations ask for getAcl and setAcl.
func TestContainerACLWithGoSDK(t *testing.T) {
	e := newEnv(t)
	e.container(t, "data")
	c, err := container.NewClient(e.srv.URL+"/"+account+"/data", fixedToken{}, &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	acl := []*container.SignedIdentifier{
		{ID: to.Ptr("read-week"), AccessPolicy: &container.AccessPolicy{Start: to.Ptr(start), Expiry: to.Ptr(start.Add(7 * 24 * time.Hour)), Permission: to.Ptr("rl")}},
		{ID: to.Ptr("write"), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("w")}},
	}
	if _, err := c.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{ContainerACL: acl}); err != nil {
		t.Fatal(err)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionContainersSetACL || got.Operation != "SetContainerACL" {
		t.Fatalf("Set Container ACL asked for %+v", got)
	}
	res, err := c.GetAccessPolicy(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionContainersGetACL {
		t.Fatalf("Get Container ACL asked for %+v", got)
	}
	if res.BlobPublicAccess != nil || len(res.SignedIdentifiers) != 2 || *res.SignedIdentifiers[0].ID != "read-week" ||
		!res.SignedIdentifiers[0].AccessPolicy.Start.Equal(start) || *res.SignedIdentifiers[0].AccessPolicy.Permission != "rl" ||
		*res.SignedIdentifiers[1].AccessPolicy.Permission != "w" || res.SignedIdentifiers[1].AccessPolicy.Start != nil {
		t.Fatalf("GetAccessPolicy = %+v", res)
	}

	_, err = c.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeBlob)})
	wantCode(t, "public access", err, http.StatusConflict, "PublicAccessNotPermitted")

	var six []*container.SignedIdentifier
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		six = append(six, &container.SignedIdentifier{ID: to.Ptr(id), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("r")}})
	}
	_, err = c.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{ContainerACL: six})
	wantCode(t, "six identifiers", err, http.StatusBadRequest, "InvalidXmlDocument")

	// Clearing: no identifiers at all.
	if _, err := c.SetAccessPolicy(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := c.GetAccessPolicy(ctx, nil); err != nil || len(res.SignedIdentifiers) != 0 {
		t.Fatalf("after clearing: %+v, %v", res, err)
	}
	p := "/" + account + "/data?restype=container&comp=acl"
	e.fails(t, req{method: "PUT", path: p, body: "<SignedIdentifiers><SignedIdentifier><Id>x</Id><AccessPolicy><Start>soon</Start></AccessPolicy></SignedIdentifier></SignedIdentifiers>"},
		http.StatusBadRequest, "InvalidXmlNodeValue")
	e.fails(t, req{method: "PUT", path: p, body: "<SignedIdentifiers><SignedIdentifier><Id>x</Id><AccessPolicy><Permission>rz</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>"},
		http.StatusBadRequest, "InvalidXmlNodeValue")
	e.fails(t, req{method: "PUT", path: p, body: "<SignedIdentifiers>"}, http.StatusBadRequest, "InvalidXmlDocument")
	e.fails(t, req{method: "GET", path: "/" + account + "/nope?restype=container&comp=acl"}, http.StatusNotFound, "ContainerNotFound")
	if res := e.must(t, req{method: "GET", path: p}, http.StatusOK); !strings.Contains(res.body, "<SignedIdentifiers>") {
		t.Fatalf("empty ACL body %q", res.body)
	}
}
