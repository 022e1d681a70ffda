package sqlmeta

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// Append and page blobs on the SQL metastore, written by two nodes (two Services on one
// database, sharing the content directory) at once: every appended block lands exactly
// once, and page writes of both nodes read back.
func TestAppendAndPageOnSQL(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s1, again := open(t)
		s2 := again(t)
		ctx := t.Context()
		dir := t.TempDir()
		var nodes []*blobs.Service
		for _, s := range []*sqlstore.Store{s1, s2} {
			content, err := fscontent.Open(dir)
			blobMust(t, err)
			svc, err := blobs.Open(ctx, blobs.Config{Meta: newBlobMeta(s.Handle(), testOwnerTiming), Content: content,
				GCInterval: -1, SharedContent: true})
			blobMust(t, err)
			t.Cleanup(func() { svc.Close() })
			nodes = append(nodes, svc)
		}
		_, err := nodes[0].CreateContainer(ctx, "acct", "ctr", nil)
		blobMust(t, err)
		key := func(n string) blobs.BlobKey { return blobs.BlobKey{Account: "acct", Container: "ctr", Name: n} }
		_, err = nodes[0].CreateAppendBlob(ctx, blobs.CreateBlobInput{Key: key("log")})
		blobMust(t, err)
		_, err = nodes[1].CreatePageBlob(ctx, blobs.CreateBlobInput{Key: key("disk"), Size: 64 * blobs.PageSize, SequenceNumber: 1})
		blobMust(t, err)

		const writers, each = 4, 10
		var wg sync.WaitGroup
		for w := range writers {
			svc := nodes[w%2]
			wg.Go(func() {
				for i := range each {
					data := fmt.Appendf(nil, "<%d.%d>", w, i)
					if _, err := svc.AppendBlock(ctx, blobs.AppendBlockInput{Key: key("log"), Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
						t.Errorf("append: %v", err)
						return
					}
					page := int64(w*each + i)
					if _, err := svc.PutPages(ctx, blobs.PutPagesInput{Key: key("disk"), Start: page * blobs.PageSize, End: (page+1)*blobs.PageSize - 1,
						Body: bytes.NewReader(bytes.Repeat([]byte{byte('A' + page)}, blobs.PageSize))}); err != nil {
						t.Errorf("put pages: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		read := func(svc *blobs.Service, name string) ([]byte, blobs.BlobProperties) {
			r, err := svc.GetBlob(ctx, key(name), blobs.GetBlobOptions{})
			blobMust(t, err)
			defer r.Close()
			data, err := io.ReadAll(r)
			blobMust(t, err)
			return data, r.Properties
		}
		data, p := read(nodes[1], "log")
		if p.BlobType != blobs.BlobTypeAppend || p.CommittedBlockCount != writers*each {
			t.Fatalf("append blob properties %+v", p)
		}
		for w := range writers {
			for i := range each {
				if n := bytes.Count(data, fmt.Appendf(nil, "<%d.%d>", w, i)); n != 1 {
					t.Fatalf("block %d.%d present %d times", w, i, n)
				}
			}
		}
		data, p = read(nodes[0], "disk")
		if p.BlobType != blobs.BlobTypePage || p.SequenceNumber != 1 || len(data) != 64*blobs.PageSize {
			t.Fatalf("page blob properties %+v", p)
		}
		for page := range 64 {
			want := byte(0)
			if page < writers*each {
				want = byte('A' + page)
			}
			if got := data[page*blobs.PageSize : (page+1)*blobs.PageSize]; !bytes.Equal(got, bytes.Repeat([]byte{want}, blobs.PageSize)) {
				t.Fatalf("page %d holds %q...", page, got[:4])
			}
		}
		if _, err := nodes[1].SealAppendBlob(ctx, key("log"), blobs.Conditions{}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[0].AppendBlock(ctx, blobs.AppendBlockInput{Key: key("log"), Body: bytes.NewReader([]byte("x")), Size: 1}); blobs.CodeOf(err) != blobs.CodeBlobIsSealed {
			t.Fatalf("append to a blob sealed by the other node: %v", err)
		}
	})
}
