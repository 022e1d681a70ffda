package blobapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blobapi"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func tierReq(path, tier string, hdr ...string) req {
	h := map[string]string{}
	if tier != "" {
		h["x-ms-access-tier"] = tier
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return req{method: "PUT", path: "/" + account + "/" + path + "?comp=tier", hdr: h}
}

// Set Blob Tier on a block blob: 200, the tier read back by Get Blob Properties and List
// Blobs, ETag and Last-Modified unchanged; authorized as a write.
func TestSetBlobTier(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	put := e.put(t, "box/b", "data", nil)
	h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/b"}, http.StatusOK).hdr
	if h.Get("x-ms-access-tier") != "Hot" || h.Get("x-ms-access-tier-inferred") != "true" || h.Get("x-ms-access-tier-change-time") != "" {
		t.Fatalf("new blob tier headers %v", h)
	}
	e.must(t, tierReq("box/b", "cool"), http.StatusOK)
	if a := e.auth.last(); a.Action != blobapi.ActionBlobsWrite || a.SubOperation != "Blob.Write.Tier" {
		t.Fatalf("Set Blob Tier authorized as %q / %q", a.Action, a.SubOperation)
	}
	h = e.must(t, req{method: "HEAD", path: "/" + account + "/box/b"}, http.StatusOK).hdr
	if h.Get("x-ms-access-tier") != "Cool" || h.Get("x-ms-access-tier-inferred") != "" || h.Get("x-ms-access-tier-change-time") == "" {
		t.Fatalf("tier headers after Set Blob Tier Cool: %v", h)
	}
	if h.Get("ETag") != put.hdr.Get("ETag") || h.Get("Last-Modified") != put.hdr.Get("Last-Modified") {
		t.Fatalf("Set Blob Tier changed ETag or Last-Modified: %v / %v", put.hdr, h)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK).body
	if !strings.Contains(list, "<AccessTier>Cool</AccessTier>") || strings.Contains(list, "AccessTierInferred") ||
		!strings.Contains(list, "<AccessTierChangeTime>") {
		t.Fatalf("List Blobs after Set Blob Tier Cool:\n%s", list)
	}
	e.auth.denied[blobapi.ActionBlobsWrite] = true
	r := tierReq("box/b", "Hot")
	r.hdr["Authorization"] = "Bearer limited"
	e.fails(t, r, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// Every error of Set Blob Tier, with Azure's status and code.
func TestSetBlobTierErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "data", nil)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/a", hdr: map[string]string{"x-ms-blob-type": "AppendBlob", "Content-Length": "0"}}, http.StatusCreated)
	e.fails(t, tierReq("box/b", ""), http.StatusBadRequest, "MissingRequiredHeader")
	e.fails(t, tierReq("box/b", "P10"), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, tierReq("box/b", "Cool", "x-ms-rehydrate-priority", "Urgent"), http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, tierReq("box/none", "Cool"), http.StatusNotFound, "BlobNotFound")
	e.fails(t, tierReq("nobox/b", "Cool"), http.StatusNotFound, "ContainerNotFound")
	e.fails(t, tierReq("box/a", "Cool"), http.StatusConflict, "InvalidBlobType")
	e.fails(t, tierReq("box/b", "Cool", "x-ms-lease-id", "0f8fad5b-d9cb-469f-a165-70867728950e"), http.StatusPreconditionFailed, "LeaseNotPresentWithBlobOperation")
	e.fails(t, tierReq("box/b", "Cool", "x-ms-if-tags", `"k" = 'v'`), http.StatusPreconditionFailed, "ConditionNotMet")
	// Uploads: a block blob takes the four tiers, refuses others; a page blob tier is not served.
	p := "/" + account + "/box/c"
	e.fails(t, req{method: "PUT", path: p, body: "x", hdr: map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-access-tier": "P10"}},
		http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>", hdr: map[string]string{"x-ms-access-tier": "Fast"}},
		http.StatusBadRequest, "InvalidHeaderValue")
	e.fails(t, req{method: "PUT", path: p, hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "512",
		"Content-Length": "0", "x-ms-access-tier": "P10"}}, http.StatusNotImplemented, "NotImplemented")
	e.fails(t, req{method: "HEAD", path: p}, http.StatusNotFound, "BlobNotFound")
}

