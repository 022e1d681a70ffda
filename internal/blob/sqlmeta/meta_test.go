package sqlmeta

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/blobtest"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// blobEngines runs fn once per engine: SQLite always, PostgreSQL when LANYARD_TEST_POSTGRES
// is set. open returns a new Store on a fresh database and a function that opens another
// handle on that same database (another node).
func blobEngines(t *testing.T, fn func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store))) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store) {
			path := filepath.Join(t.TempDir(), "lanyard.db")
			return openSQLite(t, path), func(t *testing.T) *sqlstore.Store { return openSQLite(t, path) }
		})
	})
	t.Run("postgres", func(t *testing.T) {
		postgresDSN(t) // skips without a database
		fn(t, func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store) {
			dsn := postgresDSN(t)
			return openPostgres(t, dsn), func(t *testing.T) *sqlstore.Store { return openPostgres(t, dsn) }
		})
	})
}

func TestBlobMetaConformanceSQLite(t *testing.T) {
	blobtest.RunMetaStore(t, func(t *testing.T) blobs.MetaStore {
		return New(openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db")).Handle())
	})
}

// On PostgreSQL the suite runs three times: on a node that owns the blob metadata (and
// answers reads from memory), on one that never does, and on one that contends for it
// with another node, so that writes keep taking ownership from one to the other.
func TestBlobMetaConformancePostgres(t *testing.T) {
	postgresDSN(t) // skip early, before any subtest, when there is no database
	t.Run("owner", func(t *testing.T) {
		blobtest.RunMetaStore(t, func(t *testing.T) blobs.MetaStore {
			m := newBlobMeta(openPostgres(t, postgresDSN(t)).Handle(), testOwnerTiming)
			waitOwner(t, m)
			return m
		})
	})
	t.Run("not-owner", func(t *testing.T) {
		blobtest.RunMetaStore(t, func(t *testing.T) blobs.MetaStore {
			return newBlobMeta(openPostgres(t, postgresDSN(t)).Handle(), ownerTiming{})
		})
	})
	t.Run("contended", func(t *testing.T) {
		blobtest.RunMetaStore(t, func(t *testing.T) blobs.MetaStore {
			dsn := postgresDSN(t)
			eager := testOwnerTiming
			eager.quiet = 30 * time.Millisecond
			openBlobMeta(t, openPostgres(t, dsn), eager)
			return newBlobMeta(openPostgres(t, dsn).Handle(), eager)
		})
	})
}

// testOwnerTiming makes ownership change hands quickly (see ownerTiming).
var testOwnerTiming = ownerTiming{lease: time.Second, renew: 100 * time.Millisecond, retry: 20 * time.Millisecond, quiet: 100 * time.Millisecond}

// openBlobMeta returns s's blob metadata store, closed when t ends.
func openBlobMeta(t *testing.T, s *sqlstore.Store, timing ownerTiming) *blobMeta {
	m := newBlobMeta(s.Handle(), timing)
	t.Cleanup(func() { m.Close() })
	return m
}

// waitOwner waits for m to own the blob metadata, and returns the ownership.
func waitOwner(t *testing.T, m *blobMeta) *ownerState {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st := m.ownership(); st != nil {
			return st
		}
	}
	t.Fatal("the node never became the owner of the blob metadata")
	return nil
}

var bt0 = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func blobMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newCtr(t *testing.T, m blobs.MetaStore, name string) {
	t.Helper()
	blobMust(t, m.CreateContainer(t.Context(), blobs.Container{Account: "acct", Name: name, ETag: "0x1", LastModified: bt0, CreatedAt: bt0}))
}

func putRec(t *testing.T, m blobs.MetaStore, k blobs.BlobKey, rec blobs.BlobRecord) {
	t.Helper()
	_, err := m.UpdateBlob(t.Context(), k, false, func(blobs.BlobState) (blobs.BlobWrite, error) {
		return blobs.BlobWrite{Blob: &rec, DropBlocks: true}, nil
	})
	blobMust(t, err)
}

