package blob_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const acct = "acct"

func openService(t testing.TB, dir string, now func() time.Time) *blob.Service {
	t.Helper()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := blob.Open(t.Context(), blob.Config{Meta: meta, Content: content, Now: now, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newService(t testing.TB) (*blob.Service, string) {
	dir := t.TempDir()
	s := openService(t, dir, nil)
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateContainer(t.Context(), acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func key(name string) blob.BlobKey { return blob.BlobKey{Account: acct, Container: "ctr", Name: name} }

func putBlob(t *testing.T, s *blob.Service, name string, data []byte) blob.PutBlobResult {
	t.Helper()
	res, err := s.PutBlob(t.Context(), blob.PutBlobInput{Key: key(name), Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func read(t *testing.T, s *blob.Service, name string, rg *blob.Range) ([]byte, *blob.BlobReader) {
	t.Helper()
	r, err := s.GetBlob(t.Context(), key(name), blob.GetBlobOptions{Range: rg})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data, r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := lanyard.CodeOf(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

// contentFiles counts the non-empty files in the content store. Empty ones are the
// content store's pre-created files (no content written here is empty: empty blobs
// and blocks have no file).
func contentFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Size() > 0 {
			n++
		}
		return nil
	})
	return n
}

func blockID(i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%04d", i))
}

func TestPutGetBlob(t *testing.T) {
	s, dir := newService(t)
	// Larger than what Put Blob keeps inline, so that it has a content file to release.
	data := bytes.Repeat([]byte("hello, world"), blob.InlineMax/8)
	sum := md5.Sum(data)
	res, err := s.PutBlob(t.Context(), blob.PutBlobInput{
		Key: key("dir/a b"), Body: bytes.NewReader(data), Size: int64(len(data)),
		Headers:    blob.HTTPHeaders{ContentType: "text/plain"},
		Metadata:   blob.Metadata{"Key": "v"},
		ContentMD5: sum[:], ContentCRC64: blob.CRC64Bytes(blob.CRC64(data)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.ContentMD5, sum[:]) || res.Size != int64(len(data)) || res.ETag == "" || res.BlobType != "BlockBlob" {
		t.Fatalf("PutBlob result %+v", res)
	}
	got, r := read(t, s, "dir/a b", nil)
	if !bytes.Equal(got, data) || r.Partial || r.Properties.Metadata["key"] != "v" || r.Properties.ContentType != "text/plain" {
		t.Fatalf("read %q, props %+v", got, r.Properties)
	}
	props, err := s.GetBlobProperties(t.Context(), key("dir/a b"), blob.Conditions{})
	if err != nil || props.ETag != res.ETag {
		t.Fatalf("props %+v, %v", props, err)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files, want 1", n)
	}
	// Overwrite: new ETag, old content released, creation time kept.
	time.Sleep(2 * time.Millisecond)
	res2 := putBlob(t, s, "dir/a b", bytes.Repeat([]byte("second"), blob.InlineMax/4))
	if res2.ETag == res.ETag || !res2.CreatedAt.Equal(res.CreatedAt) {
		t.Fatalf("overwrite: etag %s -> %s, created %v -> %v", res.ETag, res2.ETag, res.CreatedAt, res2.CreatedAt)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after overwrite, want 1", n)
	}
	// Empty blob: no content file.
	putBlob(t, s, "empty", nil)
	if got, _ := read(t, s, "empty", nil); len(got) != 0 {
		t.Fatalf("empty blob read %q", got)
	}
	if err := s.DeleteBlob(t.Context(), key("dir/a b"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after delete, want 0", n)
	}
	_, err = s.GetBlob(t.Context(), key("dir/a b"), blob.GetBlobOptions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	wantCode(t, s.DeleteBlob(t.Context(), key("dir/a b"), blob.Conditions{}), blob.CodeBlobNotFound)
}

func TestPutBlobErrors(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	data := []byte("data")
	cases := []struct {
		name string
		in   blob.PutBlobInput
		code string
	}{
		{"md5", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: 4, ContentMD5: make([]byte, 16)}, blob.CodeMd5Mismatch},
		{"crc64", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: 4, ContentCRC64: make([]byte, 8)}, blob.CodeCrc64Mismatch},
		{"short body", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: 10}, blob.CodeIncompleteBody},
		{"too large", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: blob.MaxPutBlobSize + 1}, blob.CodeRequestBodyTooLarge},
		{"no container", blob.PutBlobInput{Key: blob.BlobKey{Account: acct, Container: "nope", Name: "b"}, Body: bytes.NewReader(data), Size: 4}, blob.CodeContainerNotFound},
		{"long name", blob.PutBlobInput{Key: key(strings.Repeat("x", 1025)), Body: bytes.NewReader(data), Size: 4}, blob.CodeOutOfRangeInput},
		{"control char", blob.PutBlobInput{Key: key("a\x01b"), Body: bytes.NewReader(data), Size: 4}, blob.CodeInvalidResourceName},
		{"bad metadata", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: 4, Metadata: blob.Metadata{"1bad": "v"}}, blob.CodeInvalidMetadata},
		{"big metadata", blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(data), Size: 4, Metadata: blob.Metadata{"k": strings.Repeat("v", 8192)}}, blob.CodeMetadataTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.PutBlob(ctx, c.in)
			wantCode(t, err, c.code)
		})
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("failed uploads left %d content files", n)
	}
	// A 1024-character unicode name is fine.
	putBlob(t, s, strings.Repeat("é", 1024), data)
}

func TestRanges(t *testing.T) {
	s, _ := newService(t)
	data := []byte("0123456789")
	putBlob(t, s, "b", data)
	cases := []struct {
		rg   blob.Range
		want string
	}{
		{blob.Range{Start: 0, End: 3}, "0123"},
		{blob.Range{Start: 5, End: -1}, "56789"},
		{blob.Range{Start: 8, End: 100}, "89"},
		{blob.Range{Start: 9, End: 9}, "9"},
	}
	for _, c := range cases {
		got, r := read(t, s, "b", &c.rg)
		if string(got) != c.want || !r.Partial || r.Offset != c.rg.Start || r.Length != int64(len(c.want)) {
			t.Errorf("range %+v: %q (offset %d length %d), want %q", c.rg, got, r.Offset, r.Length, c.want)
		}
	}
	for _, rg := range []blob.Range{{Start: 10, End: -1}, {Start: 11, End: 20}, {Start: 5, End: 4}} {
		_, err := s.GetBlob(t.Context(), key("b"), blob.GetBlobOptions{Range: &rg})
		wantCode(t, err, blob.CodeInvalidRange)
	}
	putBlob(t, s, "empty", nil)
	_, err := s.GetBlob(t.Context(), key("empty"), blob.GetBlobOptions{Range: &blob.Range{Start: 0, End: -1}})
	wantCode(t, err, blob.CodeInvalidRange)
}

func TestBlockListAcrossExtents(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	var want []byte
	var items []blob.BlockListItem
	for i := range 5 {
		part := bytes.Repeat([]byte{byte('a' + i)}, 100+i)
		want = append(want, part...)
		if _, err := s.PutBlock(ctx, key("b"), blockID(i), bytes.NewReader(part), int64(len(part)), nil, nil); err != nil {
			t.Fatal(err)
		}
		items = append(items, blob.BlockListItem{ID: blockID(i), Kind: blob.BlockLatest})
	}
	// Not visible before commit.
	_, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	wantCode(t, err, blob.CodeBlobNotFound)
	bl, err := s.GetBlockList(ctx, key("b"), blob.ListAll)
	if err != nil || bl.Blob != nil || len(bl.Uncommitted) != 5 || len(bl.Committed) != 0 {
		t.Fatalf("block list before commit: %+v, %v", bl, err)
	}
	_, err = s.GetBlockList(ctx, key("b"), blob.ListCommitted)
	wantCode(t, err, blob.CodeBlobNotFound)

	props, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Blocks: items, Headers: blob.HTTPHeaders{ContentType: "x/y"}})
	if err != nil {
		t.Fatal(err)
	}
	if props.Size != int64(len(want)) || props.ContentType != "x/y" {
		t.Fatalf("committed %+v", props)
	}
	if n := contentFiles(t, dir); n != 5 {
		t.Fatalf("%d content files, want the 5 blocks (no copy)", n)
	}
	got, _ := read(t, s, "b", nil)
	if !bytes.Equal(got, want) {
		t.Fatal("content differs")
	}
	// Ranges across extent boundaries.
	for _, rg := range []blob.Range{{Start: 99, End: 101}, {Start: 150, End: 350}, {Start: 0, End: -1}, {Start: 409, End: -1}} {
		got, _ := read(t, s, "b", &rg)
		end := rg.End + 1
		if rg.End < 0 || end > int64(len(want)) {
			end = int64(len(want))
		}
		if !bytes.Equal(got, want[rg.Start:end]) {
			t.Fatalf("range %+v differs", rg)
		}
	}
	// Seek works within the reader.
	r, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Seek(205, io.SeekStart)
	buf := make([]byte, 3)
	io.ReadFull(r, buf)
	r.Close()
	if !bytes.Equal(buf, want[205:208]) {
		t.Fatalf("after seek read %q", buf)
	}

	// Recommit: keep block 0 and 2 (committed), add a new one; the rest is released.
	if _, err := s.PutBlock(ctx, key("b"), blockID(9), strings.NewReader("new"), 3, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlock(ctx, key("b"), blockID(8), strings.NewReader("unused"), 6, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Blocks: []blob.BlockListItem{
		{ID: blockID(2), Kind: blob.BlockCommitted}, {ID: blockID(9), Kind: blob.BlockUncommitted}, {ID: blockID(0), Kind: blob.BlockLatest}, {ID: blockID(2), Kind: blob.BlockCommitted},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = read(t, s, "b", nil)
	exp := append(append(append(append([]byte{}, want[201:303]...), "new"...), want[:100]...), want[201:303]...)
	if !bytes.Equal(got, exp) {
		t.Fatalf("recommitted content differs: %q", got)
	}
	if n := contentFiles(t, dir); n != 3 {
		t.Fatalf("%d content files after recommit, want 3", n)
	}
	bl, err = s.GetBlockList(ctx, key("b"), blob.ListAll)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, b := range bl.Committed {
		ids = append(ids, b.ID)
	}
	if !reflect.DeepEqual(ids, []string{blockID(2), blockID(9), blockID(0), blockID(2)}) || len(bl.Uncommitted) != 0 {
		t.Fatalf("block list after recommit: %+v", bl)
	}

	// Errors.
	_, err = s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Blocks: []blob.BlockListItem{{ID: blockID(7)}}})
	wantCode(t, err, blob.CodeInvalidBlockList)
	_, err = s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Blocks: []blob.BlockListItem{{ID: blockID(2), Kind: blob.BlockUncommitted}}})
	wantCode(t, err, blob.CodeInvalidBlockList)
	_, err = s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Blocks: make([]blob.BlockListItem, blob.MaxCommittedBlocks+1)})
	wantCode(t, err, blob.CodeBlockListTooLong)
	_, err = s.PutBlock(ctx, key("b"), "not base64!", strings.NewReader("x"), 1, nil, nil)
	wantCode(t, err, blob.CodeInvalidBlockID)
	_, err = s.PutBlock(ctx, key("b"), base64.StdEncoding.EncodeToString(make([]byte, 65)), strings.NewReader("x"), 1, nil, nil)
	wantCode(t, err, blob.CodeInvalidBlockID)
	if _, err := s.PutBlock(ctx, key("b"), blockID(1), strings.NewReader("x"), 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutBlock(ctx, key("b"), base64.StdEncoding.EncodeToString([]byte("short")), strings.NewReader("x"), 1, nil, nil)
	wantCode(t, err, blob.CodeInvalidBlobOrBlock)
	_, err = s.PutBlock(ctx, key("b"), blockID(1), strings.NewReader("x"), 1, make([]byte, 16), nil)
	wantCode(t, err, blob.CodeMd5Mismatch)

	// An empty block list commits an empty blob, as JS uploadStream does.
	if _, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("empty")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, s, "empty", nil); len(got) != 0 {
		t.Fatal("empty block list is not empty")
	}
}

