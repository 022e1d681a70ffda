package fsmeta_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// Updates that keep most extents are journaled as changes of the extent list; replaying
// them (after a reopen, with and without a snapshot between) rebuilds the same records.
func TestSplicedUpdatesReplay(t *testing.T) {
	for _, compact := range []int64{0, 4096} {
		t.Run(fmt.Sprint("compact=", compact), func(t *testing.T) {
			dir := t.TempDir()
			s, err := fsmeta.Open(dir, fsmeta.Options{CompactBytes: compact})
			if err != nil {
				t.Fatal(err)
			}
			k := blob.BlobKey{Account: "a", Container: "c", Name: "b"}
			if err := s.CreateContainer(t.Context(), blob.Container{Account: "a", Name: "c", ETag: "0x1"}); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var want *blob.BlobRecord
			for i := range 300 {
				_, err := s.UpdateBlob(t.Context(), k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
					n := &blob.BlobRecord{BlobProperties: blob.BlobProperties{Container: "c", Name: "b", ETag: fmt.Sprint("0x", i),
						BlobType: blob.BlobTypePage, SequenceNumber: int64(i)}}
					if st.Blob != nil {
						n.Extents = slices.Clone(st.Blob.Extents)
					}
					x := blob.Extent{Content: blob.ContentID(fmt.Sprint("x", i)), Size: 512, Offset: int64(i) * 512}
					switch at := rng.IntN(len(n.Extents) + 1); {
					case at < len(n.Extents) && rng.IntN(3) == 0: // replace one
						n.Extents[at] = x
					case at < len(n.Extents) && rng.IntN(2) == 0: // drop one
						n.Extents = slices.Delete(n.Extents, at, at+1)
					default:
						n.Extents = slices.Insert(n.Extents, at, x)
					}
					want = n
					return blob.BlobWrite{Blob: n}, nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			check := func(s blob.MetaStore) {
				got, err := s.GetBlob(t.Context(), k)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Extents, want.Extents) || got.SequenceNumber != want.SequenceNumber || got.ETag != want.ETag {
					t.Fatalf("got %d extents (seq %d), want %d (seq %d)", len(got.Extents), got.SequenceNumber, len(want.Extents), want.SequenceNumber)
				}
			}
			check(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := fsmeta.Open(dir, fsmeta.Options{CompactBytes: compact})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			check(s2)
		})
	}
}