// Closing the MetaStore leaves the shared Store open; the MetaStore refuses later calls.
func TestBlobMetaCloseKeepsStore(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db"))
	m := openBlobMeta(t, s, testOwnerTiming)
	newCtr(t, m, "c")
	blobMust(t, m.Close())
	if err := s.PutSetting(t.Context(), "x", []byte("y")); err != nil {
		t.Fatalf("the store is unusable after the MetaStore closed: %v", err)
	}
	if _, err := m.GetContainer(t.Context(), "acct", "c"); err == nil {
		t.Fatal("a closed MetaStore answered")
	}
	if _, err := openBlobMeta(t, s, testOwnerTiming).GetContainer(t.Context(), "acct", "c"); err != nil {
		t.Fatalf("a new MetaStore on the store: %v", err)
	}
}

// Values no text column holds byte for byte still round-trip (HTTP properties are bytes),
// and listing bounds that are not valid UTF-8 (a marker past a prefix, a truncated
// character) select what a bytewise comparison would.
func TestBlobMetaBytes(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s, _ := open(t)
		m := openBlobMeta(t, s, testOwnerTiming)
		if s.Handle().DSN() != "" {
			waitOwner(t, m) // reads come from memory: they must round-trip too
		}
		ctx := t.Context()
		newCtr(t, m, "c")
		k := blobs.BlobKey{Account: "acct", Container: "c", Name: "a日"}
		want := blobs.BlobRecord{BlobProperties: blobs.BlobProperties{Container: "c", Name: "a日", Size: 1,
			HTTPHeaders: blobs.HTTPHeaders{ContentType: "text/plain; charset=\xe9", ContentDisposition: "attachment; filename=\"\xff\xfe\""},
			ETag:        "0x1", LastModified: bt0, CreatedAt: bt0, BlobType: blobs.BlobTypeBlock},
			Extents: []blobs.Extent{{Content: "x", Size: 1}}}
		putRec(t, m, k, want)
		got, err := m.GetBlob(ctx, k)
		blobMust(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		names := []string{"a", "a日", "a日x", "a本", "a\uffff", "b", "\U0010FFFF"}
		for _, n := range names[2:] {
			k := blobs.BlobKey{Account: "acct", Container: "c", Name: n}
			putRec(t, m, k, blobs.BlobRecord{BlobProperties: blobs.BlobProperties{ETag: "0x1", LastModified: bt0, CreatedAt: bt0}})
		}
		putRec(t, m, blobs.BlobKey{Account: "acct", Container: "c", Name: "a"}, blobs.BlobRecord{BlobProperties: blobs.BlobProperties{ETag: "0x1"}})
		sort.Strings(names)
		for _, c := range []struct{ prefix, after string }{
			{"a\xe6\x97", ""}, {"a\xe6", ""}, {"", "a\xe6\x97"}, {"", "a\xe6\x97\xa5\xff"}, {"a", "a\xff"}, {"", "\x00"},
			{"a\x00", ""}, {"", "a\x00"}, {"\xff", ""}, {"", "\xf4\x90"}, {"a\xef\xbf\xbf", ""}, {"", "a\xef\xbf\xbf\xff"},
		} {
			var want []string
			for _, n := range names {
				if len(n) >= len(c.prefix) && n[:len(c.prefix)] == c.prefix && n > c.after {
					want = append(want, n)
				}
			}
			recs, err := m.ListBlobs(ctx, "acct", "c", c.prefix, c.after, 100)
			blobMust(t, err)
			var got []string
			for _, r := range recs {
				got = append(got, r.Name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ListBlobs(%q, %q) = %q, want %q", c.prefix, c.after, got, want)
			}
		}
		// Unstorable names exist nowhere.
		if _, err := m.GetBlob(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "\xff"}); lanyard.CodeOf(err) != blobs.CodeBlobNotFound {
			t.Errorf("GetBlob of an invalid name: %v", err)
		}
		if _, err := m.GetContainer(ctx, "acct", "c\x00"); lanyard.CodeOf(err) != blobs.CodeContainerNotFound {
			t.Errorf("GetContainer of an invalid name: %v", err)
		}
		if err := m.CreateContainer(ctx, blobs.Container{Account: "acct", Name: "\xff"}); lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("CreateContainer of an invalid name: %v", err)
		}
	})
}

