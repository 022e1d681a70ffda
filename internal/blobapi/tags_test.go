package blobapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blobapi"
)

func tagsBody(kv ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Tags><TagSet>`)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", kv[i], kv[i+1])
	}
	b.WriteString("</TagSet></Tags>")
	return b.String()
}

// TestBlobTags: Set and Get Blob Tags round-trip, leave ETag and Last-Modified alone, and
// show in x-ms-tag-count; x-ms-tags on Put Blob sets them with the blob.
func TestBlobTags(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	put := e.put(t, "box/b", "x", nil)
	p := "/" + account + "/box/b"
	e.must(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody("Project", "Cascade", "a-b.c/d:e=f_g", "v 1+2")}, http.StatusNoContent)
	got := e.must(t, req{method: "GET", path: p + "?comp=tags"}, http.StatusOK)
	want := `<?xml version="1.0" encoding="utf-8"?><Tags><TagSet><Tag><Key>Project</Key><Value>Cascade</Value></Tag><Tag><Key>a-b.c/d:e=f_g</Key><Value>v 1+2</Value></Tag></TagSet></Tags>`
	if got.body != want {
		t.Fatalf("Get Blob Tags = %s", got.body)
	}
	head := e.must(t, req{method: "HEAD", path: p}, http.StatusOK)
	if head.hdr.Get("ETag") != put.hdr.Get("ETag") || head.hdr.Get("Last-Modified") != put.hdr.Get("Last-Modified") {
		t.Fatal("Set Blob Tags changed the ETag or Last-Modified")
	}
	if head.hdr.Get("x-ms-tag-count") != "2" {
		t.Fatalf("x-ms-tag-count = %q", head.hdr.Get("x-ms-tag-count"))
	}
	// An empty tag set clears them.
	e.must(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody()}, http.StatusNoContent)
	if h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK); h.hdr.Get("x-ms-tag-count") != "" {
		t.Fatal("tags not cleared")
	}

	e.put(t, "box/c", "y", map[string]string{"x-ms-tags": "k1=v1&Key%202=a%2Fb"})
	got = e.must(t, req{method: "GET", path: "/" + account + "/box/c?comp=tags"}, http.StatusOK)
	if !strings.Contains(got.body, "<Key>Key 2</Key><Value>a/b</Value>") || !strings.Contains(got.body, "<Key>k1</Key><Value>v1</Value>") {
		t.Fatalf("tags from x-ms-tags: %s", got.body)
	}
	// A replacing Put Blob without x-ms-tags drops them.
	e.put(t, "box/c", "z", nil)
	if got = e.must(t, req{method: "GET", path: "/" + account + "/box/c?comp=tags"}, http.StatusOK); strings.Contains(got.body, "<Tag>") {
		t.Fatalf("tags survived an overwrite: %s", got.body)
	}
	// Put Block List and the append and page creations take x-ms-tags too.
	e.must(t, req{method: "PUT", path: "/" + account + "/box/bl?comp=block&blockid=QUFB", body: "x"}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/bl?comp=blocklist", body: "<BlockList><Latest>QUFB</Latest></BlockList>",
		hdr: map[string]string{"x-ms-tags": "via=blocklist"}}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/ap", hdr: map[string]string{"x-ms-blob-type": "AppendBlob", "x-ms-tags": "via=append"}}, http.StatusCreated)
	e.must(t, req{method: "PUT", path: "/" + account + "/box/pg", hdr: map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "512", "x-ms-tags": "via=page"}}, http.StatusCreated)
	for _, n := range []string{"bl", "ap", "pg"} {
		if h := e.must(t, req{method: "HEAD", path: "/" + account + "/box/" + n}, http.StatusOK); h.hdr.Get("x-ms-tag-count") != "1" {
			t.Fatalf("%s: x-ms-tag-count %q", n, h.hdr.Get("x-ms-tag-count"))
		}
	}
}

func TestBlobTagErrors(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", nil)
	p := "/" + account + "/box/b?comp=tags"
	eleven := make([]string, 0, 22)
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("k%d", i), "v")
	}
	cases := []struct {
		body   string
		status int
		code   string
	}{
		{tagsBody("bad!key", "v"), 400, "InvalidTag"},
		{tagsBody("k", "bad\u00e9"), 400, "InvalidTag"},
		{tagsBody(strings.Repeat("k", 129), "v"), 400, "TagsTooLarge"},
		{tagsBody("k", strings.Repeat("v", 257)), 400, "TagsTooLarge"},
		{tagsBody(eleven...), 400, "TagsTooLarge"},
		{tagsBody("", "v"), 400, "EmptyTagName"},
		{tagsBody("k", "1", "k", "2"), 400, "DuplicateTagNames"},
		{"<Tags><TagSet>", 400, "InvalidXmlDocument"},
		{strings.Repeat(" ", 70<<10), 413, "RequestBodyTooLarge"},
	}
	for _, tc := range cases {
		e.fails(t, req{method: "PUT", path: p, body: tc.body}, tc.status, tc.code)
	}
	// The limits themselves are fine.
	e.must(t, req{method: "PUT", path: p, body: tagsBody(strings.Repeat("k", 128), strings.Repeat("v", 256), "empty", "")}, http.StatusNoContent)
	e.fails(t, req{method: "GET", path: "/" + account + "/box/none?comp=tags"}, 404, "BlobNotFound")
	e.fails(t, req{method: "PUT", path: "/" + account + "/box/none?comp=tags", body: tagsBody("k", "v")}, 404, "BlobNotFound")
	e.fails(t, req{method: "PUT", path: "/" + account + "/nobox/b?comp=tags", body: tagsBody("k", "v")}, 404, "ContainerNotFound")
	e.fails(t, req{method: "DELETE", path: p}, 405, "UnsupportedHttpVerb")
	// x-ms-tags is validated alike, and nothing is written.
	for hdr, code := range map[string]string{"a=%ZZ": "InvalidTag", "a=b&a=c": "DuplicateTagNames", "a!=b": "InvalidTag", "=b": "EmptyTagName"} {
		e.fails(t, req{method: "PUT", path: "/" + account + "/box/new", body: "x", hdr: map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-tags": hdr}}, 400, code)
	}
	e.fails(t, req{method: "HEAD", path: "/" + account + "/box/new"}, 404, "BlobNotFound")
	e.fails(t, req{method: "GET", path: "/" + account + "/box/b", hdr: map[string]string{"x-ms-if-tags": "k = 'unterminated"}}, 400, "InvalidHeaderValue")
}

// TestIfTags: x-ms-if-tags gates reads, writes, deletes and the tag operations with 412.
func TestIfTags(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", map[string]string{"x-ms-tags": "team=red&rank=5"})
	p := "/" + account + "/box/b"
	yes := map[string]string{"x-ms-if-tags": `"team" = 'red' AND rank >= '3'`}
	no := map[string]string{"x-ms-if-tags": `team = 'blue' OR rank < '3'`}
	ops := []req{
		{method: "GET", path: p},
		{method: "GET", path: p + "?comp=metadata"},
		{method: "PUT", path: p + "?comp=metadata"},
		{method: "PUT", path: p + "?comp=properties"},
		{method: "GET", path: p + "?comp=tags"},
		{method: "PUT", path: p + "?comp=tags", body: tagsBody("team", "red", "rank", "5")},
	}
	for _, r := range ops {
		r.hdr = no
		e.fails(t, r, http.StatusPreconditionFailed, "ConditionNotMet")
		r.hdr = yes
		if res := e.do(t, r); res.status >= 300 {
			t.Fatalf("%s %s with a true condition: %d %s", r.method, r.path, res.status, res.body)
		}
	}
	e.fails(t, req{method: "GET", path: p + "?comp=blocklist", hdr: no}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.must(t, req{method: "GET", path: p + "?comp=blocklist", hdr: yes}, http.StatusOK)
	// Get and Set Blob Tags honour the ETag conditions too, always with 412.
	e.fails(t, req{method: "GET", path: p + "?comp=tags", hdr: map[string]string{"If-Match": `"0x1"`}}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody(), hdr: map[string]string{"If-None-Match": "*"}}, http.StatusPreconditionFailed, "ConditionNotMet")
	r := e.do(t, req{method: "HEAD", path: p, hdr: no})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("HEAD with a false condition: %d", r.status)
	}
	// Lease Blob too: a false condition acquires nothing.
	acquire := func(cond map[string]string) req {
		return req{method: "PUT", path: p + "?comp=lease", hdr: map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "15",
			"x-ms-proposed-lease-id": leaseA, "x-ms-if-tags": cond["x-ms-if-tags"]}}
	}
	e.fails(t, acquire(no), http.StatusPreconditionFailed, "ConditionNotMet")
	if h := e.must(t, req{method: "HEAD", path: p}, http.StatusOK).hdr; h.Get("x-ms-lease-state") != "available" {
		t.Fatalf("a lease refused by x-ms-if-tags left the lease state %q", h.Get("x-ms-lease-state"))
	}
	e.must(t, acquire(yes), http.StatusCreated)
	e.must(t, req{method: "PUT", path: p + "?comp=lease", hdr: map[string]string{"x-ms-lease-action": "release", "x-ms-lease-id": leaseA}}, http.StatusOK)
	putHdr := map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-if-tags": no["x-ms-if-tags"]}
	e.fails(t, req{method: "PUT", path: p, body: "y", hdr: putHdr}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.fails(t, req{method: "DELETE", path: p, hdr: no}, http.StatusPreconditionFailed, "ConditionNotMet")
	e.must(t, req{method: "DELETE", path: p, hdr: yes}, http.StatusAccepted)
}

// TestTagsOfLeasedBlob: Set and Get Blob Tags of a leased blob need its lease id (412
// without it or with another); with it they are served.
func TestTagsOfLeasedBlob(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", nil)
	p := "/" + account + "/box/b"
	// The id in the 32-digit form the JavaScript tests use; it is the same lease as leaseA's form.
	id := strings.ReplaceAll("ca761232-ed42-11ce-bacd-00aa0057b223", "-", "")
	e.must(t, req{method: "PUT", path: p + "?comp=lease", hdr: map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1", "x-ms-proposed-lease-id": id}}, http.StatusCreated)
	withID := map[string]string{"x-ms-lease-id": id}
	e.must(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody("k", "v"), hdr: withID}, http.StatusNoContent)
	if res := e.must(t, req{method: "GET", path: p + "?comp=tags", hdr: withID}, http.StatusOK); !strings.Contains(res.body, "<Key>k</Key><Value>v</Value>") {
		t.Fatalf("Get Blob Tags with the lease id:\n%s", res.body)
	}
	e.fails(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody("k", "w")}, http.StatusPreconditionFailed, "LeaseIdMissing")
	e.fails(t, req{method: "GET", path: p + "?comp=tags"}, http.StatusPreconditionFailed, "LeaseIdMissing")
	other := map[string]string{"x-ms-lease-id": leaseB}
	e.fails(t, req{method: "PUT", path: p + "?comp=tags", body: tagsBody("k", "w"), hdr: other}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
	e.fails(t, req{method: "GET", path: p + "?comp=tags", hdr: other}, http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation")
}

func findURL(scope, where string, extra string) string {
	return "/" + account + scope + "comp=blobs&where=" + url.QueryEscape(where) + extra
}

// TestFindBlobs: Find Blobs by Tags at account and container scope, paging, include=tags.
func TestFindBlobs(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"box1", "box2"} {
		e.container(t, c)
		for i := range 4 {
			e.put(t, fmt.Sprintf("%s/b%d", c, i), "x", map[string]string{"x-ms-tags": fmt.Sprintf("team=t%d&n=%d", i%2, i)})
		}
	}
	res := e.must(t, req{method: "GET", path: findURL("?", `team = 't1'`, "")}, http.StatusOK)
	for _, want := range []string{
		`<Where>team = &#39;t1&#39;</Where>`,
		`<Blob><Name>b1</Name><ContainerName>box1</ContainerName><Tags><TagSet><Tag><Key>team</Key><Value>t1</Value></Tag></TagSet></Tags></Blob>`,
		`<Name>b3</Name><ContainerName>box2</ContainerName>`,
		`<NextMarker></NextMarker>`,
	} {
		if !strings.Contains(res.body, want) {
			t.Fatalf("Find: missing %s in\n%s", want, res.body)
		}
	}
	if n := strings.Count(res.body, "<Blob>"); n != 4 {
		t.Fatalf("Find: %d blobs\n%s", n, res.body)
	}
	res = e.must(t, req{method: "GET", path: findURL("/box2?restype=container&", `team = 't1' AND n > '1'`, "")}, http.StatusOK)
	if strings.Count(res.body, "<Blob>") != 1 || !strings.Contains(res.body, "<Name>b3</Name><ContainerName>box2</ContainerName>") {
		t.Fatalf("container Find:\n%s", res.body)
	}
	res = e.must(t, req{method: "GET", path: findURL("?", `@container = 'box1' AND n >= '0'`, "")}, http.StatusOK)
	if strings.Count(res.body, "<Blob>") != 4 || strings.Contains(res.body, "box2") {
		t.Fatalf("@container Find:\n%s", res.body)
	}
	// Paging: three pages of 3, 3 and 2 blobs, in (container, name) order.
	var names []string
	marker := ""
	for range 3 {
		res = e.must(t, req{method: "GET", path: findURL("?", `n >= '0'`, "&maxresults=3&marker="+url.QueryEscape(marker))}, http.StatusOK)
		for _, part := range strings.Split(res.body, "<Blob><Name>")[1:] {
			name, rest, _ := strings.Cut(part, "</Name><ContainerName>")
			ctr, _, _ := strings.Cut(rest, "<")
			names = append(names, ctr+"/"+name)
		}
		_, after, _ := strings.Cut(res.body, "<NextMarker>")
		marker, _, _ = strings.Cut(after, "</NextMarker>")
	}
	if got := strings.Join(names, ","); got != "box1/b0,box1/b1,box1/b2,box1/b3,box2/b0,box2/b1,box2/b2,box2/b3" || marker != "" {
		t.Fatalf("pages: %s (marker %q)", got, marker)
	}
	// List Blobs shows tags with include=tags.
	res = e.must(t, req{method: "GET", path: "/" + account + "/box1?restype=container&comp=list&include=tags"}, http.StatusOK)
	if !strings.Contains(res.body, "<TagCount>2</TagCount>") ||
		!strings.Contains(res.body, "<Tags><TagSet><Tag><Key>n</Key><Value>0</Value></Tag><Tag><Key>team</Key><Value>t0</Value></Tag></TagSet></Tags></Blob>") {
		t.Fatalf("List Blobs include=tags:\n%s", res.body)
	}
	// Without include=tags, Azure still shows the count, not the tags (a List Blobs with
	// include=metadata recorded from Azure in azure-sdk-for-java's listing tests).
	res = e.must(t, req{method: "GET", path: "/" + account + "/box1?restype=container&comp=list&include=metadata"}, http.StatusOK)
	if !strings.Contains(res.body, "<TagCount>2</TagCount>") || strings.Contains(res.body, "<Tags>") {
		t.Fatalf("List Blobs without include=tags:\n%s", res.body)
	}
	// Errors.
	for _, where := range []string{"", `team = t1`, `team = 't1' OR n = '1'`, `team <> 't1'`, `(team = 't1')`, `@container = 'box1'`, `bad! = 'x'`} {
		e.fails(t, req{method: "GET", path: findURL("?", where, "")}, 400, "InvalidQueryParameterValue")
	}
	// The message is the parser's, as Azure words it.
	if res := e.fails(t, req{method: "GET", path: findURL("?", `k = 'a!b'`, "")}, 400, "InvalidQueryParameterValue"); !strings.Contains(res.body,
		"<Message>Error parsing query at or near character position 6: &apos;!&apos; not permitted in tag name or value") {
		t.Fatalf("Find with a bad character:\n%s", res.body)
	}
	e.fails(t, req{method: "GET", path: "/" + account + "?comp=blobs"}, 400, "MissingRequiredQueryParameter")
	// At container scope, @container may name that container only.
	e.must(t, req{method: "GET", path: findURL("/box1?restype=container&", `@container = 'box1' AND n = '1'`, "")}, http.StatusOK)
	e.fails(t, req{method: "GET", path: findURL("/box1?restype=container&", `@container = 'box2' AND n = '1'`, "")}, 400, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: findURL("?", `n = '1'`, "&maxresults=0")}, 400, "InvalidQueryParameterValue")
	e.fails(t, req{method: "GET", path: findURL("?", `n = '1'`, "&marker=bogus")}, 400, "InvalidQueryParameterValue")
	e.fails(t, req{method: "PUT", path: findURL("?", `n = '1'`, "")}, 405, "UnsupportedHttpVerb")
	// A missing container finds nothing.
	res = e.must(t, req{method: "GET", path: findURL("/nobox?restype=container&", `n = '1'`, "")}, http.StatusOK)
	if strings.Contains(res.body, "<Blob>") {
		t.Fatal(res.body)
	}
}

