// Package blobtest holds the conformance suite every blob.MetaStore must pass.
package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// RunMetaStore runs the suite. newStore must return a fresh, empty store for each call;
// the suite closes it.
func RunMetaStore(t *testing.T, newStore func(t *testing.T) blob.MetaStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.MetaStore)
	}{
		{"ContainerCRUD", testContainerCRUD},
		{"ListContainers", testListContainers},
		{"BlobCRUD", testBlobCRUD},
		{"BlobRoundTrip", testBlobRoundTrip},
		{"AppendAndPageBlobs", testAppendAndPageBlobs},
		{"UpdateCommitsCurrentState", testUpdateCommitsCurrentState},
		{"NoAliasing", testNoAliasing},
		{"ListBlobs", testListBlobs},
		{"Blocks", testBlocks},
		{"CommitDropsBlocks", testCommitDropsBlocks},
		{"ExpireBlocks", testExpireBlocks},
		{"DeleteContainerCascades", testDeleteContainerCascades},
		{"Contents", testContents},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentContainerDelete", testConcurrentContainerDelete},
		{"ContainerDeleteAccounts", testContainerDeleteAccounts},
		{"Tags", testTags},
		{"FindBlobs", testFindBlobs},
		{"Leases", testLeases},
		{"Tiers", testTiers},
		{"ConcurrentLeaseAcquire", testConcurrentLeaseAcquire},
		{"ListUncommitted", testListUncommitted},
		{"Snapshots", testSnapshots},
		{"PageSnapshots", testPageSnapshots},
		{"History", testHistory},
		{"CopyProperties", testCopyProperties},
		{"MoveContainer", testMoveContainer},
		{"ContainerDeletionTimes", testContainerDeletionTimes},
		{"InlineExtents", testInlineExtents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tt.fn(t, s)
		})
	}
}

