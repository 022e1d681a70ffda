package blob_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func TestCopyBlob(t *testing.T) {
	s, dir := newService(t)
	ctx := t.Context()
	src, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key("src"), Body: strings.NewReader("hello copy"), Size: 10,
		Headers: blob.HTTPHeaders{ContentType: "text/plain"}, Metadata: blob.Metadata{"m": "1"}, Tags: blob.Tags{"t": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	files := contentFiles(t, dir)
	info := &blob.CopyInfo{ID: "id-1", Source: "https://127.0.0.1/acct/ctr/src"}
	p, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("src"), Dest: key("dst"), KeepTags: true, Copy: info})
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != "text/plain" || p.Metadata["m"] != "1" || p.Tags["t"] != "1" || p.Size != 10 ||
		!bytes.Equal(p.ContentMD5, src.ContentMD5) || p.ETag == src.ETag {
		t.Fatalf("copied properties %+v", p)
	}
	if c := p.Copy; c == nil || c.ID != "id-1" || c.Status != blob.CopyStatusSuccess || c.Progress != "10/10" || c.CompletionTime.IsZero() {
		t.Fatalf("copy info %+v", p.Copy)
	}
	if data, _ := read(t, s, "dst", nil); string(data) != "hello copy" {
		t.Fatalf("copied %q", data)
	}
	// The copy has content of its own: deleting the source leaves it whole. A source this
	// small keeps its bytes in its record, and so does the copy: no file is made.
	if got := contentFiles(t, dir); got != files {
		t.Fatalf("content files %d, want %d", got, files)
	}
	if err := s.DeleteBlob(ctx, key("src"), blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := read(t, s, "dst", nil); string(data) != "hello copy" {
		t.Fatalf("after source delete %q", data)
	}
	// Set Blob Properties drops the copy properties.
	if p, err := s.SetBlobHTTPHeaders(ctx, key("dst"), blob.HTTPHeaders{}, blob.Conditions{}); err != nil || p.Copy != nil {
		t.Fatalf("set properties: %+v %v", p.Copy, err)
	}
	// Metadata and tags given replace the source's; without KeepTags none are copied.
	putBlob(t, s, "src", []byte("again"))
	p, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("src"), Dest: key("dst"), Metadata: blob.Metadata{"n": "2"}})
	if err != nil || p.Metadata["n"] != "2" || len(p.Metadata) != 1 || p.Tags != nil || p.Copy != nil {
		t.Fatalf("copy with metadata: %+v %v", p, err)
	}
}

func TestCopyBlobTypesAndErrors(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	// A page blob keeps its layout: pages written, zeros between.
	if _, err := s.CreatePageBlob(ctx, blob.CreateBlobInput{Key: key("pages"), Size: 2048}); err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte{7}, 512)
	if _, err := s.PutPages(ctx, blob.PutPagesInput{Key: key("pages"), Start: 1024, End: 1535, Body: bytes.NewReader(page)}); err != nil {
		t.Fatal(err)
	}
	p, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("pages"), Dest: key("pages2")})
	if err != nil || p.BlobType != blob.BlobTypePage || p.Size != 2048 {
		t.Fatalf("page copy %+v %v", p, err)
	}
	want := append(make([]byte, 1024), page...)
	want = append(want, make([]byte, 512)...)
	if data, _ := read(t, s, "pages2", nil); !bytes.Equal(data, want) {
		t.Fatal("page blob copied wrong")
	}
	_, ranges, err := s.GetPageRanges(ctx, key("pages2"), nil, blob.Conditions{})
	if err != nil || len(ranges) != 1 {
		t.Fatalf("page ranges %+v %v", ranges, err)
	}
	// An append blob stays one.
	createAppend(t, s, "log")
	if _, err := appendBlock(s, "log", "a line", blob.AppendConditions{}); err != nil {
		t.Fatal(err)
	}
	p, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("log2")})
	if err != nil || p.BlobType != blob.BlobTypeAppend || p.CommittedBlockCount != 1 {
		t.Fatalf("append copy %+v %v", p, err)
	}
	// An existing destination must be of the source's type.
	putBlob(t, s, "block", []byte("b"))
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("block")})
	wantCode(t, err, blob.CodeInvalidBlobType)
	// A synchronous copy takes block blobs only: Azure's CannotVerifyCopySource, a conflict.
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("x"), BlockBlob: true})
	wantCode(t, err, blob.CodeCannotVerifyCopySource)
	if lanyard.KindOf(err) != lanyard.KindConflict {
		t.Fatalf("synchronous copy of an append blob: %v is not a conflict", err)
	}
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("missing"), Dest: key("x")})
	wantCode(t, err, blob.CodeCannotVerifyCopySource)
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("x"),
		SourceConditions: blob.Conditions{IfMatch: []string{"0x1"}}})
	wantCode(t, err, blob.CodeSourceConditionNotMet)
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("log2"),
		Conditions: blob.Conditions{IfNoneMatch: []string{"*"}}})
	wantCode(t, err, blob.CodeBlobAlreadyExists)
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("log2"),
		Conditions: blob.Conditions{IfMatch: []string{"0x1"}}})
	wantCode(t, err, blob.CodeConditionNotMet)
	_, err = s.CopyBlob(ctx, blob.CopyBlobInput{Source: key("log"), Dest: key("x"), MaxSize: 3})
	wantCode(t, err, blob.CodeRequestBodyTooLarge)
}
