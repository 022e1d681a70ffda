package blobtest

import (
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// ListUncommittedBlobs lists the names of blobs with staged blocks and no committed
// version, in order, after a marker, under a prefix, up to a limit; a commit or a drop of
// the blocks takes a name off the list.
func testListUncommitted(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	for _, n := range []string{"b/2", "a", "b/1", "c"} {
		_, err := s.PutBlock(ctx, key("c", n), blob.Block{ID: "QUFB", Size: 1, Content: blob.ContentID("x" + n), CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
		must(t, err)
	}
	put(t, s, key("c", "c"), record(key("c", "c"), "0x1")) // committed: no longer listed
	put(t, s, key("c", "d"), record(key("c", "d"), "0x2")) // never had blocks
	for _, tc := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 10, []string{"a", "b/1", "b/2"}},
		{"", "", 2, []string{"a", "b/1"}},
		{"", "a", 10, []string{"b/1", "b/2"}},
		{"b/", "", 10, []string{"b/1", "b/2"}},
		{"b/", "b/1", 10, []string{"b/2"}},
		{"z", "", 10, nil},
		{"", "", 0, nil},
	} {
		got, err := s.ListUncommittedBlobs(ctx, acct, "c", tc.prefix, tc.after, tc.limit)
		must(t, err)
		if (len(got) != 0 || len(tc.want) != 0) && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListUncommittedBlobs(%q, %q, %d) = %q; want %q", tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}
	if _, err := s.ExpireBlocks(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListUncommittedBlobs(ctx, acct, "c", "", "", 10); err != nil || len(got) != 0 {
		t.Fatalf("after the blocks expired: %q (%v)", got, err)
	}
	_, err := s.ListUncommittedBlobs(ctx, acct, "missing", "", "", 10)
	wantCode(t, err, lanyard.KindNotFound, "ContainerNotFound")
}