const acct = "acct"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func wantCode(t *testing.T, err error, kind lanyard.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if lanyard.KindOf(err) != kind || lanyard.CodeOf(err) != code {
		t.Fatalf("got %v (kind %v, code %q), want kind %v code %q", err, lanyard.KindOf(err), lanyard.CodeOf(err), kind, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkContainer(t *testing.T, s blob.MetaStore, name string) blob.Container {
	t.Helper()
	c := blob.Container{Account: acct, Name: name, Metadata: blob.Metadata{"k": "v"}, ETag: "0x1", LastModified: t0, CreatedAt: t0}
	must(t, s.CreateContainer(t.Context(), c))
	return c
}

func key(c, n string) blob.BlobKey { return blob.BlobKey{Account: acct, Container: c, Name: n} }

func record(k blob.BlobKey, etag string, extents ...blob.Extent) *blob.BlobRecord {
	var size int64
	for _, e := range extents {
		size += e.Size
	}
	return &blob.BlobRecord{
		BlobProperties: blob.BlobProperties{
			Container: k.Container, Name: k.Name, Size: size,
			HTTPHeaders: blob.HTTPHeaders{ContentType: "text/plain", ContentEncoding: "gzip", ContentLanguage: "en",
				ContentDisposition: "inline", CacheControl: "no-cache", ContentMD5: []byte{1, 2, 3, 4}},
			Metadata: blob.Metadata{"a": "1"}, ETag: etag, LastModified: t0, CreatedAt: t0.Add(-time.Hour),
			BlobType: blob.BlobTypeBlock,
		},
		Extents: extents,
	}
}

// put commits rec as the blob's new version.
func put(t *testing.T, s blob.MetaStore, k blob.BlobKey, rec *blob.BlobRecord) blob.BlobResult {
	t.Helper()
	res, err := s.UpdateBlob(t.Context(), k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: rec, DropBlocks: true}, nil
	})
	must(t, err)
	return res
}

// A store may run an update's fn on a guess first (see MetaStore.UpdateBlob), but what fn
// returns for a state that is not the blob's is never committed, nor reported.
func testUpdateCommitsCurrentState(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	_, err := s.GetContainer(ctx, acct, "c") // a store that remembers containers now may guess
	must(t, err)
	for i, withBlocks := range []bool{false, true} {
		k := key("c", fmt.Sprint("b", i))
		put(t, s, k, record(k, "0x1"))
		res, err := s.UpdateBlob(ctx, k, withBlocks, func(st blob.BlobState) (blob.BlobWrite, error) {
			if st.Blob == nil {
				return blob.BlobWrite{Blob: record(k, "0xguess")}, nil
			}
			return blob.BlobWrite{Blob: record(k, "0x2")}, nil
		})
		must(t, err)
		if res.Prev == nil || res.Prev.ETag != "0x1" {
			t.Fatalf("update reported prev %+v", res.Prev)
		}
		got, err := s.GetBlob(ctx, k)
		must(t, err)
		if got.ETag != "0x2" {
			t.Fatalf("etag %q committed, want 0x2", got.ETag)
		}
	}
}

func testContainerCRUD(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	c := mkContainer(t, s, "c1")
	wantCode(t, s.CreateContainer(ctx, c), lanyard.KindConflict, blob.CodeContainerAlreadyExists)

	got, err := s.GetContainer(ctx, acct, "c1")
	must(t, err)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("GetContainer = %+v, want %+v", got, c)
	}
	_, err = s.GetContainer(ctx, acct, "nope")
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	_, err = s.GetContainer(ctx, "other", "c1")
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)

	up, err := s.UpdateContainer(ctx, acct, "c1", func(c blob.Container) (blob.Container, error) {
		c.Metadata, c.ETag = blob.Metadata{"x": "y"}, "0x2"
		return c, nil
	})
	must(t, err)
	got, err = s.GetContainer(ctx, acct, "c1")
	must(t, err)
	if !reflect.DeepEqual(got, up) || got.ETag != "0x2" || got.Metadata["x"] != "y" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v", got)
	}
	// Stored access policies are kept, in order and as given, and can be cleared.
	acl := []blob.AccessPolicy{{ID: "read-week", Start: "2026-12-01T00:00:00.0000000Z", Expiry: "2026-12-08T00:00:00Z", Permission: "rl"}, {ID: "bare"}}
	for _, want := range [][]blob.AccessPolicy{acl, nil} {
		up, err = s.UpdateContainer(ctx, acct, "c1", func(c blob.Container) (blob.Container, error) {
			c.AccessPolicies = want
			return c, nil
		})
		must(t, err)
		got, err = s.GetContainer(ctx, acct, "c1")
		must(t, err)
		if !reflect.DeepEqual(got.AccessPolicies, want) || !reflect.DeepEqual(up.AccessPolicies, want) || got.Metadata["x"] != "y" {
			t.Fatalf("access policies after update: got %+v (update returned %+v), want %+v", got, up, want)
		}
	}
	boom := errors.New("boom")
	_, err = s.UpdateContainer(ctx, acct, "c1", func(blob.Container) (blob.Container, error) { return blob.Container{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateContainer fn error: got %v", err)
	}
	_, err = s.UpdateContainer(ctx, acct, "nope", func(c blob.Container) (blob.Container, error) { return c, nil })
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)

	_, err = s.DeleteContainer(ctx, acct, "c1", func(blob.Container) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("DeleteContainer fn error: got %v", err)
	}
	_, err = s.DeleteContainer(ctx, acct, "c1", func(blob.Container) error { return nil })
	must(t, err)
	_, err = s.GetContainer(ctx, acct, "c1")
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	_, err = s.DeleteContainer(ctx, acct, "c1", func(blob.Container) error { return nil })
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	// The name is free again.
	mkContainer(t, s, "c1")
}

