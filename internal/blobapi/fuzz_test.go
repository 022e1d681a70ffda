package blobapi

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func FuzzBlockListXML(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n<BlockList><Latest>QUFB</Latest><Committed>QkJC</Committed><Uncommitted>Q0ND</Uncommitted></BlockList>",
		"<BlockList/>",
		"<BlockList>\n  <Latest> QUFB </Latest>\n</BlockList>",
		"<BlockList><Latest><x/></Latest></BlockList>",
		"<!DOCTYPE x [<!ENTITY a 'b'>]><BlockList><Latest>&a;</Latest></BlockList>",
		"<BlockList><Latest>QUFB</Latest></BlockList><BlockList/>",
		"<a:BlockList xmlns:a='x'><a:Latest>QUFB</a:Latest></a:BlockList>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := parseBlockList(body)
		if err != nil {
			if !errors.Is(err, errListTooLong) {
				if ae := (*apiError)(nil); !errors.As(err, &ae) {
					t.Fatalf("unexpected error type %T", err)
				}
			}
			return
		}
		if len(items) > blob.MaxCommittedBlocks {
			t.Fatalf("%d items", len(items))
		}
		for _, it := range items {
			if len(it.ID) > 1024 || it.Kind < blob.BlockLatest || it.Kind > blob.BlockUncommitted {
				t.Fatalf("item %+v", it)
			}
			if it.ID != strings.TrimSpace(it.ID) {
				t.Fatalf("untrimmed id %q", it.ID)
			}
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=5-", "bytes=-5", "bytes=1-2,3-4", "bytes=99999999999999999999-", "bytes= 1-2", "bytes=2-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rg, ok := parseRange(s)
		if !ok {
			return
		}
		if rg.Start < 0 || rg.End < -1 {
			t.Fatalf("%q parsed to %+v", s, rg)
		}
		// What parses round-trips through the canonical form.
		canon := "bytes=" + strconv.FormatInt(rg.Start, 10) + "-"
		if rg.End >= 0 {
			canon += strconv.FormatInt(rg.End, 10)
		}
		if rg2, ok := parseRange(canon); !ok || rg2 != rg {
			t.Fatalf("%q -> %+v, canonical %q -> %+v %v", s, rg, canon, rg2, ok)
		}
	})
}

func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"/acct", "/acct/", "/acct/c", "/acct/c/", "/acct/c/b", "/acct/c/dir/b/", "/acct//b", "//", "", "acct/c", "/acct/c/a b/%2F/日本", `/acct/c\\b\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		account, container, name, ok := splitPath(p)
		if !ok {
			return
		}
		if account == "" || strings.Contains(account, "/") || strings.Contains(container, "/") {
			t.Fatalf("%q -> %q %q %q", p, account, container, name)
		}
		if container == "" && name != "" {
			t.Fatalf("%q: blob without container", p)
		}
		// Nothing is lost: the parts rebuild the path, its backslashes read as slashes.
		q := strings.ReplaceAll(p, `\`, "/")
		rebuilt := "/" + account
		if container != "" || strings.HasPrefix(q[len(rebuilt):], "/") {
			rebuilt += "/" + container
		}
		if name != "" || strings.HasPrefix(q[len(rebuilt):], "/") {
			rebuilt += "/" + name
		}
		if want := strings.ReplaceAll(p, `\`, "/"); rebuilt != want {
			t.Fatalf("%q -> %q %q %q rebuilds %q", p, account, container, name, rebuilt)
		}
	})
}

// FuzzParseBatch: any body is taken apart or refused with an Azure error, never a crash,
// and what is taken apart stays within the batch's limits and its account.
func FuzzParseBatch(f *testing.F) {
	const b = "batch_x"
	part := func(cid, sub string) string {
		return "--" + b + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " + cid + "\r\n\r\n" + sub + "\r\n"
	}
	end := "--" + b + "--\r\n"
	for _, s := range []string{
		part("0", "DELETE /acct/c/b HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n") + end,
		part("0", "DELETE /acct/c/b HTTP/1.1\r\n\r\n") + part("1", "DELETE /acct/c/d%20e HTTP/1.1\r\nIf-Match: \"x\"\r\n\r\n") + end,
		part("0", "PUT /acct/c/b?comp=tier HTTP/1.1\r\nx-ms-access-tier: Cool\r\n\r\n") + end,
		part("0", "DELETE /acct/c/b HTTP/1.1\r\n") + end,
		part("7", "GET /acct/c/b HTTP/1.1\r\n\r\n") + end,
		part("0", "DELETE /other/c/b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc") + end,
		"--" + b + "\r\nContent-Type: application/http\r\n\r\nDELETE / HTTP/1.1\r\n\r\n" + end,
		end, "", "--" + b,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "c")
	}
	f.Fuzz(func(t *testing.T, body []byte, container string) {
		subs, err := parseBatch(body, b, "acct", container)
		if err != nil {
			if ae := (*apiError)(nil); !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(subs) == 0 || len(subs) > maxBatchRequests {
			t.Fatalf("%d sub-requests", len(subs))
		}
		for _, s := range subs {
			if !validContentID(s.contentID) || s.req.ContentLength > 0 {
				t.Fatalf("sub-request %q %+v", s.contentID, s.req)
			}
			acct, c, _, ok := splitPath(s.req.URL.Path)
			if !ok || !strings.EqualFold(acct, "acct") || (container != "" && c != container && !(c != "" && container == "$root")) {
				t.Fatalf("sub-request path %q escapes the batch", s.req.URL.Path)
			}
		}
	})
}

func FuzzPageHeaders(f *testing.F) {
	for _, s := range []string{"bytes=0-511", "bytes=512-", "bytes=1-512", "512", "1024", "-512", "9999999999999999999", "0x200", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{}
		h.Set("x-ms-range", s)
		if rg, err := pageRange(h); err == nil && (rg.Start < 0 || rg.End < 0) {
			t.Fatalf("page range %q parsed to %+v", s, rg)
		}
		if n, err := pageBlobSize(s); err == nil && (n < 0 || n%blob.PageSize != 0 || n > blob.MaxPageBlobSize) {
			t.Fatalf("page blob size %q parsed to %d", s, n)
		}
		h.Set("x-ms-blob-condition-appendpos", s)
		if p, err := intHeader(h, "x-ms-blob-condition-appendpos"); err == nil && p != nil && *p < 0 {
			t.Fatalf("%q parsed to %d", s, *p)
		}
	})
}

// FuzzBatchBoundary: any Content-Type gives a boundary or Azure's 400 (for the request or
// for the batch's single part), and one that
// mime.ParseMediaType reads gives the boundary it reads.
func FuzzBatchBoundary(f *testing.F) {
	for _, s := range []string{
		"multipart/mixed; boundary=batch_1", `multipart/mixed; boundary="a b"`, "multipart/mixed; boundary===============5350051331357032302==",
		"multipart/mixed; boundary=a; boundary=b", "multipart/mixed; boundary=", "multipart/mixed", "text/plain; boundary=x", "; =", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contentType string) {
		b, framingErr, err := batchBoundary(contentType)
		for _, err := range []error{err, framingErr} {
			if err == nil {
				continue
			}
			if ae := (*apiError)(nil); !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if b == "" {
			t.Fatalf("%q: empty boundary", contentType)
		}
		if mt, params, err := mime.ParseMediaType(contentType); err == nil && mt == "multipart/mixed" && params["boundary"] != b {
			t.Fatalf("%q: boundary %q, mime reads %q", contentType, b, params["boundary"])
		}
	})
}