func TestConditions(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	res := putBlob(t, s, "b", []byte("x"))
	etag, quoted := res.ETag, `"`+res.ETag+`"`
	lm := res.LastModified.Truncate(time.Second)
	before, after := lm.Add(-time.Second), lm.Add(time.Second)

	reads := []struct {
		name string
		c    blob.Conditions
		want string // "" ok, ConditionNotMet, or 304
	}{
		{"if-match", blob.Conditions{IfMatch: []string{quoted}}, ""},
		{"if-match unquoted", blob.Conditions{IfMatch: []string{etag}}, ""},
		{"if-match star", blob.Conditions{IfMatch: []string{"*"}}, ""},
		{"if-match other", blob.Conditions{IfMatch: []string{`"0x1"`}}, "412"},
		{"if-match list", blob.Conditions{IfMatch: []string{`"0x1"`, quoted}}, ""},
		{"if-none-match", blob.Conditions{IfNoneMatch: []string{quoted}}, "304"},
		// Azure refuses a read that can only succeed on a blob that does not exist.
		{"if-none-match star", blob.Conditions{IfNoneMatch: []string{"*"}}, "400"},
		{"if-none-match other", blob.Conditions{IfNoneMatch: []string{`"0x1"`}}, ""},
		{"if-modified-since before", blob.Conditions{IfModifiedSince: before}, ""},
		{"if-modified-since same", blob.Conditions{IfModifiedSince: lm}, "304"},
		{"if-unmodified-since same", blob.Conditions{IfUnmodifiedSince: lm}, ""},
		{"if-unmodified-since before", blob.Conditions{IfUnmodifiedSince: before}, "412"},
		{"none-match fails, modified-since passes", blob.Conditions{IfNoneMatch: []string{quoted}, IfModifiedSince: before}, ""},
		{"both fail", blob.Conditions{IfNoneMatch: []string{quoted}, IfModifiedSince: after}, "304"},
		{"match fails first", blob.Conditions{IfMatch: []string{`"0x1"`}, IfNoneMatch: []string{quoted}}, "412"},
	}
	for _, c := range reads {
		_, err := s.GetBlobProperties(ctx, key("b"), c.c)
		got := ""
		switch {
		case err == nil:
		case blob.CodeOf(err) == blob.CodeUnsatisfiableCondition:
			got = "400"
		case errors.Is(err, blob.ErrNotModified):
			got = "304"
			wantCode(t, err, blob.CodeConditionNotMet)
		default:
			got = "412"
			wantCode(t, err, blob.CodeConditionNotMet)
		}
		if got != c.want {
			t.Errorf("read %s: got %q (%v), want %q", c.name, got, err, c.want)
		}
		r, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{Conditions: c.c})
		if (err == nil) != (c.want == "") {
			t.Errorf("GetBlob %s: err %v", c.name, err)
		}
		if r != nil {
			r.Close()
		}
	}

	put := func(name string, c blob.Conditions) error {
		_, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key(name), Body: strings.NewReader("y"), Size: 1, Conditions: c})
		return err
	}
	wantCode(t, put("b", blob.Conditions{IfNoneMatch: []string{"*"}}), blob.CodeBlobAlreadyExists)
	if err := put("new", blob.Conditions{IfNoneMatch: []string{"*"}}); err != nil {
		t.Fatalf("create-only of a new blob: %v", err)
	}
	wantCode(t, put("missing", blob.Conditions{IfMatch: []string{"*"}}), blob.CodeConditionNotMet)
	wantCode(t, put("b", blob.Conditions{IfMatch: []string{`"0x1"`}}), blob.CodeConditionNotMet)
	wantCode(t, put("b", blob.Conditions{IfUnmodifiedSince: before}), blob.CodeConditionNotMet)
	wantCode(t, put("b", blob.Conditions{IfModifiedSince: after}), blob.CodeConditionNotMet)
	if err := put("b", blob.Conditions{IfMatch: []string{quoted}}); err != nil {
		t.Fatal(err)
	}
	// The ETag changed; the old one no longer matches.
	_, err := s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"a": "b"}, blob.Conditions{IfMatch: []string{quoted}})
	wantCode(t, err, blob.CodeConditionNotMet)
	_, err = s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Conditions: blob.Conditions{IfNoneMatch: []string{"*"}}})
	wantCode(t, err, blob.CodeBlobAlreadyExists)
	wantCode(t, s.DeleteBlob(ctx, key("b"), blob.Conditions{IfMatch: []string{quoted}}), blob.CodeConditionNotMet)
}