func names[T any](xs []T, name func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

func testListContainers(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	for _, n := range []string{"b-2", "a1", "b-10", "b-1", "c"} {
		mkContainer(t, s, n)
	}
	must(t, s.CreateContainer(ctx, blob.Container{Account: "other", Name: "a0", ETag: "0x1", LastModified: t0, CreatedAt: t0}))
	cname := func(c blob.Container) string { return c.Name }
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, []string{"a1", "b-1", "b-10", "b-2", "c"}},
		{"b-", "", 100, []string{"b-1", "b-10", "b-2"}},
		{"", "b-1", 100, []string{"b-10", "b-2", "c"}},
		{"b-", "b-10", 100, []string{"b-2"}},
		{"", "a", 2, []string{"a1", "b-1"}},
		{"z", "", 100, []string{}},
		{"", "c", 100, []string{}},
	}
	for _, c := range cases {
		got, err := s.ListContainers(ctx, acct, c.prefix, c.after, c.limit)
		must(t, err)
		if g := names(got, cname); !reflect.DeepEqual(g, c.want) {
			t.Errorf("ListContainers(%q, %q, %d) = %v, want %v", c.prefix, c.after, c.limit, g, c.want)
		}
	}
	got, err := s.ListContainers(ctx, "nobody", "", "", 10)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("unknown account lists %v", got)
	}
}

func testBlobCRUD(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	k := key("c", "dir/b")
	_, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
		t.Fatal("fn called for a missing container")
		return blob.BlobWrite{}, nil
	})
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)

	mkContainer(t, s, "c")
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeBlobNotFound)

	r1 := record(k, "0x1", blob.Extent{Content: "c1", Size: 3})
	res := put(t, s, k, r1)
	if res.Prev != nil || len(res.Dropped) != 0 {
		t.Fatalf("first commit reports %+v", res)
	}
	r2 := record(k, "0x2", blob.Extent{Content: "c2", Size: 5})
	var seen *blob.BlobRecord
	res, err = s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		seen = st.Blob
		return blob.BlobWrite{Blob: r2}, nil
	})
	must(t, err)
	if seen == nil || seen.ETag != "0x1" || res.Prev == nil || res.Prev.ETag != "0x1" {
		t.Fatalf("update saw %+v, reported prev %+v", seen, res.Prev)
	}
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if got.ETag != "0x2" || got.Size != 5 {
		t.Fatalf("after replace: %+v", got)
	}

	boom := errors.New("boom")
	_, err = s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) { return blob.BlobWrite{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("fn error: got %v", err)
	}
	if got, _ := s.GetBlob(ctx, k); got.ETag != "0x2" {
		t.Fatal("a failed update changed the blob")
	}

	res, err = s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) { return blob.BlobWrite{DropBlocks: true}, nil })
	must(t, err)
	if res.Prev == nil || res.Prev.ETag != "0x2" {
		t.Fatalf("delete reported prev %+v", res.Prev)
	}
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeBlobNotFound)
}

func testBlobRoundTrip(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "ünïcode name/with spaces %2F")
	want := record(k, "0xABC",
		blob.Extent{BlockID: "QUFB", Content: "x1", Size: 10},
		blob.Extent{BlockID: "QkJC", Content: "x2", Size: 0},
		blob.Extent{BlockID: "QUFB", Content: "x1", Size: 10})
	put(t, s, k, want)
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, *want)
	}
	// An empty blob has no extents.
	k2 := key("c", "empty")
	put(t, s, k2, record(k2, "0x1"))
	got, err = s.GetBlob(ctx, k2)
	must(t, err)
	if got.Size != 0 || len(got.Extents) != 0 {
		t.Fatalf("empty blob: %+v", got)
	}
}

func testNoAliasing(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	r := record(k, "0x1", blob.Extent{Content: "c1", Size: 1})
	put(t, s, k, r)
	r.Metadata["a"] = "changed"
	r.Extents[0].Content = "changed"
	r.ContentMD5[0] = 99
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if got.Metadata["a"] != "1" || got.Extents[0].Content != "c1" || got.ContentMD5[0] != 1 {
		t.Fatalf("store aliases caller values: %+v", got)
	}
	c := blob.Container{Account: acct, Name: "c2", Metadata: blob.Metadata{"k": "v"}, ETag: "0x1", LastModified: t0, CreatedAt: t0}
	must(t, s.CreateContainer(ctx, c))
	c.Metadata["k"] = "changed"
	gc, err := s.GetContainer(ctx, acct, "c2")
	must(t, err)
	if gc.Metadata["k"] != "v" {
		t.Fatal("store aliases container metadata")
	}
}

