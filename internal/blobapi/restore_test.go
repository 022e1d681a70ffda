package blobapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Container soft delete over HTTP: with the account's retention on, Delete Container
// keeps the container, List Containers with include=deleted shows it as Azure does,
// and Restore Container (the Go SDK's RestoreContainer) brings it back with its blobs,
// asking RBAC for containers/write; Azure's errors otherwise.
func TestContainerRestore(t *testing.T) {
	e := newEnv(t)
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}, retain: 7 * 24 * time.Hour}
	e.container(t, "box")
	e.put(t, "box/b", "kept", nil)
	e.must(t, req{method: "DELETE", path: "/" + account + "/box?restype=container"}, http.StatusAccepted)
	e.fails(t, req{method: "GET", path: "/" + account + "/box/b"}, http.StatusNotFound, "ContainerNotFound")

	plain := e.must(t, req{method: "GET", path: "/" + account + "/?comp=list"}, http.StatusOK)
	if strings.Contains(plain.body, "<Name>box</Name>") {
		t.Fatalf("a plain listing shows the deleted container:\n%s", plain.body)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/?comp=list&include=deleted,metadata"}, http.StatusOK)
	m := regexp.MustCompile(`<Container><Name>box</Name><Deleted>true</Deleted><Version>([0-9A-F]{16})</Version><Properties>.*` +
		`<DeletedTime>[^<]+ GMT</DeletedTime><RemainingRetentionDays>7</RemainingRetentionDays></Properties>`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("include=deleted:\n%s", list.body)
	}
	version := m[1]

	restore := func(name, version string) req {
		return req{method: "PUT", path: "/" + account + "/" + name + "?restype=container&comp=undelete",
			hdr: map[string]string{"x-ms-deleted-container-name": name, "x-ms-deleted-container-version": version}}
	}
	e.fails(t, req{method: "PUT", path: "/" + account + "/box?restype=container&comp=undelete",
		hdr: map[string]string{"x-ms-deleted-container-version": version}}, http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, req{method: "PUT", path: "/" + account + "/other?restype=container&comp=undelete",
		hdr: map[string]string{"x-ms-deleted-container-name": "box", "x-ms-deleted-container-version": version}}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, restore("box", "01D0000000000000"), http.StatusNotFound, "ContainerNotFound")
	e.fails(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=undelete"}, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")

	// The name is free meanwhile; restoring over a live container is refused.
	e.container(t, "box")
	e.fails(t, restore("box", version), http.StatusConflict, "ContainerAlreadyExists")
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}} // retention off: this deletion is final
	e.must(t, req{method: "DELETE", path: "/" + account + "/box?restype=container"}, http.StatusAccepted)

	c, err := service.NewClient(e.srv.URL+"/"+account, fixedToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pager := c.NewListContainersPager(&service.ListContainersOptions{Include: service.ListContainersInclude{Deleted: true}})
	var found []*service.ContainerItem
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, page.ContainerItems...)
	}
	if len(found) != 1 || !*found[0].Deleted || *found[0].Version != version || *found[0].Properties.RemainingRetentionDays != 7 || found[0].Properties.DeletedTime == nil {
		t.Fatalf("the Go SDK lists %+v", found)
	}
	if _, err := c.RestoreContainer(ctx, "box", version, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionContainersWrite || got.DataAction || got.Operation != "RestoreContainer" {
		t.Fatalf("Restore Container asked RBAC for %+v; want containers/write", got)
	}
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/b"}, http.StatusOK); got.body != "kept" {
		t.Fatalf("restored blob: %q", got.body)
	}
	if _, err := c.RestoreContainer(ctx, "box", version, nil); err == nil {
		t.Fatal("a version restored twice")
	}
}
