package blobapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sdkBlockID builds an id like the Go SDK's UploadStream: 64 raw bytes, 88 characters
// of base64 with '+', '/' and '=' that must be URL-escaped.
func sdkBlockID(i int) string {
	raw := make([]byte, 64)
	copy(raw, []byte{0xfb, 0xff, 0xfe, 0x3e, 0x3f})
	raw[20] = byte(i)
	return base64.StdEncoding.EncodeToString(raw)
}

func TestBlockUpload(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	p := "/" + account + "/box/big"
	var want strings.Builder
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<BlockList>")
	for i := range 3 {
		part := strings.Repeat(string(rune('a'+i)), 1000+i)
		want.WriteString(part)
		id := sdkBlockID(i)
		if !strings.ContainsAny(id, "+/=") {
			t.Fatalf("id %q needs no escaping; the test wants one that does", id)
		}
		res := e.must(t, req{method: "PUT", path: p + "?comp=block&blockid=" + url.QueryEscape(id), body: part,
			hdr: map[string]string{"Content-MD5": b64md5(part)}}, http.StatusCreated)
		if res.hdr.Get("Content-MD5") != b64md5(part) {
			t.Fatalf("Put Block Content-MD5 %q", res.hdr.Get("Content-MD5"))
		}
		fmt.Fprintf(&list, "<Latest>%s</Latest>", id)
	}
	list.WriteString("</BlockList>")

	e.fails(t, req{method: "GET", path: p}, http.StatusNotFound, "BlobNotFound")
	res := e.must(t, req{method: "GET", path: p + "?comp=blocklist&blocklisttype=all"}, http.StatusOK)
	var bl struct {
		Committed []struct {
			Name string
			Size int64
		} `xml:"CommittedBlocks>Block"`
		Uncommitted []struct {
			Name string
			Size int64
		} `xml:"UncommittedBlocks>Block"`
	}
	decodeXML(t, res.body, &bl)
	if len(bl.Uncommitted) != 3 || len(bl.Committed) != 0 || bl.Uncommitted[0].Size == 0 {
		t.Fatalf("block list before commit: %s", res.body)
	}
	e.fails(t, req{method: "GET", path: p + "?comp=blocklist"}, http.StatusNotFound, "BlobNotFound")

	res = e.must(t, req{method: "PUT", path: p + "?comp=blocklist", body: list.String(), hdr: map[string]string{
		"Content-Type": "application/xml", "x-ms-blob-content-type": "text/x-big", "x-ms-meta-k": "v"}}, http.StatusCreated)
	etag := res.hdr.Get("ETag")
	res = e.must(t, req{method: "GET", path: p}, http.StatusOK)
	if res.body != want.String() || res.hdr.Get("Content-Type") != "text/x-big" || res.hdr.Get("x-ms-meta-k") != "v" || res.hdr.Get("ETag") != etag {
		t.Fatalf("committed blob: %d bytes, %v", len(res.body), res.hdr)
	}
	res = e.must(t, req{method: "GET", path: p + "?comp=blocklist"}, http.StatusOK)
	bl.Committed, bl.Uncommitted = nil, nil
	decodeXML(t, res.body, &bl)
	if len(bl.Committed) != 3 || bl.Committed[1].Name != sdkBlockID(1) || bl.Committed[1].Size != 1001 {
		t.Fatalf("committed block list: %s", res.body)
	}
	if res.hdr.Get("ETag") != etag || res.hdr.Get("x-ms-blob-content-length") != itoa(want.Len()) {
		t.Fatalf("Get Block List headers %v", res.hdr)
	}
	// A range across the block boundaries.
	res = e.must(t, req{method: "GET", path: p, hdr: map[string]string{"x-ms-range": "bytes=995-2005"}}, http.StatusPartialContent)
	if res.body != want.String()[995:2006] {
		t.Fatal("range across blocks differs")
	}
	// An empty block list is an empty blob, as JS uploadStream commits it.
	e.must(t, req{method: "PUT", path: "/" + account + "/box/empty?comp=blocklist", body: "<BlockList/>"}, http.StatusCreated)
	if res := e.must(t, req{method: "GET", path: "/" + account + "/box/empty"}, http.StatusOK); res.body != "" {
		t.Fatal("empty block list")
	}

	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList><Latest>QUFB</Latest></BlockList>"}, http.StatusBadRequest, "InvalidBlockList")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList><Latest>x"}, http.StatusBadRequest, "InvalidXmlDocument")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList><Other>QUFB</Other></BlockList>"}, http.StatusBadRequest, "InvalidXmlDocument")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: ""}, http.StatusBadRequest, "InvalidXmlDocument")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: "<BlockList/>", hdr: map[string]string{"Content-MD5": b64md5("other")}}, http.StatusBadRequest, "Md5Mismatch")
	e.fails(t, req{method: "PUT", path: p + "?comp=block", body: "x"}, http.StatusBadRequest, "MissingRequiredQueryParameter")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=%21%21", body: "x"}, http.StatusBadRequest, "InvalidBlockId")
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=" + url.QueryEscape(base64.StdEncoding.EncodeToString(make([]byte, 65))), body: "x"}, http.StatusBadRequest, "InvalidBlockId")
	e.fails(t, req{method: "GET", path: p + "?comp=blocklist&blocklisttype=some"}, http.StatusBadRequest, "InvalidQueryParameterValue")
	e.must(t, req{method: "PUT", path: p + "?comp=block&blockid=" + url.QueryEscape(sdkBlockID(9)), body: "x"}, http.StatusCreated)
	e.fails(t, req{method: "PUT", path: p + "?comp=block&blockid=QUFB", body: "x"}, http.StatusBadRequest, "InvalidBlobOrBlock")

	// Too many entries, and too large a body, are refused without committing.
	var long strings.Builder
	long.WriteString("<BlockList>")
	for range 50_001 {
		long.WriteString("<Latest>QUFB</Latest>")
	}
	long.WriteString("</BlockList>")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: long.String()}, http.StatusBadRequest, "BlockListTooLong")
	e.fails(t, req{method: "PUT", path: p + "?comp=blocklist", body: strings.Repeat(" ", 7<<20)}, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
}