func testListBlobs(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	mkContainer(t, s, "d")
	all := []string{"a", "a/b", "a/c", "a-b", "a0", "b", "é", "z/z", "日本"}
	for i, n := range all {
		put(t, s, key("c", n), record(key("c", n), "0x"+strconv.Itoa(i)))
	}
	put(t, s, key("d", "other"), record(key("d", "other"), "0x1"))
	// A blob with only staged blocks is not listed.
	_, err := s.PutBlock(ctx, key("c", "staged"), blob.Block{ID: "QUFB", Size: 1, Content: "s", CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
	must(t, err)

	sorted := append([]string(nil), all...)
	sort.Strings(sorted)
	bname := func(r blob.BlobRecord) string { return r.Name }
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, sorted},
		{"a", "", 100, []string{"a", "a-b", "a/b", "a/c", "a0"}},
		{"a/", "", 100, []string{"a/b", "a/c"}},
		{"a/", "a/b", 100, []string{"a/c"}},
		{"", "a0", 3, []string{"b", "z/z", "é"}},
		{"", "a/\xff", 100, []string{"a0", "b", "z/z", "é", "日本"}},
		{"q", "", 100, []string{}},
	}
	for _, c := range cases {
		got, err := s.ListBlobs(ctx, acct, "c", c.prefix, c.after, c.limit)
		must(t, err)
		if g := names(got, bname); !reflect.DeepEqual(g, c.want) {
			t.Errorf("ListBlobs(%q, %q, %d) = %q, want %q", c.prefix, c.after, c.limit, g, c.want)
		}
	}
	_, err = s.ListBlobs(ctx, acct, "nope", "", "", 10)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	got, err := s.ListBlobs(ctx, acct, "c", "a/b", "", 1)
	must(t, err)
	if len(got) != 1 || got[0].ETag != "0x1" || got[0].ContentType != "text/plain" || got[0].Metadata["a"] != "1" {
		t.Errorf("listed record lacks properties: %+v", got)
	}
}

func testBlocks(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	k := key("c", "b")
	ok := func(blob.BlockSummary) error { return nil }
	_, err := s.PutBlock(ctx, k, blob.Block{ID: "QUFB", Size: 1, Content: "x", CreatedAt: t0}, ok)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	_, err = s.ListBlocks(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeContainerNotFound)
	mkContainer(t, s, "c")

	blocks, err := s.ListBlocks(ctx, k)
	must(t, err)
	if len(blocks) != 0 {
		t.Fatalf("fresh blob has blocks %v", blocks)
	}
	var sums []blob.BlockSummary
	record := func(sum blob.BlockSummary) error { sums = append(sums, sum); return nil }
	for i, id := range []string{"QkJC", "QUFB", "Q0ND"} { // BBB, AAA, CCC
		prev, err := s.PutBlock(ctx, k, blob.Block{ID: id, Size: int64(i + 1), Content: blob.ContentID("c" + id), CreatedAt: t0}, record)
		must(t, err)
		if prev != nil {
			t.Fatalf("new block replaced %+v", prev)
		}
	}
	want := []blob.BlockSummary{{Count: 0}, {Count: 1, IDLength: 3}, {Count: 2, IDLength: 3}}
	if !reflect.DeepEqual(sums, want) {
		t.Fatalf("summaries = %+v, want %+v", sums, want)
	}
	sums = nil
	prev, err := s.PutBlock(ctx, k, blob.Block{ID: "QUFB", Size: 9, Content: "new", CreatedAt: t0.Add(time.Second)}, record)
	must(t, err)
	if prev == nil || prev.Content != "cQUFB" || prev.Size != 2 {
		t.Fatalf("replace returned %+v", prev)
	}
	if !reflect.DeepEqual(sums, []blob.BlockSummary{{Count: 3, IDLength: 3, Replaces: true}}) {
		t.Fatalf("replace summary = %+v", sums)
	}
	boom := errors.New("boom")
	if _, err := s.PutBlock(ctx, k, blob.Block{ID: "RERE", Size: 1, Content: "d"}, func(blob.BlockSummary) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: got %v", err)
	}
	blocks, err = s.ListBlocks(ctx, k)
	must(t, err)
	if got := names(blocks, func(b blob.Block) string { return b.ID }); !reflect.DeepEqual(got, []string{"Q0ND", "QUFB", "QkJC"}) {
		t.Fatalf("ListBlocks ids = %v", got)
	}
	if blocks[1].Size != 9 || blocks[1].Content != "new" || !blocks[1].CreatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("replaced block = %+v", blocks[1])
	}
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeBlobNotFound)

	var st blob.BlobState
	_, err = s.UpdateBlob(ctx, k, true, func(s blob.BlobState) (blob.BlobWrite, error) {
		st = s
		return blob.BlobWrite{}, boom
	})
	if !errors.Is(err, boom) || st.Blob != nil || len(st.Blocks) != 3 {
		t.Fatalf("UpdateBlob withBlocks saw %+v (err %v)", st, err)
	}
	_, err = s.UpdateBlob(ctx, k, false, func(s blob.BlobState) (blob.BlobWrite, error) {
		st = s
		return blob.BlobWrite{}, boom
	})
	if !errors.Is(err, boom) || len(st.Blocks) != 0 {
		t.Fatalf("UpdateBlob without blocks loaded %d (err %v)", len(st.Blocks), err)
	}
}

