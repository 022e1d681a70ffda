package blob_test

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func snapshot(t *testing.T, s *blob.Service, name string) string {
	t.Helper()
	id, _, err := s.SnapshotBlob(t.Context(), key(name), blob.SnapshotBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func pageDiff(t *testing.T, s *blob.Service, name, snap, prev string, rg *blob.Range) blob.PageDiff {
	t.Helper()
	_, d, err := s.GetPageRangesDiff(t.Context(), key(name), snap, prev, rg, blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pr is the page range of pages [first, first+n).
func pr(first, n int64) blob.PageRange {
	return blob.PageRange{Start: first * blob.PageSize, End: (first+n)*blob.PageSize - 1}
}

func wantDiff(t *testing.T, got blob.PageDiff, changed, cleared []blob.PageRange) {
	t.Helper()
	if changed == nil {
		changed = []blob.PageRange{}
	}
	if cleared == nil {
		cleared = []blob.PageRange{}
	}
	if !reflect.DeepEqual(got.Changed, changed) || !reflect.DeepEqual(got.Cleared, cleared) {
		t.Fatalf("diff changed %v cleared %v, want changed %v cleared %v", got.Changed, got.Cleared, changed, cleared)
	}
}

func TestPageRangesDiff(t *testing.T) {
	s, _ := newService(t)
	createPage(t, s, "disk", 16*blob.PageSize, 0)
	mustPut := func(first int64, b byte, n int) {
		t.Helper()
		if _, err := putPages(s, "disk", first*blob.PageSize, pages(b, n), blob.SequenceConditions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustClear := func(first, n int64) {
		t.Helper()
		if err := clearPages(s, "disk", first*blob.PageSize, (first+n)*blob.PageSize-1); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(0, 'a', 4)
	mustPut(8, 'b', 2)
	snap1 := snapshot(t, s, "disk")
	wantDiff(t, pageDiff(t, s, "disk", "", snap1, nil), nil, nil)

	mustPut(1, 'c', 1) // inside the first write: only that page changed
	mustClear(8, 1)    // had data: cleared
	mustPut(12, 'd', 1)
	mustClear(14, 1) // had none: no change
	snap2 := snapshot(t, s, "disk")
	mustPut(2, 'e', 1)

	wantDiff(t, pageDiff(t, s, "disk", "", snap1, nil), []blob.PageRange{pr(1, 2), pr(12, 1)}, []blob.PageRange{pr(8, 1)})
	wantDiff(t, pageDiff(t, s, "disk", snap2, snap1, nil), []blob.PageRange{pr(1, 1), pr(12, 1)}, []blob.PageRange{pr(8, 1)})
	wantDiff(t, pageDiff(t, s, "disk", "", snap2, nil), []blob.PageRange{pr(2, 1)}, nil)
	wantDiff(t, pageDiff(t, s, "disk", snap1, snap1, nil), nil, nil)
	// x-ms-range cuts the answer, to the byte.
	wantDiff(t, pageDiff(t, s, "disk", "", snap1, &blob.Range{Start: 2 * blob.PageSize, End: 8*blob.PageSize + 99}),
		[]blob.PageRange{pr(2, 1)}, []blob.PageRange{{Start: 8 * blob.PageSize, End: 8*blob.PageSize + 99}})

	// A page written again with the bytes it had is still a write since the snapshot.
	mustPut(0, 'a', 1)
	wantDiff(t, pageDiff(t, s, "disk", "", snap2, nil), []blob.PageRange{pr(0, 1), pr(2, 1)}, nil)

	// Shrinking drops pages: those that had data at the snapshot are cleared, and the
	// answer stops at the blob's end.
	size := int64(9 * blob.PageSize)
	if _, err := s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{Size: &size}); err != nil {
		t.Fatal(err)
	}
	wantDiff(t, pageDiff(t, s, "disk", "", snap1, nil), []blob.PageRange{pr(0, 3)}, []blob.PageRange{pr(8, 1)})
	size = 16 * blob.PageSize
	if _, err := s.UpdatePageBlob(t.Context(), key("disk"), blob.PageBlobUpdate{Size: &size}); err != nil {
		t.Fatal(err)
	}
	wantDiff(t, pageDiff(t, s, "disk", "", snap1, nil), []blob.PageRange{pr(0, 3)}, []blob.PageRange{pr(8, 2)})
}

func TestPageRangesDiffErrors(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	createPage(t, s, "disk", 4*blob.PageSize, 0)
	snap1 := snapshot(t, s, "disk")
	snap2 := snapshot(t, s, "disk")
	wantStatus := func(err error, code string, kind lanyard.Kind) {
		t.Helper()
		wantCode(t, err, code)
		if lanyard.KindOf(err) != kind {
			t.Fatalf("%v: kind %v, want %v", err, lanyard.KindOf(err), kind)
		}
	}
	_, _, err := s.GetPageRangesDiff(ctx, key("disk"), "", "2001-01-01T00:00:00.0000000Z", nil, blob.Conditions{})
	wantStatus(err, blob.CodePreviousSnapshotNotFound, lanyard.KindConflict)
	_, _, err = s.GetPageRangesDiff(ctx, key("disk"), snap1, snap2, nil, blob.Conditions{})
	wantStatus(err, blob.CodePreviousSnapshotCannotBeNewer, lanyard.KindInvalid)
	_, _, err = s.GetPageRangesDiff(ctx, key("disk"), "2001-01-01T00:00:00.0000000Z", "2000-01-01T00:00:00.0000000Z", nil, blob.Conditions{})
	wantStatus(err, blob.CodeBlobNotFound, lanyard.KindNotFound)
	_, _, err = s.GetPageRangesDiff(ctx, key("nothing"), "", snap1, nil, blob.Conditions{})
	wantStatus(err, blob.CodeBlobNotFound, lanyard.KindNotFound)
	_, _, err = s.GetPageRangesDiff(ctx, key("disk"), "", snap1, nil, blob.Conditions{IfMatch: []string{"nope"}})
	wantCode(t, err, blob.CodeConditionNotMet)
	_, _, err = s.GetPageRangesDiff(ctx, key("disk"), "", snap1, &blob.Range{Start: 100, End: 10}, blob.Conditions{})
	wantCode(t, err, blob.CodeInvalidRange)

	putBlob(t, s, "block", []byte("x"))
	blockSnap := snapshot(t, s, "block")
	_, _, err = s.GetPageRangesDiff(ctx, key("block"), "", blockSnap, nil, blob.Conditions{})
	wantStatus(err, blob.CodeInvalidBlobType, lanyard.KindConflict)
	// The blob became a page blob since its snapshot: nothing to compare with.
	if _, err := s.CreatePageBlob(ctx, blob.CreateBlobInput{Key: key("block"), Size: blob.PageSize}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.GetPageRangesDiff(ctx, key("block"), "", blockSnap, nil, blob.Conditions{})
	wantStatus(err, blob.CodePreviousSnapshotOperationNotSupported, lanyard.KindConflict)
}

// FuzzPageRangesDiff runs page writes, clears and resizes on a page blob with a
// snapshot taken midway, and checks the diff against a model that remembers, per page,
// whether it holds data and which write put it there.
func FuzzPageRangesDiff(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 2, 2, 3, 0, 0, 2, 5, 3, 0, 4, 1}, uint8(2))
	f.Add([]byte{0, 0, 15, 1, 3, 4, 2, 1, 0, 0, 7, 1}, uint8(1))
	s, _ := newService(f)
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, ops []byte, snapAt uint8) {
		if len(ops) > 60 {
			return
		}
		name := fmt.Sprint("disk-", runs.Add(1))
		const maxPages = 16
		createPage(t, s, name, maxPages*blob.PageSize, 0)
		// writer[p] is the write that put page p's data, 0 when it holds none.
		writer := make([]int, maxPages)
		var atSnap []int
		snap := ""
		for i := 0; i+2 < len(ops); i += 3 {
			if i/3 == int(snapAt%20) {
				snap, atSnap = snapshot(t, s, name), append([]int(nil), writer...)
			}
			kind, first, n := ops[i]%3, int64(ops[i+1]%maxPages), int64(ops[i+2]%4)+1
			if kind == 2 { // resize to first+n pages, at most maxPages
				newPages := min(first+n, maxPages)
				newSize := newPages * blob.PageSize
				if _, err := s.UpdatePageBlob(t.Context(), key(name), blob.PageBlobUpdate{Size: &newSize}); err != nil {
					t.Fatal(err)
				}
				for p := newPages; p < maxPages; p++ {
					writer[p] = 0
				}
				continue
			}
			props, err := s.GetBlobProperties(t.Context(), key(name), blob.Conditions{})
			if err != nil {
				t.Fatal(err)
			}
			if (first+n)*blob.PageSize > props.Size {
				continue
			}
			start, end := first*blob.PageSize, (first+n)*blob.PageSize-1
			w := 0
			if kind == 1 {
				if err := clearPages(s, name, start, end); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := putPages(s, name, start, pages('x', int(n)), blob.SequenceConditions{}); err != nil {
					t.Fatal(err)
				}
				w = i + 1
			}
			for p := first; p < first+n; p++ {
				writer[p] = w
			}
		}
		if snap == "" {
			return
		}
		props, err := s.GetBlobProperties(t.Context(), key(name), blob.Conditions{})
		if err != nil {
			t.Fatal(err)
		}
		var changed, cleared []blob.PageRange
		add := func(rs []blob.PageRange, p int64) []blob.PageRange {
			if n := len(rs); n > 0 && rs[n-1].End+1 == p*blob.PageSize {
				rs[n-1].End += blob.PageSize
				return rs
			}
			return append(rs, pr(p, 1))
		}
		for p := int64(0); p < props.Size/blob.PageSize; p++ {
			switch {
			case writer[p] != 0 && writer[p] != atSnap[p]:
				changed = add(changed, p)
			case writer[p] == 0 && atSnap[p] != 0:
				cleared = add(cleared, p)
			}
		}
		wantDiff(t, pageDiff(t, s, name, "", snap, nil), changed, cleared)
	})
}