// Uploads with x-ms-access-tier set the tier; an overwrite without one resets it.
func TestAccessTierOnUpload(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/b"
	e.put(t, "box/b", "x", map[string]string{"x-ms-access-tier": "cold"})
	if h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr; h.Get("x-ms-access-tier") != "Cold" || h.Get("x-ms-access-tier-inferred") != "" {
		t.Fatalf("tier after Put Blob Cold: %v", h)
	}
	e.must(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>", hdr: map[string]string{"x-ms-access-tier": "Archive"}}, http.StatusCreated)
	if h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr; h.Get("x-ms-access-tier") != "Archive" {
		t.Fatalf("tier after Put Block List Archive: %v", h)
	}
	e.put(t, "box/b", "y", nil)
	if h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr; h.Get("x-ms-access-tier") != "Hot" || h.Get("x-ms-access-tier-inferred") != "true" {
		t.Fatalf("tier after an overwrite without a tier: %v", h)
	}
}

// An archived blob cannot be read nor its properties changed; Set Blob Tier to an online
// tier answers 202 and the rehydration completes after the delay.
func TestArchiveRehydrate(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	e := newEnvConfig(t, blob.Config{Now: clk.now, RehydrateDelay: time.Hour})
	e.container(t, "box")
	e.put(t, "box/b", "data", nil)
	p := "/" + account + "/box/b"
	e.must(t, tierReq("box/b", "Archive"), http.StatusOK)
	e.fails(t, req{method: "GET", path: p}, http.StatusConflict, "BlobArchived")
	e.fails(t, req{method: "PUT", path: p + "?comp=metadata", hdr: map[string]string{"x-ms-meta-a": "b"}}, http.StatusConflict, "BlobArchived")
	e.fails(t, req{method: "PUT", path: p + "?comp=properties", hdr: map[string]string{"x-ms-blob-content-type": "a/b"}}, http.StatusConflict, "BlobArchived")
	e.must(t, tierReq("box/b", "Archive"), http.StatusOK)
	e.must(t, tierReq("box/b", "Hot", "x-ms-rehydrate-priority", "High"), http.StatusAccepted)
	h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr
	if h.Get("x-ms-access-tier") != "Archive" || h.Get("x-ms-archive-status") != "rehydrate-pending-to-hot" || h.Get("x-ms-rehydrate-priority") != "High" {
		t.Fatalf("pending rehydration headers %v", h)
	}
	list := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list"}, http.StatusOK).body
	if !strings.Contains(list, "<ArchiveStatus>rehydrate-pending-to-hot</ArchiveStatus>") || !strings.Contains(list, "<RehydratePriority>High</RehydratePriority>") {
		t.Fatalf("List Blobs while rehydrating:\n%s", list)
	}
	e.fails(t, req{method: "GET", path: p}, http.StatusConflict, "BlobArchived")
	e.fails(t, tierReq("box/b", "Archive"), http.StatusConflict, "BlobBeingRehydrated")
	e.fails(t, tierReq("box/b", "Cool"), http.StatusConflict, "BlobBeingRehydrated")
	e.must(t, tierReq("box/b", "Hot"), http.StatusAccepted)
	e.must(t, req{method: "PUT", path: p + "?comp=tags", body: "<Tags><TagSet/></Tags>"}, http.StatusNoContent)

	clk.advance(time.Hour)
	h = e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr
	if h.Get("x-ms-access-tier") != "Hot" || h.Get("x-ms-archive-status") != "" || h.Get("x-ms-rehydrate-priority") != "" {
		t.Fatalf("headers after the rehydration: %v", h)
	}
	if got := e.must(t, req{method: "GET", path: p}, http.StatusOK).body; got != "data" {
		t.Fatalf("read %q after the rehydration", got)
	}
	// Overwriting an archived blob is allowed.
	e.must(t, tierReq("box/b", "Archive"), http.StatusOK)
	e.put(t, "box/b", "new", nil)
	if got := e.must(t, req{method: "GET", path: p}, http.StatusOK).body; got != "new" {
		t.Fatalf("read %q after overwriting an archived blob", got)
	}
}

// A SAS sets a blob's tier with w, as Azure's permission table has it, and not with r.
func TestSetBlobTierBySAS(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	for perms, want := range map[string]int{"w": http.StatusOK, "r": http.StatusForbidden} {
		url := s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: perms})
		res := s.do(t, req{method: "PUT", path: strings.TrimPrefix(url, s.srv.URL) + "&comp=tier", noAuth: true,
			hdr: map[string]string{"x-ms-access-tier": "Cool"}})
		if res.status != want {
			t.Fatalf("Set Blob Tier by a SAS with %q: %d, want %d\n%s", perms, res.status, want, res.body)
		}
	}
}