func testCommitDropsBlocks(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	ok := func(blob.BlockSummary) error { return nil }
	for _, id := range []string{"QUFB", "QkJC"} {
		_, err := s.PutBlock(ctx, k, blob.Block{ID: id, Size: 1, Content: blob.ContentID("c" + id), CreatedAt: t0}, ok)
		must(t, err)
	}
	// A property update keeps the blocks.
	put(t, s, k, record(k, "0x1"))
	// (put drops them; stage again to test an update that keeps them)
	for _, id := range []string{"QUFB", "QkJC"} {
		_, err := s.PutBlock(ctx, k, blob.Block{ID: id, Size: 1, Content: blob.ContentID("c" + id), CreatedAt: t0}, ok)
		must(t, err)
	}
	res, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		if st.Blob == nil {
			return blob.BlobWrite{}, errors.New("no blob")
		}
		n := *st.Blob
		n.ETag = "0x2"
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	if len(res.Dropped) != 0 {
		t.Fatalf("update without DropBlocks dropped %v", res.Dropped)
	}
	if bs, _ := s.ListBlocks(ctx, k); len(bs) != 2 {
		t.Fatalf("update without DropBlocks left %d blocks", len(bs))
	}
	res, err = s.UpdateBlob(ctx, k, true, func(st blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{Blob: record(k, "0x3", blob.Extent{BlockID: "QUFB", Content: "cQUFB", Size: 1}), DropBlocks: true}, nil
	})
	must(t, err)
	if len(res.Dropped) != 2 || res.Prev == nil || res.Prev.ETag != "0x2" {
		t.Fatalf("commit reported %+v", res)
	}
	if bs, _ := s.ListBlocks(ctx, k); len(bs) != 0 {
		t.Fatalf("commit left %d blocks", len(bs))
	}
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if got.ETag != "0x3" || len(got.Extents) != 1 {
		t.Fatalf("after commit: %+v", got)
	}
	// Deleting a blob that has only staged blocks drops them.
	k2 := key("c", "staged")
	_, err = s.PutBlock(ctx, k2, blob.Block{ID: "QUFB", Size: 1, Content: "s", CreatedAt: t0}, ok)
	must(t, err)
	res, err = s.UpdateBlob(ctx, k2, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		return blob.BlobWrite{DropBlocks: true}, nil
	})
	must(t, err)
	if len(res.Dropped) != 1 {
		t.Fatalf("dropping staged-only blob reported %+v", res)
	}
	if bs, _ := s.ListBlocks(ctx, k2); len(bs) != 0 {
		t.Fatal("staged blocks survived")
	}
}