// TestTagAccessRequests: the tag operations ask for Azure's data actions, and tag
// attributes reach the authorizer for ABAC conditions.
func TestTagAccessRequests(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	e.put(t, "box/b", "x", map[string]string{"x-ms-tags": "Project=Cascade"})
	const tagAttr = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>"
	e.must(t, req{method: "GET", path: "/" + account + "/box/b?comp=tags"}, http.StatusOK)
	got := e.auth.last()
	if got.Action != blobapi.ActionBlobTagsRead || got.Operation != "GetBlobTags" {
		t.Fatalf("Get Blob Tags asked %+v", got)
	}
	if vs, ok := got.Attributes("Resource", tagAttr); !ok || len(vs) != 1 || vs[0] != "Cascade" {
		t.Fatalf("resource tag = %v %v", vs, ok)
	}
	if vs, ok := got.Attributes("Resource", strings.Replace(tagAttr, "Project", "Other", 1)); !ok || len(vs) != 0 {
		t.Fatalf("absent resource tag = %v %v", vs, ok)
	}
	if _, ok := got.Attributes("Resource", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path"); ok {
		t.Fatal("attributes answered for a non-tag attribute")
	}
	e.must(t, req{method: "PUT", path: "/" + account + "/box/b?comp=tags", body: tagsBody("Project", "Baker")}, http.StatusNoContent)
	got = e.auth.last()
	if got.Action != blobapi.ActionBlobTagsWrite {
		t.Fatalf("Set Blob Tags asked %+v", got)
	}
	// The request's tags were read for the decision; the body still reached the operation.
	if vs, ok := got.Attributes("Request", tagAttr); !ok || len(vs) != 1 || vs[0] != "Baker" {
		t.Fatalf("request tag = %v %v", vs, ok)
	}
	e.put(t, "box/c", "x", map[string]string{"x-ms-tags": "Project=Delta"})
	got = e.auth.last()
	if got.SubOperation != "Blob.Write.WithTagHeaders" {
		t.Fatalf("Put Blob with tags: sub-operation %q", got.SubOperation)
	}
	if vs, ok := got.Attributes("Request", tagAttr); !ok || len(vs) != 1 || vs[0] != "Delta" {
		t.Fatalf("request tag of x-ms-tags = %v %v", vs, ok)
	}
	e.must(t, req{method: "GET", path: findURL("?", `Project = 'Delta'`, "")}, http.StatusOK)
	if got = e.auth.last(); got.Action != blobapi.ActionBlobsFilter || got.Scope != "" {
		t.Fatalf("Find asked %+v", got)
	}
	e.must(t, req{method: "GET", path: findURL("/box?restype=container&", `Project = 'Delta'`, "")}, http.StatusOK)
	if got = e.auth.last(); got.Action != blobapi.ActionBlobsFilter || got.Scope != "blobServices/default/containers/box" {
		t.Fatalf("container Find asked %+v", got)
	}
	e.auth.denied[blobapi.ActionBlobTagsRead] = true
	e.fails(t, req{method: "GET", path: "/" + account + "/box/b?comp=tags", hdr: map[string]string{"Authorization": "Bearer limited"}}, 403, "AuthorizationPermissionMismatch")
}
