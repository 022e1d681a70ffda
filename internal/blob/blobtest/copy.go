package blobtest

import (
	"reflect"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// testCopyProperties: a record's Copy (x-ms-copy-*) round-trips for every blob type (read
// and listed), is kept by an update that leaves it, and goes when an update drops it.
func testCopyProperties(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	info := &blob.CopyInfo{ID: "5b5e4b0e-3c1a-4f4e-9d2a-7f0c2d3e4f50", Source: "https://127.0.0.1:1/acct/c/src",
		Status: blob.CopyStatusSuccess, Progress: "10/10", CompletionTime: t0}
	for _, bt := range []string{blob.BlobTypeBlock, blob.BlobTypeAppend, blob.BlobTypePage} {
		k := key("c", "copied-"+bt)
		want := record(k, "0x1", blob.Extent{Content: blob.ContentID("x-" + bt), Size: 10})
		want.BlobType, want.Copy = bt, info
		put(t, s, k, want)
		got, err := s.GetBlob(ctx, k)
		must(t, err)
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("%s: round trip:\n got %+v\nwant %+v", bt, got, *want)
		}
		listed, err := s.ListBlobs(ctx, acct, "c", k.Name, "", 1)
		must(t, err)
		if len(listed) != 1 || listed[0].Copy == nil || *listed[0].Copy != *info {
			t.Fatalf("%s: listed %+v", bt, listed)
		}
		// A metadata change keeps the copy properties...
		n := got
		n.Metadata, n.ETag = blob.Metadata{"b": "2"}, "0x2"
		put(t, s, k, &n)
		got, err = s.GetBlob(ctx, k)
		must(t, err)
		if got.Copy == nil || *got.Copy != *info {
			t.Fatalf("%s: after a metadata change: copy %+v", bt, got.Copy)
		}
		// ... and a write that clears them drops them.
		n = got
		n.Copy, n.ETag = nil, "0x3"
		put(t, s, k, &n)
		got, err = s.GetBlob(ctx, k)
		must(t, err)
		if got.Copy != nil {
			t.Fatalf("%s: copy kept after it was cleared: %+v", bt, got.Copy)
		}
	}
}