func testExpireBlocks(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	ok := func(blob.BlockSummary) error { return nil }
	k1, k2 := key("c", "one"), key("c", "two")
	must2 := func(_ *blob.Block, err error) { t.Helper(); must(t, err) }
	must2(s.PutBlock(ctx, k1, blob.Block{ID: "QUFB", Size: 1, Content: "old1", CreatedAt: t0}, ok))
	must2(s.PutBlock(ctx, k1, blob.Block{ID: "QkJC", Size: 1, Content: "new1", CreatedAt: t0.Add(time.Hour)}, ok))
	must2(s.PutBlock(ctx, k2, blob.Block{ID: "QUFB", Size: 1, Content: "old2", CreatedAt: t0}, ok))
	dropped, err := s.ExpireBlocks(ctx, t0.Add(time.Minute))
	must(t, err)
	got := names(dropped, func(b blob.Block) string { return string(b.Content) })
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"old1", "old2"}) {
		t.Fatalf("expired %v", got)
	}
	bs, err := s.ListBlocks(ctx, k1)
	must(t, err)
	if len(bs) != 1 || bs[0].Content != "new1" {
		t.Fatalf("left %+v", bs)
	}
	if bs, _ := s.ListBlocks(ctx, k2); len(bs) != 0 {
		t.Fatalf("left %+v", bs)
	}
	// Ids of a different length are fine once the old ones are gone.
	var sum blob.BlockSummary
	must2(s.PutBlock(ctx, k2, blob.Block{ID: "QUFBQQ==", Size: 1, Content: "x", CreatedAt: t0}, func(s blob.BlockSummary) error { sum = s; return nil }))
	if sum != (blob.BlockSummary{}) {
		t.Fatalf("summary after expiry = %+v", sum)
	}
}

func testDeleteContainerCascades(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "b")
	put(t, s, k, record(k, "0x1", blob.Extent{Content: "e1", Size: 1}))
	_, err := s.PutBlock(ctx, key("c", "s"), blob.Block{ID: "QUFB", Size: 1, Content: "b1", CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
	must(t, err)
	ids, err := s.DeleteContainer(ctx, acct, "c", func(blob.Container) error { return nil })
	must(t, err)
	got := names(ids, func(id blob.ContentID) string { return string(id) })
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"b1", "e1"}) {
		t.Fatalf("DeleteContainer released %v", got)
	}
	mkContainer(t, s, "c")
	_, err = s.GetBlob(ctx, k)
	wantCode(t, err, lanyard.KindNotFound, blob.CodeBlobNotFound)
	if bs, _ := s.ListBlocks(ctx, key("c", "s")); len(bs) != 0 {
		t.Fatal("blocks survived their container")
	}
	var n int
	must(t, s.Contents(ctx, func(blob.ContentID) error { n++; return nil }))
	if n != 0 {
		t.Fatalf("deleted container still references %d contents", n)
	}
}

func testContents(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	put(t, s, key("c", "a"), record(key("c", "a"), "0x1", blob.Extent{Content: "x1", Size: 1}, blob.Extent{Content: "x2", Size: 1}))
	_, err := s.PutBlock(ctx, key("c", "a"), blob.Block{ID: "QUFB", Size: 1, Content: "x3", CreatedAt: t0}, func(blob.BlockSummary) error { return nil })
	must(t, err)
	seen := map[blob.ContentID]bool{}
	must(t, s.Contents(ctx, func(id blob.ContentID) error { seen[id] = true; return nil }))
	if !reflect.DeepEqual(seen, map[blob.ContentID]bool{"x1": true, "x2": true, "x3": true}) {
		t.Fatalf("Contents = %v", seen)
	}
	boom := errors.New("boom")
	if err := s.Contents(ctx, func(blob.ContentID) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Contents fn error: got %v", err)
	}
}

