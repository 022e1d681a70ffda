package blobapi_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// blobsPage mirrors what the Go SDK decodes from List Blobs.
type blobsPage struct {
	ServiceEndpoint string  `xml:"ServiceEndpoint,attr"`
	ContainerName   string  `xml:"ContainerName,attr"`
	Prefix          *string `xml:"Prefix"`
	Delimiter       *string `xml:"Delimiter"`
	Blobs           struct {
		Items []struct {
			Name       string `xml:"Name"`
			Properties struct {
				CreationTime  string `xml:"Creation-Time"`
				LastModified  string `xml:"Last-Modified"`
				ETag          string `xml:"Etag"`
				ContentLength int64  `xml:"Content-Length"`
				ContentMD5    string `xml:"Content-MD5"`
				BlobType      string `xml:"BlobType"`
			} `xml:"Properties"`
			Metadata *struct {
				Inner string `xml:",innerxml"`
			} `xml:"Metadata"`
		} `xml:"Blob"`
		Prefixes []struct {
			Name string `xml:"Name"`
		} `xml:"BlobPrefix"`
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

func TestListBlobs(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	names := []string{"a", "a/b/c", "a/b/d", "a/c", "b/x", "b/y/z", "c", "d e/f"}
	for _, n := range names {
		e.put(t, "box/"+url.PathEscape(n), n, map[string]string{"x-ms-meta-Name": strings.ReplaceAll(n, " ", "_")})
	}
	list := func(q string) (all []string, pages int, first blobsPage) {
		t.Helper()
		marker := ""
		for {
			res := e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&" + q + "&marker=" + url.QueryEscape(marker)}, http.StatusOK)
			var page blobsPage
			decodeXML(t, res.body, &page)
			var order struct {
				Items []struct {
					Name string `xml:"Name"`
				} `xml:",any"`
			}
			start := strings.Index(res.body, "<Blobs>")
			end := strings.Index(res.body, "</Blobs>")
			if start < 0 || end < 0 {
				t.Fatalf("no Blobs element: %s", res.body)
			}
			decodeXML(t, res.body[start:end+len("</Blobs>")], &order)
			if pages == 0 {
				first = page
			}
			pages++
			for _, b := range order.Items {
				all = append(all, b.Name)
			}
			for _, p := range page.Blobs.Prefixes {
				found := false
				for _, o := range order.Items {
					found = found || o.Name == p.Name
				}
				if !found {
					t.Fatal("prefix missing from ordered view")
				}
			}
			if page.NextMarker == "" {
				return all, pages, first
			}
			marker = page.NextMarker
			if pages > 20 {
				t.Fatal("paging does not end")
			}
		}
	}
	all, pages, first := list("include=metadata")
	if !reflect.DeepEqual(all, names) || pages != 1 {
		t.Fatalf("flat listing %v in %d pages", all, pages)
	}
	b := first.Blobs.Items[0]
	if b.Properties.ETag == "" || b.Properties.ContentLength != 1 || b.Properties.BlobType != "BlockBlob" || b.Properties.ContentMD5 != b64md5("a") ||
		b.Metadata == nil || b.Metadata.Inner != "<name>a</name>" || first.ContainerName != "box" || !strings.HasPrefix(first.ServiceEndpoint, "https://") {
		t.Fatalf("first item %+v of %+v", b, first)
	}
	if all, pages, _ := list("maxresults=3"); !reflect.DeepEqual(all, names) || pages != 3 {
		t.Fatalf("paged listing %v in %d pages", all, pages)
	}
	_, _, first = list("")
	if first.Blobs.Items[0].Metadata != nil {
		t.Fatal("metadata listed without include=metadata")
	}
	want := []string{"a", "a/", "b/", "c", "d e/"}
	if all, _, first := list("delimiter=%2F"); !reflect.DeepEqual(all, want) || first.Delimiter == nil || *first.Delimiter != "/" {
		t.Fatalf("hierarchy %v", all)
	}
	// BlobPrefix entries count against maxresults.
	if all, pages, _ := list("delimiter=%2F&maxresults=2"); !reflect.DeepEqual(all, want) || pages != 3 {
		t.Fatalf("paged hierarchy %v in %d pages", all, pages)
	}
	// The Go SDK's hierarchy query, as captured by the probe.
	if all, _, first := list("delimiter=%2F&include=metadata&prefix=a%2F"); !reflect.DeepEqual(all, []string{"a/b/", "a/c"}) || *first.Prefix != "a/" {
		t.Fatalf("sub-hierarchy %v", all)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&maxresults=-1"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&maxresults=x"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=nope"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=snapshots&delimiter=%2F"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: "/" + account + "/nobox?restype=container&comp=list"}, http.StatusNotFound, "ContainerNotFound")
	// Values of include the SDK may send are accepted.
	e.must(t, req{method: "GET", path: "/" + account + "/box?restype=container&comp=list&include=copy,deleted,metadata,snapshots,tags,uncommittedblobs,versions"}, http.StatusOK)
}
