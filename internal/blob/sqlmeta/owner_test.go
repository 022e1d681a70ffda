package sqlmeta

import (
	"io"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

func setN(t *testing.T, m blobs.MetaStore, k blobs.BlobKey, n int) {
	t.Helper()
	putRec(t, m, k, blobs.BlobRecord{BlobProperties: blobs.BlobProperties{ETag: "0x1", Metadata: blobs.Metadata{"n": strconv.Itoa(n)}}})
}

func getN(t *testing.T, m blobs.MetaStore, k blobs.BlobKey) string {
	t.Helper()
	rec, err := m.GetBlob(t.Context(), k)
	blobMust(t, err)
	return rec.Metadata["n"]
}

// The owner answers reads from memory: a change made behind its back, bypassing the
// guards every write carries, goes unseen. No real writer can do that (see
// TestBlobOwnerGivesWay).
func TestBlobOwnerAnswersFromMemory(t *testing.T) {
	s := openPostgres(t, postgresDSN(t))
	m := openBlobMeta(t, s, testOwnerTiming)
	waitOwner(t, m)
	newCtr(t, m, "c")
	k := blobs.BlobKey{Account: "acct", Container: "c", Name: "b"}
	setN(t, m, k, 1)
	if got := getN(t, m, k); got != "1" {
		t.Fatalf("n = %s, want 1", got)
	}
	if _, err := s.Handle().Exec(t.Context(), `UPDATE blob_entries SET metadata = '{"n":"behind"}'`); err != nil {
		t.Fatal(err)
	}
	if got := getN(t, m, k); got != "1" {
		t.Fatalf("n = %s after a change behind the owner's back: the read did not come from memory", got)
	}
	blobMust(t, m.Close())
	if m.ownership() != nil {
		t.Error("a closed MetaStore still owns the blob metadata")
	}
	if got := getN(t, openBlobMeta(t, s, ownerTiming{}), k); got != "behind" {
		t.Errorf("n = %s from the database", got)
	}
}

// Two nodes, each writing and reading one blob in turn: every read, on either node, sees
// the last write, including writes made while the other node owned the blob metadata and
// had the blob in memory.
func TestBlobOwnerGivesWay(t *testing.T) {
	dsn := postgresDSN(t)
	m1 := openBlobMeta(t, openPostgres(t, dsn), testOwnerTiming)
	m2 := openBlobMeta(t, openPostgres(t, dsn), testOwnerTiming)
	newCtr(t, m1, "c")
	k := blobs.BlobKey{Account: "acct", Container: "c", Name: "b"}
	setN(t, m1, k, 0)
	forced := 0
	for i := 1; i <= 40; i++ {
		w, r := m1, m2
		if i%2 == 1 {
			w, r = m2, m1
		}
		if i%4 < 2 {
			// Let one node take ownership (after the quiet period) and read the blob
			// into memory.
			for m1.ownership() == nil && m2.ownership() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			for _, m := range []*blobMeta{m1, m2} {
				if got := getN(t, m, k); got != strconv.Itoa(i-1) {
					t.Fatalf("before write %d: n = %s", i, got)
				}
			}
		}
		if r.ownership() != nil {
			forced++
		}
		setN(t, w, k, i)
		for _, m := range []*blobMeta{r, w, r} {
			if got := getN(t, m, k); got != strconv.Itoa(i) {
				t.Fatalf("after write %d: n = %s", i, got)
			}
		}
	}
	if forced == 0 {
		t.Error("no write was made while the other node owned the blob metadata")
	}
	t.Logf("%d of 40 writes took ownership from the other node", forced)
}

// An owner cut off from the database (its session gone on the server's side, unknown to
// it) answers from memory until its lease ends; a write on another node waits for that,
// so no read on the old owner returns what that write replaced.
func TestBlobOwnerCutOff(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skip("LANYARD_TEST_POSTGRES is not a URL")
	}
	p := newPartitionProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s1 := openPostgres(t, dsn)
	m1 := openBlobMeta(t, s1, ownerTiming{})
	m1.owner = newBlobOwner(u.String(), testOwnerTiming) // its ownership session only goes through p
	t.Cleanup(m1.owner.close)
	m2 := openBlobMeta(t, openPostgres(t, dsn), ownerTiming{})
	waitOwner(t, m1)
	newCtr(t, m1, "c")
	k := blobs.BlobKey{Account: "acct", Container: "c", Name: "b"}
	setN(t, m1, k, 1)
	if got := getN(t, m1, k); got != "1" {
		t.Fatalf("n = %s", got)
	}
	p.cut()
	if m1.ownership() == nil {
		t.Fatal("the owner noticed the cut at once; the test needs it not to")
	}
	setN(t, m2, k, 2)
	if m1.ownership() != nil {
		t.Error("a write on another node returned while the cut-off owner still answered from memory")
	}
	if got := getN(t, m1, k); got != "2" {
		t.Errorf("the old owner read n = %s after the other node's write", got)
	}
}