// testConcurrentUpdates checks that read-modify-write through UpdateBlob is atomic, and
// that writers of different blobs do not interfere.
func testConcurrentUpdates(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range rounds {
				_, err := s.UpdateBlob(ctx, key("c", "counter"), false, func(st blob.BlobState) (blob.BlobWrite, error) {
					n := 0
					if st.Blob != nil {
						n, _ = strconv.Atoi(st.Blob.Metadata["n"])
					}
					r := record(key("c", "counter"), "0x"+strconv.Itoa(n+1))
					r.Metadata = blob.Metadata{"n": strconv.Itoa(n + 1)}
					return blob.BlobWrite{Blob: r}, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			k := key("c", fmt.Sprintf("own-%d", w))
			for i := range rounds {
				data := []byte(strconv.Itoa(i))
				_, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
					r := record(k, "0x1")
					r.ContentMD5 = data
					return blob.BlobWrite{Blob: r}, nil
				})
				if err != nil {
					errs <- err
					return
				}
				got, err := s.GetBlob(ctx, k)
				if err != nil || !bytes.Equal(got.ContentMD5, data) {
					errs <- fmt.Errorf("own blob %s: got %v: %w", k.Name, got.ContentMD5, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.GetBlob(ctx, key("c", "counter"))
	must(t, err)
	if got.Metadata["n"] != strconv.Itoa(workers*rounds) {
		t.Fatalf("counter = %s, want %d: lost updates", got.Metadata["n"], workers*rounds)
	}
}

// testConcurrentContainerDelete checks that no blob outlives its container when
// writers race the deletion.
func testConcurrentContainerDelete(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	for round := range 5 {
		name := "race" + strconv.Itoa(round)
		mkContainer(t, s, name)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					k := key(name, fmt.Sprintf("b%d-%d", w, i))
					_, err := s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
						return blob.BlobWrite{Blob: record(k, "0x1", blob.Extent{Content: blob.ContentID(k.Name), Size: 1})}, nil
					})
					if err != nil && lanyard.CodeOf(err) != blob.CodeContainerNotFound {
						t.Error(err)
						return
					}
				}
			}()
		}
		_, err := s.DeleteContainer(ctx, acct, name, func(blob.Container) error { return nil })
		must(t, err)
		wg.Wait()
		mkContainer(t, s, name)
		got, err := s.ListBlobs(ctx, acct, name, "", "", 1000)
		must(t, err)
		// Writes that won the race after the deletion went into... nothing: the
		// container was gone until re-created just now, after all writers finished.
		if len(got) != 0 {
			t.Fatalf("round %d: %d blobs survived or leaked into the re-created container", round, len(got))
		}
	}
	var n int
	must(t, s.Contents(ctx, func(blob.ContentID) error { n++; return nil }))
	if n != 0 {
		t.Fatalf("%d contents referenced after deletes", n)
	}
}