// Two Store handles on one database stand for two nodes: writers of one blob on both
// never lose an update, including the first writes that create the blob's row, and the
// staged-block count stays exact.
func TestBlobMetaTwoNodes(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s1, again := open(t)
		s2 := again(t)
		m1, m2 := openBlobMeta(t, s1, testOwnerTiming), openBlobMeta(t, s2, testOwnerTiming)
		ctx := t.Context()
		newCtr(t, m1, "c")
		const per = 15
		var wg sync.WaitGroup
		for i, m := range []blobs.MetaStore{m1, m2, m1, m2, m1, m2} {
			wg.Go(func() {
				for j := range per {
					_, err := m.UpdateBlob(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "counter"}, false,
						func(st blobs.BlobState) (blobs.BlobWrite, error) {
							n := 0
							if st.Blob != nil {
								n, _ = strconv.Atoi(st.Blob.Metadata["n"])
							}
							return blobs.BlobWrite{Blob: &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{
								ETag: "0x1", Metadata: blobs.Metadata{"n": strconv.Itoa(n + 1)}}}}, nil
						})
					if err != nil {
						t.Errorf("UpdateBlob: %v", err)
						return
					}
					bid := fmt.Sprintf("%02d%02d", i, j) // 4 characters, all distinct
					if _, err := m.PutBlock(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "staged"},
						blobs.Block{ID: bid, Size: 1, Content: blobs.ContentID("c" + bid), CreatedAt: bt0},
						func(blobs.BlockSummary) error { return nil }); err != nil {
						t.Errorf("PutBlock: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := m2.GetBlob(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "counter"})
		blobMust(t, err)
		if got.Metadata["n"] != strconv.Itoa(6*per) {
			t.Errorf("counter = %s, want %d: lost updates", got.Metadata["n"], 6*per)
		}
		bs, err := m1.ListBlocks(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "staged"})
		blobMust(t, err)
		var sum blobs.BlockSummary
		_, err = m2.PutBlock(ctx, blobs.BlobKey{Account: "acct", Container: "c", Name: "staged"},
			blobs.Block{ID: "0000", Size: 1, Content: "x", CreatedAt: bt0}, func(s blobs.BlockSummary) error { sum = s; return nil })
		blobMust(t, err)
		if len(bs) != 6*per || sum.Count != 6*per || !sum.Replaces || sum.IDLength != 3 {
			t.Errorf("%d blocks listed, summary %+v; want %d", len(bs), sum, 6*per)
		}
	})
}

