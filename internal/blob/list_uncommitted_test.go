package blob_test

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// include=uncommittedblobs merges blobs that have only staged blocks into the listing, in
// name order, across pages and under a delimiter.
func TestListUncommittedBlobs(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	for _, n := range []string{"a", "c", "dir/x"} {
		putBlob(t, s, n, []byte(n))
	}
	for _, n := range []string{"b", "d", "dir/y", "e"} {
		if _, err := s.PutBlock(ctx, key(n), "QUFB", strings.NewReader("x"), 1, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	list := func(opts blob.ListBlobsOptions) []string {
		var names []string
		for {
			res, err := s.ListBlobs(ctx, acct, "ctr", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Entries {
				if e.Prefix != "" {
					names = append(names, e.Prefix)
				} else {
					names = append(names, e.Blob.Name)
				}
			}
			if res.NextMarker == "" {
				return names
			}
			opts.Marker = res.NextMarker
		}
	}
	if got := strings.Join(list(blob.ListBlobsOptions{}), ","); got != "a,c,dir/x" {
		t.Fatalf("without the option: %s", got)
	}
	for _, max := range []int{1, 2, 3, 100} {
		if got := strings.Join(list(blob.ListBlobsOptions{Uncommitted: true, MaxResults: max}), ","); got != "a,b,c,d,dir/x,dir/y,e" {
			t.Fatalf("uncommitted, %d per page: %s", max, got)
		}
		if got := strings.Join(list(blob.ListBlobsOptions{Uncommitted: true, MaxResults: max, Delimiter: "/"}), ","); got != "a,b,c,d,dir/,e" {
			t.Fatalf("uncommitted by hierarchy, %d per page: %s", max, got)
		}
	}
}
