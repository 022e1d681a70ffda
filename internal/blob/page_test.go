package blob_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

var contextBG = context.Background()

func createPage(t *testing.T, s *blob.Service, name string, size, seq int64) blob.BlobProperties {
	t.Helper()
	p, err := s.CreatePageBlob(t.Context(), blob.CreateBlobInput{Key: key(name), Size: size, SequenceNumber: seq})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func putPages(s *blob.Service, name string, start int64, data []byte, seq blob.SequenceConditions) (blob.PutPagesResult, error) {
	return s.PutPages(contextBG, blob.PutPagesInput{Key: key(name), Start: start, End: start + int64(len(data)) - 1,
		Body: bytes.NewReader(data), Sequence: seq})
}

func clearPages(s *blob.Service, name string, start, end int64) error {
	_, err := s.PutPages(contextBG, blob.PutPagesInput{Key: key(name), Start: start, End: end, Clear: true})
	return err
}

func pages(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n*blob.PageSize) }

func pageRanges(t *testing.T, s *blob.Service, name string, rg *blob.Range) []blob.PageRange {
	t.Helper()
	_, rs, err := s.GetPageRanges(t.Context(), key(name), rg, blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPageBlob(t *testing.T) {
	s, dir := newService(t)
	p := createPage(t, s, "disk", 8*blob.PageSize, 5)
	if p.BlobType != blob.BlobTypePage || p.Size != 8*blob.PageSize || p.SequenceNumber != 5 {
		t.Fatalf("created %+v", p)
	}
	// Unwritten pages read as zeros.
	if data, _ := read(t, s, "disk", nil); !bytes.Equal(data, make([]byte, 8*blob.PageSize)) {
		t.Fatal("a new page blob does not read as zeros")
	}
	if _, err := putPages(s, "disk", 512, pages('a', 4), blob.SequenceConditions{}); err != nil {
		t.Fatal(err)
	}
	// Overwrite the middle of the first write: the old extent is cut in two.
	if _, err := putPages(s, "disk", 1024, pages('b', 1), blob.SequenceConditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := putPages(s, "disk", 7*512, pages('c', 1), blob.SequenceConditions{}); err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append(pages(0, 1), pages('a', 1)...), pages('b', 1)...), pages('a', 2)...), append(pages(0, 2), pages('c', 1)...)...)
	data, _ := read(t, s, "disk", nil)
	if !bytes.Equal(data, want) {
		t.Fatal("page contents differ after overlapping writes")
	}
	if data, _ := read(t, s, "disk", &blob.Range{Start: 1000, End: 1100}); !bytes.Equal(data, want[1000:1101]) {
		t.Fatal("ranged read across extents differs")
	}
	// One range per write, cut where a later write overlaps it; touching ranges stay apart.
	if got := pageRanges(t, s, "disk", nil); !reflect.DeepEqual(got, []blob.PageRange{{512, 1023}, {1024, 1535}, {1536, 5*512 - 1}, {7 * 512, 8*512 - 1}}) {
		t.Fatalf("page ranges %v", got)
	}
	if got := pageRanges(t, s, "disk", &blob.Range{Start: 1024, End: 2047}); !reflect.DeepEqual(got, []blob.PageRange{{1024, 1535}, {1536, 2047}}) {
		t.Fatalf("page ranges in a range %v", got)
	}
	// Clear the middle: those pages are zeros again and no longer listed.
	if err := clearPages(s, "disk", 1024, 2047); err != nil {
		t.Fatal(err)
	}
	copy(want[1024:2048], make([]byte, 1024))
	if data, _ := read(t, s, "disk", nil); !bytes.Equal(data, want) {
		t.Fatal("cleared pages do not read as zeros")
	}
	if got := pageRanges(t, s, "disk", nil); !reflect.DeepEqual(got, []blob.PageRange{{512, 1023}, {2048, 5*512 - 1}, {7 * 512, 8*512 - 1}}) {
		t.Fatalf("page ranges after clear %v", got)
	}
	// Shrink past the last write, then grow: the cut pages are gone.
	if _, err := s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{Size: ptr(4 * 512)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{Size: ptr(8 * 512)}); err != nil {
		t.Fatal(err)
	}
	copy(want[4*512:], make([]byte, 4*512))
	if data, _ := read(t, s, "disk", nil); !bytes.Equal(data, want) {
		t.Fatal("resized blob differs")
	}
	// Content no extent references any more is freed: the 'c' write was dropped by the
	// resize; the 'a' write is still partly referenced, the 'b' write was cleared.
	if n := contentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files, want 1", n)
	}
}

func TestPageBlobErrors(t *testing.T) {
	s, _ := newService(t)
	_, err := s.CreatePageBlob(t.Context(), blob.CreateBlobInput{Key: key("odd"), Size: 1000})
	wantCode(t, err, blob.CodeInvalidHeaderValue)
	createPage(t, s, "disk", 4*blob.PageSize, 0)
	for _, rg := range [][2]int64{{1, 512}, {0, 510}, {512, 511}, {4 * 512, 5*512 - 1}, {3 * 512, 5*512 - 1}} {
		_, err := s.PutPages(t.Context(), blob.PutPagesInput{Key: key("disk"), Start: rg[0], End: rg[1], Clear: true})
		wantCode(t, err, blob.CodeInvalidPageRange)
	}
	big := blob.MaxPageWrite + blob.PageSize
	_, err = s.PutPages(t.Context(), blob.PutPagesInput{Key: key("disk"), Start: 0, End: int64(big) - 1, Body: bytes.NewReader(nil)})
	wantCode(t, err, blob.CodeRequestBodyTooLarge)
	putBlob(t, s, "block", []byte("x"))
	_, err = putPages(s, "block", 0, pages('a', 1), blob.SequenceConditions{})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, _, err = s.GetPageRanges(t.Context(), key("block"), nil, blob.Conditions{})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = s.UpdatePageBlob(t.Context(), key("block"), blob.PageBlobUpdate{Size: ptr(512)})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = appendBlock(s, "disk", "x", blob.AppendConditions{})
	wantCode(t, err, blob.CodeInvalidBlobType)
	_, err = s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{Size: ptr(100)})
	wantCode(t, err, blob.CodeInvalidHeaderValue)
}

func TestPageBlobSequenceNumbers(t *testing.T) {
	s, _ := newService(t)
	createPage(t, s, "disk", 4*blob.PageSize, 10)
	seq := func(action string, n int64) int64 {
		t.Helper()
		p, err := s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{SequenceAction: action, SequenceNumber: n})
		if err != nil {
			t.Fatal(err)
		}
		return p.SequenceNumber
	}
	if got := seq(blob.SequenceMax, 7); got != 10 {
		t.Fatalf("max(10, 7) = %d", got)
	}
	if got := seq(blob.SequenceMax, 12); got != 12 {
		t.Fatalf("max(10, 12) = %d", got)
	}
	if got := seq(blob.SequenceUpdate, 3); got != 3 {
		t.Fatalf("update 3 = %d", got)
	}
	if got := seq(blob.SequenceIncrement, 0); got != 4 {
		t.Fatalf("increment = %d", got)
	}
	for _, c := range []blob.SequenceConditions{{LE: ptr(3)}, {LT: ptr(4)}, {EQ: ptr(5)}} {
		_, err := putPages(s, "disk", 0, pages('a', 1), c)
		wantCode(t, err, blob.CodeSequenceNumberConditionNotMet)
	}
	for _, c := range []blob.SequenceConditions{{LE: ptr(4)}, {LT: ptr(5)}, {EQ: ptr(4)}} {
		if _, err := putPages(s, "disk", 0, pages('a', 1), c); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}