func TestProperties(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	res, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key("b"), Body: strings.NewReader("x"), Size: 1,
		Headers: blob.HTTPHeaders{ContentType: "a/b", CacheControl: "no-cache"}, Metadata: blob.Metadata{"one": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"Two": "2"}, blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ETag == res.ETag || !reflect.DeepEqual(p.Metadata, blob.Metadata{"two": "2"}) || p.ContentType != "a/b" {
		t.Fatalf("after SetBlobMetadata: %+v", p)
	}
	p2, err := s.SetBlobHTTPHeaders(ctx, key("b"), blob.HTTPHeaders{ContentLanguage: "de"}, blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	if p2.ETag == p.ETag || p2.ContentType != "" || p2.CacheControl != "" || p2.ContentLanguage != "de" || p2.Metadata["two"] != "2" {
		t.Fatalf("after SetBlobHTTPHeaders: %+v", p2)
	}
	got, err := s.GetBlobProperties(ctx, key("b"), blob.Conditions{})
	if err != nil || got.ETag != p2.ETag {
		t.Fatalf("stable etag: %v / %v", got.ETag, p2.ETag)
	}
	if data, _ := read(t, s, "b", nil); string(data) != "x" {
		t.Fatal("property change altered content")
	}
	_, err = s.SetBlobMetadata(ctx, key("nope"), nil, blob.Conditions{})
	wantCode(t, err, blob.CodeBlobNotFound)
}

func TestContainers(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	_, err := s.CreateContainer(ctx, acct, "ctr", nil)
	wantCode(t, err, blob.CodeContainerAlreadyExists)
	for _, bad := range []string{"ab", "-abc", "abc-", "a--b", "ABC", "a_b", strings.Repeat("a", 64)} {
		if _, err := s.CreateContainer(ctx, acct, bad, nil); lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("container name %q: %v", bad, err)
		}
	}
	for _, good := range []string{"abc", "a-b-c", "0ab", strings.Repeat("a", 63), "$root"} {
		if _, err := s.CreateContainer(ctx, acct, good, nil); err != nil {
			t.Errorf("container name %q: %v", good, err)
		}
	}
	c, err := s.SetContainerMetadata(ctx, acct, "ctr", blob.Metadata{"X": "1"}, blob.Conditions{})
	if err != nil || c.Metadata["x"] != "1" {
		t.Fatalf("SetContainerMetadata: %+v, %v", c, err)
	}
	got, err := s.GetContainer(ctx, acct, "ctr")
	if err != nil || got.ETag != c.ETag {
		t.Fatalf("GetContainer: %+v, %v", got, err)
	}
	putBlob(t, s, "b1", []byte("1"))
	if _, err := s.PutBlock(ctx, key("b2"), blockID(1), strings.NewReader("2"), 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{IfUnmodifiedSince: c.LastModified.Add(-time.Hour)}); lanyard.CodeOf(err) != blob.CodeConditionNotMet {
		t.Fatalf("conditional delete: %v", err)
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after container delete", n)
	}
	_, err = s.GetContainer(ctx, acct, "ctr")
	wantCode(t, err, blob.CodeContainerNotFound)
	wantCode(t, s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}), blob.CodeContainerNotFound)
	_, err = s.PutBlob(ctx, blob.PutBlobInput{Key: key("b"), Body: strings.NewReader("x"), Size: 1})
	wantCode(t, err, blob.CodeContainerNotFound)

	// Paging.
	var all []string
	marker := ""
	for {
		res, err := s.ListContainers(ctx, acct, blob.ListContainersOptions{MaxResults: 2, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Containers {
			all = append(all, c.Name)
		}
		if res.NextMarker == "" {
			break
		}
		marker = res.NextMarker
	}
	want := []string{"$root", "0ab", "a-b-c", strings.Repeat("a", 63), "abc"}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("paged containers %v, want %v", all, want)
	}
	res, err := s.ListContainers(ctx, acct, blob.ListContainersOptions{Prefix: "a"})
	if err != nil || len(res.Containers) != 3 || res.NextMarker != "" {
		t.Fatalf("prefix listing: %+v, %v", res, err)
	}
	_, err = s.ListContainers(ctx, acct, blob.ListContainersOptions{Marker: "1!%%"})
	wantCode(t, err, blob.CodeInvalidQueryValue)
	// A plain name is a marker too: the listing goes on after it.
	res, err = s.ListContainers(ctx, acct, blob.ListContainersOptions{Marker: "a"})
	if err != nil || len(res.Containers) == 0 || res.Containers[0].Name <= "a" {
		t.Fatalf("listing after the plain marker a: %+v, %v", res, err)
	}
}

