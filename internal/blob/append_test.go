package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

func createAppend(t *testing.T, s *blob.Service, name string) blob.BlobProperties {
	t.Helper()
	p, err := s.CreateAppendBlob(t.Context(), blob.CreateBlobInput{Key: key(name), Headers: blob.HTTPHeaders{ContentType: "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func appendBlock(s *blob.Service, name, data string, ac blob.AppendConditions) (blob.AppendBlockResult, error) {
	return s.AppendBlock(context.Background(), blob.AppendBlockInput{Key: key(name), Body: strings.NewReader(data), Size: int64(len(data)), Append: ac})
}

func ptr(n int64) *int64 { return &n }

func TestAppendBlob(t *testing.T) {
	s, _ := newService(t)
	p := createAppend(t, s, "log")
	if p.BlobType != blob.BlobTypeAppend || p.Size != 0 || p.CommittedBlockCount != 0 {
		t.Fatalf("created %+v", p)
	}
	r1, err := appendBlock(s, "log", "hello ", blob.AppendConditions{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := appendBlock(s, "log", "world", blob.AppendConditions{AppendPosition: ptr(6), MaxSize: ptr(11)})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Offset != 0 || r2.Offset != 6 || r2.CommittedBlockCount != 2 || r2.Size != 11 || r2.ETag == r1.ETag {
		t.Fatalf("appends: %+v, %+v", r1, r2)
	}
	if data, r := read(t, s, "log", nil); string(data) != "hello world" || r.Properties.CommittedBlockCount != 2 ||
		r.Properties.ContentType != "text/plain" {
		t.Fatalf("read %q %+v", data, r.Properties)
	}
	_, err = appendBlock(s, "log", "!", blob.AppendConditions{AppendPosition: ptr(6)})
	wantCode(t, err, blob.CodeAppendPositionConditionNotMet)
	_, err = appendBlock(s, "log", "!", blob.AppendConditions{MaxSize: ptr(11)})
	wantCode(t, err, blob.CodeMaxBlobSizeConditionNotMet)
	_, err = appendBlock(s, "log", "", blob.AppendConditions{})
	wantCode(t, err, blob.CodeInvalidHeaderValue)
	_, err = s.AppendBlock(t.Context(), blob.AppendBlockInput{Key: key("log"), Body: strings.NewReader(""), Size: blob.MaxAppendBlockSize + 1})
	wantCode(t, err, blob.CodeRequestBodyTooLarge)
	_, err = s.AppendBlock(t.Context(), blob.AppendBlockInput{Key: key("log"), Body: strings.NewReader("x"), Size: 1,
		Conditions: blob.Conditions{IfMatch: []string{"0x1"}}})
	wantCode(t, err, blob.CodeConditionNotMet)
	_, err = appendBlock(s, "missing", "x", blob.AppendConditions{})
	wantCode(t, err, blob.CodeBlobNotFound)

	// Wrong types, both ways.
	putBlob(t, s, "block", []byte("b"))
	_, err = appendBlock(s, "block", "x", blob.AppendConditions{})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = s.PutBlock(t.Context(), key("log"), blockID(1), strings.NewReader("x"), 1, nil, nil)
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = s.PutBlockList(t.Context(), blob.PutBlockListInput{Key: key("log")})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = s.SealAppendBlob(t.Context(), key("block"), blob.Conditions{}, nil)
	wantCode(t, err, blob.CodeInvalidBlobType)

	// Seal.
	_, err = s.SealAppendBlob(t.Context(), key("log"), blob.Conditions{}, ptr(3))
	wantCode(t, err, blob.CodeAppendPositionConditionNotMet)
	sp, err := s.SealAppendBlob(t.Context(), key("log"), blob.Conditions{}, ptr(11))
	if err != nil || !sp.Sealed {
		t.Fatalf("seal: %+v %v", sp, err)
	}
	if _, err := s.SealAppendBlob(t.Context(), key("log"), blob.Conditions{}, nil); err != nil {
		t.Fatalf("sealing again: %v", err)
	}
	_, err = appendBlock(s, "log", "x", blob.AppendConditions{})
	wantCode(t, err, blob.CodeBlobIsSealed)
	if p, err := s.GetBlobProperties(t.Context(), key("log"), blob.Conditions{}); err != nil || !p.Sealed || p.Size != 11 {
		t.Fatalf("sealed properties %+v %v", p, err)
	}
	// Put Blob replaces an append blob, sealed or not, with a block blob.
	putBlob(t, s, "log", []byte("new"))
	if p, _ := s.GetBlobProperties(t.Context(), key("log"), blob.Conditions{}); p.BlobType != blob.BlobTypeBlock || p.Sealed {
		t.Fatalf("replaced: %+v", p)
	}
}

// Concurrent appenders each get their own offset; the blob holds every block once.
func TestAppendConcurrent(t *testing.T) {
	s, _ := newService(t)
	createAppend(t, s, "log")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	offsets := make(chan int64, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r, err := appendBlock(s, "log", fmt.Sprintf("<%d.%02d>", w, i), blob.AppendConditions{})
				if err != nil {
					t.Error(err)
					return
				}
				offsets <- r.Offset
			}
		}()
	}
	wg.Wait()
	close(offsets)
	seen := map[int64]bool{}
	for o := range offsets {
		if seen[o] {
			t.Fatalf("offset %d handed out twice", o)
		}
		seen[o] = true
	}
	data, r := read(t, s, "log", nil)
	if r.Properties.CommittedBlockCount != writers*each {
		t.Fatalf("%d blocks", r.Properties.CommittedBlockCount)
	}
	for w := range writers {
		for i := range each {
			if n := bytes.Count(data, fmt.Appendf(nil, "<%d.%02d>", w, i)); n != 1 {
				t.Fatalf("block %d.%d present %d times", w, i, n)
			}
		}
	}
}

// The 50,001st block is refused. The blob of 50,000 blocks is written to the store
// directly: appending them one by one would take minutes.
func TestAppendBlockLimit(t *testing.T) {
	dir := t.TempDir()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := key("log")
	if err := meta.CreateContainer(t.Context(), blob.Container{Account: acct, Name: "ctr", ETag: "0x1"}); err != nil {
		t.Fatal(err)
	}
	full := &blob.BlobRecord{BlobProperties: blob.BlobProperties{Container: "ctr", Name: "log", ETag: "0x1", BlobType: blob.BlobTypeAppend},
		Extents: make([]blob.Extent, blob.MaxAppendBlocks)}
	if _, err := meta.UpdateBlob(t.Context(), k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: full}, nil
	}); err != nil {
		t.Fatal(err)
	}
	meta.Close()
	s := openService(t, dir, nil)
	defer s.Close()
	_, err = appendBlock(s, "log", "x", blob.AppendConditions{})
	wantCode(t, err, blob.CodeBlockCountExceeds)
}

// Concurrent appends are committed together, but each is checked on the state the one
// before it left: with a size limit, exactly as many succeed as fit.
func TestAppendConcurrentConditions(t *testing.T) {
	s, _ := newService(t)
	createAppend(t, s, "log")
	const writers, fit = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			_, err := appendBlock(s, "log", "x", blob.AppendConditions{MaxSize: ptr(fit)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case blob.CodeOf(err) != blob.CodeMaxBlobSizeConditionNotMet:
			t.Fatal(err)
		}
	}
	data, r := read(t, s, "log", nil)
	if ok != fit || string(data) != strings.Repeat("x", fit) || r.Properties.CommittedBlockCount != fit {
		t.Fatalf("%d appends succeeded, blob %q (%d blocks)", ok, data, r.Properties.CommittedBlockCount)
	}
}