// partitionProxy forwards TCP connections to target until cut, which closes the server
// side of every connection and leaves the client side open and silent: to the server the
// client is gone, to the client nothing happened.
type partitionProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	isCut  bool
}

func newPartitionProxy(t *testing.T, target string) *partitionProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(t, c)
		}
	}()
	return p
}

func (p *partitionProxy) serve(t *testing.T, client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.isCut {
		p.mu.Unlock()
		server.Close()
		client.Close()
		return
	}
	p.conns = append(p.conns, server)
	p.mu.Unlock()
	t.Cleanup(func() { client.Close() })
	go func() { _, _ = io.Copy(server, client) }()
	_, _ = io.Copy(client, server) // the client side stays open after the server's ends
}

func (p *partitionProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for _, c := range p.conns {
		c.Close()
	}
}

// The owner creates blobs in batches (insertBatcher): many first writes at once, two per
// name, each an increment, lose none; one of each two finds no blob before it, and the
// other finds the first one's record.
func TestBlobOwnerBatchedCreates(t *testing.T) {
	m := openBlobMeta(t, openPostgres(t, postgresDSN(t)), testOwnerTiming)
	st := waitOwner(t, m)
	newCtr(t, m, "c")
	if _, err := m.GetContainer(t.Context(), "acct", "c"); err != nil { // the owner guesses only in a container it knows
		t.Fatal(err)
	}
	const names = 40
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first = map[string]string{} // name → the writer that found no blob
		prev  = map[string]string{} // name → the writer whose record the other found
	)
	for i := range 2 * names {
		wg.Go(func() {
			k := blobs.BlobKey{Account: "acct", Container: "c", Name: strconv.Itoa(i % names)}
			by := strconv.Itoa(i)
			res, err := m.UpdateBlob(t.Context(), k, false, func(st blobs.BlobState) (blobs.BlobWrite, error) {
				n := 0
				if st.Blob != nil {
					n, _ = strconv.Atoi(st.Blob.Metadata["n"])
				}
				return blobs.BlobWrite{Blob: &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{
					ETag: "0x1", Metadata: blobs.Metadata{"n": strconv.Itoa(n + 1), "by": by}}}}, nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Prev == nil {
				first[k.Name] += by
			} else {
				prev[k.Name] += res.Prev.Metadata["by"]
			}
		})
	}
	wg.Wait()
	for i := range names {
		k := blobs.BlobKey{Account: "acct", Container: "c", Name: strconv.Itoa(i)}
		if got := getN(t, m, k); got != "2" {
			t.Errorf("%s: n = %s after two increments", k.Name, got)
		}
		if first[k.Name] == "" || first[k.Name] != prev[k.Name] {
			t.Errorf("%s: writer %q found no blob, and the other found the record of %q", k.Name, first[k.Name], prev[k.Name])
		}
	}
	if now := m.ownership(); now == nil || now.epoch != st.epoch {
		t.Log("ownership changed during the test; the guesses may not all have been tried")
	}
}

// What the owner keeps of its own writes is what a read of the row returns.
func TestBlobOwnerKeepsWhatIsStored(t *testing.T) {
	dsn := postgresDSN(t)
	m := openBlobMeta(t, openPostgres(t, dsn), testOwnerTiming)
	db := openBlobMeta(t, openPostgres(t, dsn), ownerTiming{})
	waitOwner(t, m)
	newCtr(t, m, "c")
	if _, err := m.GetContainer(t.Context(), "acct", "c"); err != nil {
		t.Fatal(err)
	}
	recs := []blobs.BlobRecord{
		{},
		{BlobProperties: blobs.BlobProperties{Size: 3, ETag: "0x1", LastModified: bt0.Add(123456789), CreatedAt: bt0,
			HTTPHeaders: blobs.HTTPHeaders{ContentType: "text/plain; charset=\xe9", ContentMD5: []byte{}, CacheControl: "no-cache"},
			Metadata:    blobs.Metadata{}}, Extents: []blobs.Extent{}},
		{BlobProperties: blobs.BlobProperties{Size: 7, ETag: "0x2", BlobType: blobs.BlobTypeBlock, Metadata: blobs.Metadata{"a": "1", "b": ""},
			HTTPHeaders: blobs.HTTPHeaders{ContentMD5: []byte{1, 2, 3}, ContentDisposition: "attachment; filename=\"\xff\""}},
			Extents: []blobs.Extent{{Content: "x", Size: 3}, {BlockID: "QUFB", Content: "y", Size: 4}}},
	}
	for i, rec := range recs {
		for _, write := range []string{"create", "overwrite"} {
			k := blobs.BlobKey{Account: "acct", Container: "c", Name: strconv.Itoa(i)}
			putRec(t, m, k, rec)
			kept, err := m.GetBlob(t.Context(), k)
			blobMust(t, err)
			stored, err := db.GetBlob(t.Context(), k)
			blobMust(t, err)
			if !reflect.DeepEqual(kept, stored) {
				t.Errorf("record %d, %s: the owner kept\n%#v\nthe database holds\n%#v", i, write, kept, stored)
			}
		}
	}
}
