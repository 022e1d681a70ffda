package blobapi_test

import (
	"net/http"
	"testing"
	"time"
)

func TestContainerLifecycle(t *testing.T) {
	e := newEnv(t)
	base := "/" + account + "/box"
	res := e.must(t, req{method: "PUT", path: base + "?restype=container", hdr: map[string]string{"x-ms-meta-Color": "blue"}}, http.StatusCreated)
	etag := res.hdr.Get("ETag")
	if len(etag) < 4 || etag[0] != '"' || etag[1:3] != "0x" {
		t.Fatalf("ETag %q", etag)
	}
	if _, err := time.Parse(http.TimeFormat, res.hdr.Get("Last-Modified")); err != nil {
		t.Fatalf("Last-Modified %q: %v", res.hdr.Get("Last-Modified"), err)
	}
	if res.hdr.Get("x-ms-request-id") == "" || res.hdr.Get("x-ms-version") != "2026-12-06" || res.hdr.Get("Date") == "" {
		t.Fatalf("common headers missing: %v", res.hdr)
	}
	e.fails(t, req{method: "PUT", path: base + "?restype=container"}, http.StatusConflict, "ContainerAlreadyExists")
	e.fails(t, req{method: "PUT", path: "/" + account + "/Bad_Name?restype=container"}, http.StatusBadRequest, "InvalidResourceName")
	e.fails(t, req{method: "PUT", path: "/" + account + "/ab?restype=container"}, http.StatusBadRequest, "OutOfRangeInput")
	e.fails(t, req{method: "PUT", path: "/" + account + "/pub?restype=container", hdr: map[string]string{"x-ms-blob-public-access": "blob"}}, http.StatusConflict, "PublicAccessNotPermitted")
	// Malformed metadata is refused as such before the public access is.
	e.fails(t, req{method: "PUT", path: "/" + account + "/pub?restype=container", hdr: map[string]string{"x-ms-blob-public-access": "container",
		"x-ms-meta-1invalid": "v"}}, http.StatusBadRequest, "InvalidMetadata")

	res = e.must(t, req{method: "GET", path: base + "?restype=container"}, http.StatusOK)
	if res.hdr.Get("ETag") != etag || res.hdr.Get("x-ms-meta-color") != "blue" || res.hdr.Get("x-ms-lease-state") != "available" {
		t.Fatalf("container properties: %v", res.hdr)
	}
	res = e.must(t, req{method: "PUT", path: base + "?restype=container&comp=metadata", hdr: map[string]string{"x-ms-meta-size": "xl"}}, http.StatusOK)
	if res.hdr.Get("ETag") == etag {
		t.Fatal("ETag unchanged by a metadata write")
	}
	res = e.must(t, req{method: "HEAD", path: base + "?restype=container&comp=metadata"}, http.StatusOK)
	if res.hdr.Get("x-ms-meta-size") != "xl" || res.hdr.Get("x-ms-meta-color") != "" {
		t.Fatalf("metadata after replace: %v", res.hdr)
	}
	e.fails(t, req{method: "PUT", path: base + "?restype=container&comp=metadata", hdr: map[string]string{"x-ms-meta-1x": "v"}}, http.StatusBadRequest, "InvalidMetadata")

	e.must(t, req{method: "DELETE", path: base + "?restype=container"}, http.StatusAccepted)
	e.fails(t, req{method: "GET", path: base + "?restype=container"}, http.StatusNotFound, "ContainerNotFound")
	e.fails(t, req{method: "HEAD", path: base + "?restype=container"}, http.StatusNotFound, "ContainerNotFound")
	e.fails(t, req{method: "DELETE", path: base + "?restype=container"}, http.StatusNotFound, "ContainerNotFound")
	e.fails(t, req{method: "PUT", path: base + "/blob", hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}, body: "x"}, http.StatusNotFound, "ContainerNotFound")
}

func TestListContainers(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"zeta", "alpha", "beta-1", "beta-2"} {
		e.must(t, req{method: "PUT", path: "/" + account + "/" + n + "?restype=container", hdr: map[string]string{"x-ms-meta-name": n}}, http.StatusCreated)
	}
	var page struct {
		Prefix     *string `xml:"Prefix"`
		MaxResults *int    `xml:"MaxResults"`
		Containers []struct {
			Name       string `xml:"Name"`
			Properties struct {
				LastModified string `xml:"Last-Modified"`
				ETag         string `xml:"Etag"`
			} `xml:"Properties"`
			Metadata map[string]string `xml:"-"`
			MetaRaw  struct {
				Inner string `xml:",innerxml"`
			} `xml:"Metadata"`
		} `xml:"Containers>Container"`
		NextMarker string `xml:"NextMarker"`
	}
	var names []string
	marker := ""
	for range 10 {
		res := e.must(t, req{method: "GET", path: "/" + account + "?comp=list&maxresults=3&include=metadata&marker=" + marker}, http.StatusOK)
		page.Containers = nil
		decodeXML(t, res.body, &page)
		if page.MaxResults == nil || *page.MaxResults != 3 {
			t.Fatalf("MaxResults not echoed: %s", res.body)
		}
		for _, c := range page.Containers {
			names = append(names, c.Name)
			if _, err := time.Parse(http.TimeFormat, c.Properties.LastModified); err != nil || c.Properties.ETag == "" {
				t.Fatalf("container properties %+v", c.Properties)
			}
			if c.MetaRaw.Inner != "<name>"+c.Name+"</name>" {
				t.Fatalf("metadata XML %q", c.MetaRaw.Inner)
			}
		}
		if page.NextMarker == "" {
			break
		}
		marker = page.NextMarker
	}
	if got := names; len(got) != 4 || got[0] != "alpha" || got[1] != "beta-1" || got[2] != "beta-2" || got[3] != "zeta" {
		t.Fatalf("containers %v", got)
	}
	res := e.must(t, req{method: "GET", path: "/" + account + "/?comp=list&prefix=beta"}, http.StatusOK)
	page.Containers = nil
	decodeXML(t, res.body, &page)
	if len(page.Containers) != 2 || page.Prefix == nil || *page.Prefix != "beta" || page.NextMarker != "" {
		t.Fatalf("prefix listing %s", res.body)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "?comp=list&maxresults=0"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/" + account + "?comp=list&include=bogus"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	// A marker of Lanyard's that does not decode is refused; a plain name (Azurite's
	// markers) lists what comes after it.
	e.fails(t, req{method: "GET", path: "/" + account + "?comp=list&marker=1!%25%25"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	res = e.must(t, req{method: "GET", path: "/" + account + "?comp=list&marker=beta"}, http.StatusOK)
	page.Containers = nil
	decodeXML(t, res.body, &page)
	for _, c := range page.Containers {
		if c.Name <= "beta" {
			t.Fatalf("listing after the plain marker beta lists %q:\n%s", c.Name, res.body)
		}
	}
	if len(page.Containers) == 0 {
		t.Fatalf("listing after the plain marker beta is empty:\n%s", res.body)
	}
}
