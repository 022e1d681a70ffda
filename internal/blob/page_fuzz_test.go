package blob_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// FuzzPageWrites runs page writes, clears and resizes on a small page blob and on a
// plain byte slice, and compares the two after every step: extents cut by overlapping
// writes must read back exactly as the bytes written.
func FuzzPageWrites(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 2, 2, 2, 0, 5, 3, 4})
	f.Add([]byte{0, 0, 15, 1, 3, 4, 2, 1, 0, 0, 7, 1})
	s, _ := newService(f)
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 60 {
			return
		}
		name := fmt.Sprint("disk-", runs.Add(1))
		const pages = 16
		createPage(t, s, name, pages*blob.PageSize, 0)
		model := make([]byte, pages*blob.PageSize)
		for i := 0; i+2 < len(ops); i += 3 {
			kind, first, n := ops[i]%3, int64(ops[i+1]%pages), int64(ops[i+2]%4)+1
			size := int64(len(model)) / blob.PageSize
			if kind == 2 { // resize to first+n pages
				newSize := (first + n) * blob.PageSize
				if _, err := s.UpdatePageBlob(t.Context(), key(name), blob.PageBlobUpdate{Size: &newSize}); err != nil {
					t.Fatal(err)
				}
				if newSize < int64(len(model)) {
					model = model[:newSize]
				} else {
					model = append(model, make([]byte, newSize-int64(len(model)))...)
				}
				continue
			}
			if first+n > size {
				continue
			}
			start, end := first*blob.PageSize, (first+n)*blob.PageSize-1
			if kind == 1 {
				if err := clearPages(s, name, start, end); err != nil {
					t.Fatal(err)
				}
				copy(model[start:end+1], make([]byte, end+1-start))
				continue
			}
			data := bytes.Repeat([]byte{byte('a' + i%26)}, int(end+1-start))
			if _, err := putPages(s, name, start, data, blob.SequenceConditions{}); err != nil {
				t.Fatal(err)
			}
			copy(model[start:], data)
		}
		if len(model) == 0 {
			return
		}
		got, _ := read(t, s, name, nil)
		if !bytes.Equal(got, model) {
			t.Fatalf("page blob differs from the model after %v", ops)
		}
	})
}
