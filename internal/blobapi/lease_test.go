package blobapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

const (
	leaseA = "0f8fad5b-d9cb-469f-a165-70867728950e"
	leaseB = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
)

func leaseHdr(kv ...string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// Lease Blob over HTTP: statuses, headers, Azure's error codes, and what RBAC is asked.
func TestLeaseBlob(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	put := e.put(t, "box/b", "data", nil)
	p := "/" + account + "/box/b"
	lease := func(kv ...string) req { return req{method: "PUT", path: p + "?comp=lease", hdr: leaseHdr(kv...)} }

	res := e.must(t, lease("x-ms-lease-action", "acquire", "x-ms-lease-duration", "-1", "x-ms-proposed-lease-id", strings.ToUpper(leaseA)), http.StatusCreated)
	if got := e.auth.last(); got.Action != blobapi.ActionBlobsWrite || !got.DataAction || got.Operation != "LeaseBlob" {
		t.Fatalf("Lease Blob asked RBAC for %+v; want blobs/write", got)
	}
	if res.hdr.Get("x-ms-lease-id") != leaseA || res.hdr.Get("ETag") != put.hdr.Get("ETag") {
		t.Fatalf("acquire answered %v; want lease %s and the blob's unchanged ETag %s", res.hdr, leaseA, put.hdr.Get("ETag"))
	}
	head := e.must(t, req{method: "HEAD", path: p}, http.StatusOK)
	if head.hdr.Get("x-ms-lease-status") != "locked" || head.hdr.Get("x-ms-lease-state") != "leased" || head.hdr.Get("x-ms-lease-duration") != "infinite" {
		t.Fatalf("Get Blob Properties of a leased blob: %v", head.hdr)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK)
	if !strings.Contains(list.body, "<LeaseStatus>locked</LeaseStatus><LeaseState>leased</LeaseState><LeaseDuration>infinite</LeaseDuration>") {
		t.Fatalf("listing does not show the lease:\n%s", list.body)
	}

	// Lease operations refused by the lease's state: 409.
	e.fails(t, lease("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15", "x-ms-proposed-lease-id", leaseB), http.StatusConflict, "LeaseAlreadyPresent")
	e.fails(t, lease("x-ms-lease-action", "renew", "x-ms-lease-id", leaseB), http.StatusConflict, "LeaseIdMismatchWithLeaseOperation")
	e.fails(t, lease("x-ms-lease-action", "release", "x-ms-lease-id", leaseB), http.StatusConflict, "LeaseIdMismatchWithLeaseOperation")
	// Writes without, or with another, lease id: 412.
	e.fails(t, req{method: "PUT", path: p, body: "x", hdr: leaseHdr("x-ms-blob-type", "BlockBlob")}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "PUT", path: p + "?comp=metadata", hdr: leaseHdr("x-ms-meta-k", "v", "x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: leaseHdr("x-ms-blob-content-type", "text/plain")}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=YWFhYQ==", body: "blk"}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>"}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "DELETE", path: p}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "GET", path: p, hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
	e.must(t, req{method: "GET", path: p}, http.StatusOK) // reads need no lease id
	// With it, they succeed.
	e.must(t, req{method: "PUT", path: p, body: "new", hdr: leaseHdr("x-ms-blob-type", "BlockBlob", "x-ms-lease-id", leaseA)}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: p + "?comp=block&blockid=YWFhYQ==", body: "blk", hdr: leaseHdr("x-ms-lease-id", leaseA)}, http.StatusCreated)

	// Change, break, and what a broken lease refuses.
	res = e.must(t, lease("x-ms-lease-action", "change", "x-ms-lease-id", leaseA, "x-ms-proposed-lease-id", leaseB), http.StatusOK)
	if res.hdr.Get("x-ms-lease-id") != leaseB {
		t.Fatalf("change answered lease id %q", res.hdr.Get("x-ms-lease-id"))
	}
	res = e.must(t, lease("x-ms-lease-action", "break", "x-ms-lease-break-period", "0"), http.StatusAccepted)
	if res.hdr.Get("x-ms-lease-time") != "0" {
		t.Fatalf("break answered x-ms-lease-time %q", res.hdr.Get("x-ms-lease-time"))
	}
	e.fails(t, lease("x-ms-lease-action", "renew", "x-ms-lease-id", leaseB), http.StatusConflict, "LeaseIsBrokenAndCannotBeRenewed")
	e.fails(t, req{method: "PUT", path: p + "?comp=metadata", hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseLost")
	head = e.must(t, req{method: "HEAD", path: p}, http.StatusOK)
	if head.hdr.Get("x-ms-lease-status") != "unlocked" || head.hdr.Get("x-ms-lease-state") != "broken" || head.hdr.Get("x-ms-lease-duration") != "" {
		t.Fatalf("Get Blob Properties of a broken lease: %v", head.hdr)
	}
	e.must(t, lease("x-ms-lease-action", "release", "x-ms-lease-id", leaseB), http.StatusOK)
	e.fails(t, lease("x-ms-lease-action", "release", "x-ms-lease-id", leaseB), http.StatusConflict, "LeaseNotPresentWithLeaseOperation")
	e.fails(t, req{method: "PUT", path: p + "?comp=metadata", hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseNotPresentWithBlobOperation")
	res = e.must(t, req{method: "DELETE", path: p}, http.StatusAccepted)
	if res.hdr.Get("x-ms-delete-type-permanent") != "true" {
		t.Fatalf("Delete Blob answered %v; want x-ms-delete-type-permanent: true", res.hdr)
	}
	e.fails(t, lease("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15"), http.StatusNotFound, "BlobNotFound")
}

// Malformed lease headers are 400, with Azure's codes and the header named.
func TestLeaseHeaderErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "data", nil)
	p := "/" + account + "/box/b?comp=lease"
	for _, c := range []struct {
		hdr  map[string]string
		code string
	}{
		{leaseHdr(), "MissingRequiredHeader"},
		{leaseHdr("x-ms-lease-action", "steal"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "acquire"), "MissingRequiredHeader"},
		{leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "14"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "61"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "forever"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15", "x-ms-proposed-lease-id", "not-a-guid"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "renew"), "MissingRequiredHeader"},
		{leaseHdr("x-ms-lease-action", "change", "x-ms-lease-id", leaseA), "MissingRequiredHeader"},
		{leaseHdr("x-ms-lease-action", "break", "x-ms-lease-break-period", "61"), "InvalidHeaderValue"},
		{leaseHdr("x-ms-lease-action", "break", "x-ms-lease-break-period", "-1"), "InvalidHeaderValue"},
	} {
		e.fails(t, req{method: "PUT", path: p, hdr: c.hdr}, http.StatusBadRequest, c.code)
	}
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/b?comp=metadata", hdr: leaseHdr("x-ms-lease-id", "zzz")}, http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p, hdr: leaseHdr("x-ms-lease-action", "break")}, http.StatusConflict, "LeaseNotPresentWithLeaseOperation")
}

// Lease Container: containers/write; Delete Container needs the lease id, Set Container
// Metadata checks it only when given.
func TestLeaseContainer(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	c := "/" + account + "/box?restype=container"
	res := e.must(t, req{method: "PUT", path: c + "&comp=lease", hdr: leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "30")}, http.StatusCreated)
	if got := e.auth.last(); got.Action != blobapi.ActionContainersWrite || got.DataAction || got.Operation != "LeaseContainer" {
		t.Fatalf("Lease Container asked RBAC for %+v; want containers/write", got)
	}
	id := res.hdr.Get("x-ms-lease-id")
	if len(id) != 36 {
		t.Fatalf("acquire without a proposed id answered lease id %q", id)
	}
	props := e.must(t, req{method: "GET", path: c}, http.StatusOK)
	if props.hdr.Get("x-ms-lease-state") != "leased" || props.hdr.Get("x-ms-lease-duration") != "fixed" {
		t.Fatalf("Get Container Properties: %v", props.hdr)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "?comp=list"}, http.StatusOK)
	if !strings.Contains(list.body, "<LeaseStatus>locked</LeaseStatus><LeaseState>leased</LeaseState><LeaseDuration>fixed</LeaseDuration>") {
		t.Fatalf("List Containers does not show the lease:\n%s", list.body)
	}
	e.must(t, req{method: "PUT", path: c + "&comp=metadata", hdr: leaseHdr("x-ms-meta-a", "1")}, http.StatusOK)
	e.must(t, req{method: "GET", path: c, hdr: leaseHdr("x-ms-lease-id", id)}, http.StatusOK)
	e.fails(t, req{method: "GET", path: c + "&comp=metadata", hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseIdMismatchWithContainerOperation")
	e.fails(t, req{method: "PUT", path: c + "&comp=metadata", hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseIdMismatchWithContainerOperation")
	e.fails(t, req{method: "DELETE", path: c}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.must(t, req{method: "DELETE", path: c, hdr: leaseHdr("x-ms-lease-id", id)}, http.StatusAccepted)
}

// Append Block, Put Page and Seal of a leased blob need the lease id too.
func TestLeaseGuardsAppendAndPageWrites(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	ab, pb := "/"+account+"/box/log", "/"+account+"/box/disk"
	e.must(t, req{method: "PUT", path: ab, hdr: leaseHdr("x-ms-blob-type", "AppendBlob")}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: pb, hdr: leaseHdr("x-ms-blob-type", "PageBlob", "x-ms-blob-content-length", "1024")}, http.StatusCreated)
	for _, p := range []string{ab, pb} {
		e.must(t, req{method: "PUT", path: p + "?comp=lease", hdr: leaseHdr("x-ms-lease-action", "acquire", "x-ms-lease-duration", "-1", "x-ms-proposed-lease-id", leaseA)}, http.StatusCreated)
	}
	page := strings.Repeat("p", 512)
	e.fails(t, req{method: "PUT", path: ab + "?comp=appendblock", body: "x"}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "PUT", path: ab + "?comp=seal", hdr: leaseHdr("x-ms-lease-id", leaseB)}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
	e.fails(t, req{method: "PUT", path: pb + "?comp=page", body: page, hdr: leaseHdr("x-ms-page-write", "update", "x-ms-range", "bytes=0-511")}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.must(t, req{method: "PUT", path: ab + "?comp=appendblock", body: "x", hdr: leaseHdr("x-ms-lease-id", leaseA)}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: pb + "?comp=page", body: page, hdr: leaseHdr("x-ms-page-write", "update", "x-ms-range", "bytes=0-511", "x-ms-lease-id", leaseA)}, http.StatusCreated)
	// Replacing the blob keeps its lease.
	e.fails(t, req{method: "PUT", path: ab, hdr: leaseHdr("x-ms-blob-type", "AppendBlob")}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.must(t, req{method: "PUT", path: ab, hdr: leaseHdr("x-ms-blob-type", "AppendBlob", "x-ms-lease-id", leaseA)}, http.StatusCreated)
	if h := e.must(t, req{method: "HEAD", path: ab}, http.StatusOK).hdr; h.Get("x-ms-lease-state") != "leased" {
		t.Fatalf("a replaced append blob lost its lease: %v", h)
	}
}