// A copy takes x-ms-access-tier (a block blob's tiers only), and an archived blob is
// copied only to an online tier, by Copy Blob: the copy then rehydrates after the delay,
// as Azure's rehydration by copy does. Without a tier, or synchronously, it is 409.
func TestCopyTier(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	e := newEnvConfig(t, blob.Config{Now: clk.now, RehydrateDelay: time.Hour})
	e.container(t, "box")
	e.put(t, "box/src", "data", nil)
	src := e.blobURL("box/src")
	tierOf := func(path string) (string, string) {
		h := e.must(t, req{method: "HEAD", path: "/" + account + "/" + path}, http.StatusOK).hdr
		return h.Get("x-ms-access-tier"), h.Get("x-ms-archive-status")
	}
	e.must(t, e.copyReq("box/cool", src, map[string]string{"x-ms-access-tier": "Cool"}), http.StatusAccepted)
	e.must(t, e.copyReq("box/cold", src, map[string]string{"x-ms-access-tier": "cold", "x-ms-requires-sync": "true"}), http.StatusAccepted)
	e.must(t, e.copyReq("box/fromurl", src, map[string]string{"x-ms-access-tier": "Archive", "x-ms-blob-type": "BlockBlob"}), http.StatusCreated)
	for path, want := range map[string]string{"box/cool": "Cool", "box/cold": "Cold", "box/fromurl": "Archive"} {
		if got, _ := tierOf(path); got != want {
			t.Errorf("%s: tier %q, want %q", path, got, want)
		}
	}
	e.fails(t, e.copyReq("box/p10", src, map[string]string{"x-ms-access-tier": "P10"}), http.StatusBadRequest, "InvalidHeaderValue")
	e.must(t, req{method: "PUT", path: "/" + account + "/box/page", hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "512"}}, http.StatusCreated)
	e.fails(t, e.copyReq("box/pagecopy", e.blobURL("box/page"), map[string]string{"x-ms-access-tier": "Cool"}), http.StatusBadRequest, "InvalidHeaderValue")

	e.must(t, tierReq("box/src", "Archive"), http.StatusOK)
	e.fails(t, e.copyReq("box/dst", src, nil), http.StatusConflict, "BlobArchived")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-access-tier": "Archive"}), http.StatusConflict, "BlobArchived")
	e.fails(t, e.copyReq("box/dst", src, map[string]string{"x-ms-access-tier": "Hot", "x-ms-requires-sync": "true"}), http.StatusConflict, "BlobArchived")
	e.must(t, e.copyReq("box/dst", src, map[string]string{"x-ms-access-tier": "Hot"}), http.StatusAccepted)
	if tier, status := tierOf("box/dst"); tier != "Archive" || status != "rehydrate-pending-to-hot" {
		t.Fatalf("copy of an archived blob: tier %q, archive status %q", tier, status)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/box/dst"}, http.StatusConflict, "BlobArchived")
	clk.advance(time.Hour)
	if tier, status := tierOf("box/dst"); tier != "Hot" || status != "" {
		t.Fatalf("after the rehydration: tier %q, archive status %q", tier, status)
	}
	if got := e.must(t, req{method: "GET", path: "/" + account + "/box/dst"}, http.StatusOK).body; got != "data" {
		t.Fatalf("rehydrated copy reads %q", got)
	}
}