// The Blob engine itself on the SQL metastore: uploads, block lists, hierarchical
// listings (whose markers are not valid UTF-8), garbage collection, container deletion.
// Closing the Service closes the MetaStore but not the Store.
func TestBlobServiceOnSQL(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s, _ := open(t)
		ctx := t.Context()
		dir := t.TempDir()
		now := bt0
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		var closers []func() error
		t.Cleanup(func() { // Fatal leaves services open; their files must go before dir
			for _, c := range closers {
				c()
			}
		})
		openSvc := func() *blobs.Service {
			content, err := fscontent.Open(dir)
			blobMust(t, err)
			svc, err := blobs.Open(ctx, blobs.Config{Meta: newBlobMeta(s.Handle(), testOwnerTiming), Content: content, Now: clock, GCInterval: -1})
			blobMust(t, err)
			closers = append(closers, sync.OnceValue(svc.Close))
			return svc
		}
		closeSvc := func() { blobMust(t, closers[len(closers)-1]()) }
		svc := openSvc()
		_, err := svc.CreateContainer(ctx, "acct", "ctr", blobs.Metadata{"k": "v"})
		blobMust(t, err)
		key := func(n string) blobs.BlobKey { return blobs.BlobKey{Account: "acct", Container: "ctr", Name: n} }
		for _, n := range []string{"a/1", "a/2", "a/b/3", "b", "c/日本/x"} {
			_, err := svc.PutBlob(ctx, blobs.PutBlobInput{Key: key(n), Body: bytes.NewReader([]byte(n)), Size: int64(len(n)),
				Headers: blobs.HTTPHeaders{ContentType: "text/plain"}, Metadata: blobs.Metadata{"name": "x"}})
			blobMust(t, err)
		}
		for i, id := range []string{"QUFB", "QkJC"} {
			data := bytes.Repeat([]byte{byte('0' + i)}, 10)
			_, err := svc.PutBlock(ctx, key("blocks"), id, bytes.NewReader(data), int64(len(data)), nil, nil)
			blobMust(t, err)
		}
		_, err = svc.PutBlockList(ctx, blobs.PutBlockListInput{Key: key("blocks"),
			Blocks: []blobs.BlockListItem{{ID: "QkJC", Kind: blobs.BlockLatest}, {ID: "QUFB", Kind: blobs.BlockLatest}}})
		blobMust(t, err)
		r, err := svc.GetBlob(ctx, key("blocks"), blobs.GetBlobOptions{})
		blobMust(t, err)
		data, err := io.ReadAll(r)
		r.Close()
		blobMust(t, err)
		if string(data) != "11111111110000000000" {
			t.Errorf("block blob reads %q", data)
		}

		var got []string
		marker := ""
		for {
			page, err := svc.ListBlobs(ctx, "acct", "ctr", blobs.ListBlobsOptions{Delimiter: "/", Marker: marker, MaxResults: 2})
			blobMust(t, err)
			for _, e := range page.Entries {
				if e.Prefix != "" {
					got = append(got, e.Prefix)
				} else {
					got = append(got, e.Blob.Name)
				}
			}
			if marker = page.NextMarker; marker == "" {
				break
			}
		}
		if want := []string{"a/", "b", "blocks", "c/"}; !reflect.DeepEqual(got, want) {
			t.Errorf("hierarchical listing = %q, want %q", got, want)
		}

		// A staged block left behind expires.
		_, err = svc.PutBlock(ctx, key("abandoned"), "QUFB", bytes.NewReader([]byte("x")), 1, nil, nil)
		blobMust(t, err)
		mu.Lock()
		now = now.Add(blobs.UncommittedBlockTTL + time.Hour)
		mu.Unlock()
		blobMust(t, svc.CollectGarbage(ctx))
		if bl, err := svc.GetBlockList(ctx, key("abandoned"), blobs.ListAll); lanyard.CodeOf(err) != blobs.CodeBlobNotFound {
			t.Errorf("expired blocks remain: %+v, %v", bl, err)
		}

		// Recovery on reopen keeps every referenced content file.
		closeSvc()
		svc = openSvc()
		r, err = svc.GetBlob(ctx, key("a/b/3"), blobs.GetBlobOptions{})
		blobMust(t, err)
		data, err = io.ReadAll(r)
		r.Close()
		blobMust(t, err)
		if string(data) != "a/b/3" {
			t.Errorf("after reopen reads %q", data)
		}

		blobMust(t, svc.DeleteContainer(ctx, "acct", "ctr", blobs.Conditions{}))
		if _, err := svc.GetBlob(ctx, key("b"), blobs.GetBlobOptions{}); lanyard.CodeOf(err) != blobs.CodeContainerNotFound {
			t.Errorf("after delete: %v", err)
		}
		if err := s.PutSetting(ctx, "still", []byte("open")); err != nil {
			t.Errorf("the store is unusable: %v", err)
		}
	})
}

