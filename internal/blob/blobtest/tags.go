package blobtest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func tagged(k blob.BlobKey, tags blob.Tags) *blob.BlobRecord {
	r := record(k, "0x1")
	r.Tags = tags
	return r
}

func find(t *testing.T, s blob.MetaStore, where, container string, after blob.TagMarker, limit int) []string {
	t.Helper()
	q, err := blob.ParseFindQuery(where, container)
	must(t, err)
	got, err := s.FindBlobs(t.Context(), acct, q, after, limit)
	must(t, err)
	out := make([]string, len(got))
	for i, b := range got {
		out[i] = b.Container + "/" + b.Name
	}
	return out
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// testTags: a record's tags round-trip, are replaced by each commit, and are not aliased.
func testTags(t *testing.T, s blob.MetaStore) {
	mkContainer(t, s, "c")
	k := key("c", "b")
	tags := blob.Tags{"Project": "Cascade", "empty": ""}
	put(t, s, k, tagged(k, tags))
	tags["Project"] = "changed"
	got, err := s.GetBlob(t.Context(), k)
	must(t, err)
	if !reflect.DeepEqual(got.Tags, blob.Tags{"Project": "Cascade", "empty": ""}) {
		t.Fatalf("tags = %v", got.Tags)
	}
	put(t, s, k, tagged(k, nil))
	got, err = s.GetBlob(t.Context(), k)
	must(t, err)
	if len(got.Tags) != 0 {
		t.Fatalf("tags after a commit without them = %v", got.Tags)
	}
}

// testFindBlobs: Find follows commits, deletions and container deletion, filters by the
// whole expression, restricts to a container, and pages in (container, name) order.
func testFindBlobs(t *testing.T, s blob.MetaStore) {
	for _, c := range []string{"ctra", "ctrb"} {
		mkContainer(t, s, c)
		for i := range 5 {
			k := key(c, fmt.Sprintf("n%d", i))
			put(t, s, k, tagged(k, blob.Tags{"team": fmt.Sprintf("t%d", i%2), "rank": fmt.Sprint(i)}))
		}
	}
	k := key("ctra", "plain")
	put(t, s, k, record(k, "0x1"))

	wantList(t, "equality", find(t, s, `team = 't1'`, "", blob.TagMarker{}, 10), "ctra/n1", "ctra/n3", "ctrb/n1", "ctrb/n3")
	wantList(t, "and", find(t, s, `team = 't0' AND rank >= '2'`, "", blob.TagMarker{}, 10), "ctra/n2", "ctra/n4", "ctrb/n2", "ctrb/n4")
	wantList(t, "range", find(t, s, `"rank" > '1' AND "rank" < '4'`, "", blob.TagMarker{}, 10), "ctra/n2", "ctra/n3", "ctrb/n2", "ctrb/n3")
	wantList(t, "container clause", find(t, s, `@container = 'ctrb' AND team = 't1'`, "", blob.TagMarker{}, 10), "ctrb/n1", "ctrb/n3")
	wantList(t, "container scope", find(t, s, `team = 't1'`, "ctra", blob.TagMarker{}, 10), "ctra/n1", "ctra/n3")
	wantList(t, "page 1", find(t, s, `team = 't0'`, "", blob.TagMarker{}, 2), "ctra/n0", "ctra/n2")
	wantList(t, "page 2", find(t, s, `team = 't0'`, "", blob.TagMarker{Container: "ctra", Name: "n2"}, 2), "ctra/n4", "ctrb/n0")
	wantList(t, "range page", find(t, s, `rank >= '0'`, "", blob.TagMarker{Container: "ctra", Name: "n4"}, 3), "ctrb/n0", "ctrb/n1", "ctrb/n2")
	wantList(t, "no key", find(t, s, `other = 'x'`, "", blob.TagMarker{}, 10))
	wantList(t, "missing container", find(t, s, `team = 't1'`, "zzz", blob.TagMarker{}, 10))

	// A retag moves the blob in the index; a deletion drops it.
	k = key("ctra", "n1")
	put(t, s, k, tagged(k, blob.Tags{"team": "t0", "rank": "1"}))
	_, err := s.UpdateBlob(t.Context(), key("ctra", "n3"), false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{DropBlocks: true}, nil
	})
	must(t, err)
	wantList(t, "after retag and delete", find(t, s, `team = 't1'`, "", blob.TagMarker{}, 10), "ctrb/n1", "ctrb/n3")
	wantList(t, "retagged", find(t, s, `team = 't0' AND rank = '1'`, "", blob.TagMarker{}, 10), "ctra/n1")

	// A blob whose committed version goes while blocks stay keeps no tags in the index.
	k = key("ctrb", "n1")
	_, err = s.PutBlock(t.Context(), k, blob.Block{ID: "AAAA", Size: 1, Content: "blk", CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
	must(t, err)
	_, err = s.UpdateBlob(t.Context(), k, false, func(blob.BlobState) (blob.BlobWrite, error) { return blob.BlobWrite{}, nil })
	must(t, err)
	wantList(t, "after delete with blocks", find(t, s, `team = 't1'`, "", blob.TagMarker{}, 10), "ctrb/n3")

	_, err = s.DeleteContainer(t.Context(), acct, "ctrb", func(blob.Container) error { return nil })
	must(t, err)
	wantList(t, "after container delete", find(t, s, `team = 't1'`, "", blob.TagMarker{}, 10))
	mkContainer(t, s, "ctrb")
	wantList(t, "recreated container", find(t, s, `rank >= '0'`, "ctrb", blob.TagMarker{}, 10))
}