func TestListBlobsHierarchy(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	names := []string{"a", "a/b/c", "a/b/d", "a/c", "b/x", "b/y/z", "c", "d/", "d/e"}
	for _, n := range names {
		putBlob(t, s, n, []byte(n))
	}
	// Staged-only blobs are not listed.
	if _, err := s.PutBlock(ctx, key("a/staged"), blockID(1), strings.NewReader("x"), 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	list := func(opts blob.ListBlobsOptions) []string {
		t.Helper()
		var out []string
		for {
			res, err := s.ListBlobs(ctx, acct, "ctr", opts)
			if err != nil {
				t.Fatal(err)
			}
			if opts.MaxResults > 0 && len(res.Entries) > opts.MaxResults {
				t.Fatalf("page of %d > %d", len(res.Entries), opts.MaxResults)
			}
			for _, e := range res.Entries {
				if e.Prefix != "" {
					out = append(out, "P:"+e.Prefix)
				} else {
					out = append(out, e.Blob.Name)
				}
			}
			if res.NextMarker == "" {
				return out
			}
			opts.Marker = res.NextMarker
		}
	}
	cases := []struct {
		opts blob.ListBlobsOptions
		want []string
	}{
		{blob.ListBlobsOptions{}, names},
		{blob.ListBlobsOptions{MaxResults: 2}, names},
		{blob.ListBlobsOptions{Delimiter: "/"}, []string{"a", "P:a/", "P:b/", "c", "P:d/"}},
		{blob.ListBlobsOptions{Delimiter: "/", MaxResults: 1}, []string{"a", "P:a/", "P:b/", "c", "P:d/"}},
		{blob.ListBlobsOptions{Delimiter: "/", MaxResults: 2}, []string{"a", "P:a/", "P:b/", "c", "P:d/"}},
		{blob.ListBlobsOptions{Delimiter: "/", Prefix: "a/"}, []string{"P:a/b/", "a/c"}},
		{blob.ListBlobsOptions{Delimiter: "/", Prefix: "a/b/"}, []string{"a/b/c", "a/b/d"}},
		{blob.ListBlobsOptions{Delimiter: "/", Prefix: "d"}, []string{"P:d/"}},
		{blob.ListBlobsOptions{Delimiter: "/", Prefix: "d/"}, []string{"d/", "d/e"}},
		{blob.ListBlobsOptions{Prefix: "b"}, []string{"b/x", "b/y/z"}},
		{blob.ListBlobsOptions{Delimiter: "b"}, []string{"a", "P:a/b", "a/c", "P:b", "c", "d/", "d/e"}},
	}
	for _, c := range cases {
		if got := list(c.opts); !reflect.DeepEqual(got, c.want) {
			t.Errorf("list %+v = %v, want %v", c.opts, got, c.want)
		}
	}
	_, err := s.ListBlobs(ctx, acct, "nope", blob.ListBlobsOptions{})
	wantCode(t, err, blob.CodeContainerNotFound)
}

// TestListMarkersAreNames checks that a page's NextMarker is the last name it listed, as
// Azurite's are (clients written against it compare them), except where a name could not
// be read back: after a BlobPrefix, or for a name that looks like an encoded marker.
func TestListMarkersAreNames(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	for _, n := range []string{"1!x", "a", "d/e", "d/f", "z"} {
		putBlob(t, s, n, []byte(n))
	}
	var markers []string
	opts := blob.ListBlobsOptions{MaxResults: 1, Delimiter: "/"}
	for {
		res, err := s.ListBlobs(ctx, acct, "ctr", opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.NextMarker == "" {
			break
		}
		markers = append(markers, res.NextMarker)
		opts.Marker = res.NextMarker
	}
	if len(markers) != 3 || markers[1] != "a" || markers[0] == "1!x" || markers[2] == "d/" {
		t.Fatalf("markers %q: want an encoded one, then \"a\", then an encoded one", markers)
	}
	if _, err := s.CreateContainer(ctx, acct, "ctr2", nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.ListContainers(ctx, acct, blob.ListContainersOptions{MaxResults: 1})
	if err != nil || len(res.Containers) != 1 || res.NextMarker != res.Containers[0].Name {
		t.Fatalf("container page %+v, %v: want the last name as marker", res, err)
	}
}

// TestReaderSurvivesOverwrite checks that content a reader uses is deleted only after
// the reader closes.
func TestReaderSurvivesOverwrite(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	old := bytes.Repeat([]byte("old!"), 1<<16)
	putBlob(t, s, "b", old)
	r, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "b", bytes.Repeat([]byte("new!"), blob.InlineMax)) // a file, not inline
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	// Deletion is deferred for everything freed while an older reader runs (the
	// reclaimer does not track which reader uses which file), so both versions remain.
	if n := contentFiles(t, dir); n != 2 {
		t.Fatalf("%d content files while a reader holds the old version, want 2", n)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("reader of the replaced version: %d bytes, %v", len(got), err)
	}
	r.Close()
	if n := contentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after the reader closed, want 0", n)
	}
}

func TestExpireBlocksAndRecovery(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	clock := func() time.Time { return now }
	s := openService(t, dir, clock)
	ctx := t.Context()
	if _, err := s.CreateContainer(ctx, acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlock(ctx, key("b"), blockID(1), strings.NewReader("staged"), 6, nil, nil); err != nil {
		t.Fatal(err)
	}
	kept := bytes.Repeat([]byte("kept"), blob.InlineMax) // a file, not inline
	putBlob(t, s, "kept", kept)
	if n := contentFiles(t, dir); n != 2 {
		t.Fatalf("%d content files", n)
	}
	now = now.Add(blob.UncommittedBlockTTL + time.Minute)
	if err := s.CollectGarbage(ctx); err != nil {
		t.Fatal(err)
	}
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after expiry, want 1", n)
	}
	_, err := s.GetBlockList(ctx, key("b"), blob.ListAll)
	wantCode(t, err, blob.CodeBlobNotFound)
	s.Close()

	// Orphans (an upload a crash interrupted) are removed on open.
	orphan := filepath.Join(dir, "data", "ab", "ab000000000000000000000000000000")
	os.WriteFile(orphan, []byte("junk"), 0o640)
	os.WriteFile(filepath.Join(dir, "data", "ab", "stray.tmp"), []byte("junk"), 0o640)
	s = openService(t, dir, clock)
	defer s.Close()
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after recovery, want 1", n)
	}
	if got, _ := read(t, s, "kept", nil); !bytes.Equal(got, kept) {
		t.Fatalf("kept blob reads %d bytes", len(got))
	}
}