// textAtLeast and blobListRange agree with plain bytewise comparison for every storable
// name, whatever bytes the bounds hold.
func TestBlobNameBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"\x00", "\x01", "a", "b", "\x7f", "\xc2", "\x80", "\xbf", "\xdf", "\xe0", "\xe6", "\x97", "\xa5",
		"\xed", "\x9f", "\xa0", "\xee", "\xef", "\xf0", "\xf4", "\x8f", "\x90", "\xf5", "\xff", "é", "日", "\uffff", "\U0010FFFF", "\ud7ff", "\ue000"}
	randStr := func(n int) string {
		var b []byte
		for range rng.IntN(n + 1) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	var names []string
	for len(names) < 3000 {
		if n := randStr(4); n != "" && storableText(n) { // names are never empty
			names = append(names, n)
		}
	}
	for range 3000 {
		x := randStr(4)
		b, ok := textAtLeast(x)
		if ok && !storableText(b) {
			t.Fatalf("textAtLeast(%q) = %q, not storable", x, b)
		}
		prefix, after := randStr(2), randStr(3)
		nr := blobListRange(prefix, after)
		for _, n := range names {
			if want := n >= x; want != (ok && n >= b) {
				t.Fatalf("textAtLeast(%q) = %q, %v: wrong for %q", x, b, ok, n)
			}
			want := len(n) >= len(prefix) && n[:len(prefix)] == prefix && n > after
			got := !nr.empty && (!nr.hasGT || n > nr.gt) && (!nr.hasGE || n >= nr.ge) && (!nr.hasLT || n < nr.lt)
			if want != got {
				t.Fatalf("blobListRange(%q, %q) = %+v: %q is in it: %v, want %v", prefix, after, nr, n, got, want)
			}
		}
		for _, v := range []string{nr.gt, nr.ge, nr.lt} {
			if !storableText(v) {
				t.Fatalf("blobListRange(%q, %q) = %+v holds an unstorable bound", prefix, after, nr)
			}
		}
	}
}

// Two first writes of one blob that both find no row: on PostgreSQL both callbacks run
// before either commits, the loser's insert fails and it runs again on the winner's
// state. No update is lost (SQLite, whose writers queue, just runs them in turn).
func TestBlobMetaFirstWriteRace(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s1, again := open(t)
		m1, m2 := openBlobMeta(t, s1, testOwnerTiming), openBlobMeta(t, again(t), testOwnerTiming)
		ctx := t.Context()
		newCtr(t, m1, "c")
		var (
			mu      sync.Mutex
			calls   int
			arrived = make(chan struct{}, 2)
		)
		// barrier lets each callback's first run wait (a little) for the other's.
		barrier := func() {
			mu.Lock()
			calls++
			first := calls <= 2
			mu.Unlock()
			if first {
				arrived <- struct{}{}
				deadline := time.After(200 * time.Millisecond)
				for len(arrived) < 2 {
					select {
					case <-deadline:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}
		}
		k := blobs.BlobKey{Account: "acct", Container: "c", Name: "new"}
		var wg sync.WaitGroup
		for _, m := range []blobs.MetaStore{m1, m2} {
			wg.Go(func() {
				_, err := m.UpdateBlob(ctx, k, false, func(st blobs.BlobState) (blobs.BlobWrite, error) {
					barrier()
					n := 0
					if st.Blob != nil {
						n, _ = strconv.Atoi(st.Blob.Metadata["n"])
					}
					return blobs.BlobWrite{Blob: &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{
						ETag: "0x1", Metadata: blobs.Metadata{"n": strconv.Itoa(n + 1)}}}}, nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := m1.GetBlob(ctx, k)
		blobMust(t, err)
		if got.Metadata["n"] != "2" {
			t.Errorf("n = %s after two updates", got.Metadata["n"])
		}
		if s1.Handle().RowLocks() && calls != 3 {
			t.Errorf("callbacks ran %d times, want 3 (both, then the loser again)", calls)
		}

		// The same for the first Put Block of a blob.
		calls = 0
		arrived = make(chan struct{}, 2)
		k = blobs.BlobKey{Account: "acct", Container: "c", Name: "staged"}
		for i, m := range []blobs.MetaStore{m1, m2} {
			wg.Go(func() {
				id := []string{"QUFB", "QkJC"}[i]
				_, err := m.PutBlock(ctx, k, blobs.Block{ID: id, Size: 1, Content: blobs.ContentID(id), CreatedAt: bt0},
					func(blobs.BlockSummary) error { barrier(); return nil })
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var sum blobs.BlockSummary
		_, err = m1.PutBlock(ctx, k, blobs.Block{ID: "Q0ND", Size: 1, Content: "c", CreatedAt: bt0},
			func(s blobs.BlockSummary) error { sum = s; return nil })
		blobMust(t, err)
		if sum.Count != 2 {
			t.Errorf("block count %d after two first blocks", sum.Count)
		}
	})
}