// testContainerDeleteAccounts checks that the content writers racing a container deletion
// commit or stage is handed back exactly once: by the write that replaced or dropped it,
// or by the deletion. A deletion that read a blob before a writer replaced it would hand
// back the old content twice and never the new.
func testContainerDeleteAccounts(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	for round := range 5 {
		name := "acc" + strconv.Itoa(round)
		mkContainer(t, s, name)
		var (
			mu                sync.Mutex
			written, released = map[blob.ContentID]int{}, map[blob.ContentID]int{}
		)
		count := func(m map[blob.ContentID]int, ids ...blob.ContentID) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				m[id]++
			}
		}
		for w := range 4 {
			k := key(name, fmt.Sprintf("b%d", w))
			id := blob.ContentID(fmt.Sprintf("%s/%d/init", name, w))
			put(t, s, k, record(k, "0x1", blob.Extent{Content: id, Size: 1}))
			count(written, id)
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				k := key(name, fmt.Sprintf("b%d", w))
				for i := range 20 {
					id := blob.ContentID(fmt.Sprintf("%s/%d/%d", name, w, i))
					var err error
					if i%3 == 1 {
						var prev *blob.Block
						prev, err = s.PutBlock(ctx, k, blob.Block{ID: "QUFB", Content: id, Size: 1, CreatedAt: t0},
							func(blob.BlockSummary) error { return nil })
						if err == nil {
							count(written, id)
							if prev != nil {
								count(released, prev.Content)
							}
						}
					} else {
						var res blob.BlobResult
						res, err = s.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
							return blob.BlobWrite{Blob: record(k, "0x1", blob.Extent{Content: id, Size: 1}), DropBlocks: true}, nil
						})
						if err == nil {
							count(written, id)
							if res.Prev != nil {
								for _, x := range res.Prev.Extents {
									count(released, x.Content)
								}
							}
							for _, b := range res.Dropped {
								count(released, b.Content)
							}
						}
					}
					if err != nil {
						if lanyard.CodeOf(err) != blob.CodeContainerNotFound {
							t.Error(err)
						}
						return
					}
				}
			})
		}
		ids, err := s.DeleteContainer(ctx, acct, name, func(blob.Container) error { return nil })
		must(t, err)
		wg.Wait()
		count(released, ids...)
		for id, n := range written {
			if released[id] != n {
				t.Errorf("round %d: content %s written %d times, handed back %d times", round, id, n, released[id])
			}
		}
		for id := range released {
			if written[id] == 0 {
				t.Errorf("round %d: content %s handed back but never written", round, id)
			}
		}
	}
}

// Append and page blobs keep state of their own (sealed, sequence number, extents placed
// at offsets); an update that changes only that state must still be stored.
func testAppendAndPageBlobs(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	ka := key("c", "append")
	app := record(ka, "0x1", blob.Extent{Content: "a1", Size: 3}, blob.Extent{Content: "a2", Size: 4})
	app.BlobType = blob.BlobTypeAppend
	put(t, s, ka, app)
	kp := key("c", "page")
	pg := record(kp, "0x2",
		blob.Extent{Content: "p1", Size: 512, Offset: 1024},
		blob.Extent{Content: "p2", Size: 1024, Offset: 1 << 40, ContentOffset: 512})
	pg.BlobType, pg.Size, pg.SequenceNumber = blob.BlobTypePage, 2<<40, 7
	put(t, s, kp, pg)
	for _, want := range []*blob.BlobRecord{app, pg} {
		got, err := s.GetBlob(ctx, key("c", want.Name))
		must(t, err)
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, *want)
		}
	}
	// Same extents, new state.
	for _, k := range []blob.BlobKey{ka, kp} {
		_, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
			n := *st.Blob
			n.Sealed, n.SequenceNumber, n.ETag = k == ka, 9, "0x3"
			return blob.BlobWrite{Blob: &n}, nil
		})
		must(t, err)
	}
	got, err := s.GetBlob(ctx, ka)
	must(t, err)
	if !got.Sealed || got.BlobType != blob.BlobTypeAppend || len(got.Extents) != 2 {
		t.Fatalf("sealing was not stored: %+v", got)
	}
	got, err = s.GetBlob(ctx, kp)
	must(t, err)
	if got.SequenceNumber != 9 || got.Sealed || !reflect.DeepEqual(got.Extents, pg.Extents) {
		t.Fatalf("sequence number was not stored: %+v", got)
	}
	list, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
	must(t, err)
	types := names(list, func(r blob.BlobRecord) string { return r.BlobType })
	if !reflect.DeepEqual(types, []string{blob.BlobTypeAppend, blob.BlobTypePage}) {
		t.Fatalf("listed types %v", types)
	}
	// A block blob replacing a page blob loses the page blob's state.
	put(t, s, kp, record(kp, "0x4", blob.Extent{Content: "b", Size: 1}))
	got, err = s.GetBlob(ctx, kp)
	must(t, err)
	if got.BlobType != blob.BlobTypeBlock || got.SequenceNumber != 0 || got.Extents[0].Offset != 0 {
		t.Fatalf("replaced page blob: %+v", got)
	}
}
