package sqlmeta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// Blob versions on the SQL metastore, written by two nodes at once (two Services on one
// database, sharing the content directory): every acknowledged write is a version both
// nodes read, with its data, under one id; a delete through one node leaves the versions
// both see, and an undelete through the other restores what a version delete
// soft-deleted.
func TestVersionsOnSQL(t *testing.T) {
	blobEngines(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.Store, func(t *testing.T) *sqlstore.Store)) {
		s1, again := open(t)
		s2 := again(t)
		ctx := t.Context()
		dir := t.TempDir()
		policy := func(context.Context, string) (blobs.Policy, error) {
			return blobs.Policy{Versioning: true, RetentionDays: 1}, nil
		}
		var nodes []*blobs.Service
		for _, s := range []*sqlstore.Store{s1, s2} {
			content, err := fscontent.Open(dir)
			blobMust(t, err)
			svc, err := blobs.Open(ctx, blobs.Config{Meta: newBlobMeta(s.Handle(), testOwnerTiming), Content: content,
				GCInterval: -1, SharedContent: true, Policy: policy})
			blobMust(t, err)
			t.Cleanup(func() { svc.Close() })
			nodes = append(nodes, svc)
		}
		_, err := nodes[0].CreateContainer(ctx, "acct", "ctr", nil)
		blobMust(t, err)
		key := blobs.BlobKey{Account: "acct", Container: "ctr", Name: "doc"}

		const writers, each = 4, 5
		var mu sync.Mutex
		written := map[string]string{} // version id -> data
		var wg sync.WaitGroup
		for w := range writers {
			svc := nodes[w%2]
			wg.Go(func() {
				for i := range each {
					data := fmt.Sprintf("<%d.%d>", w, i)
					res, err := svc.PutBlob(ctx, blobs.PutBlobInput{Key: key, Body: bytes.NewReader([]byte(data)), Size: int64(len(data))})
					if err != nil {
						t.Errorf("put: %v", err)
						return
					}
					mu.Lock()
					if _, dup := written[res.VersionID]; dup || res.VersionID == "" {
						t.Errorf("version id %q given twice or empty", res.VersionID)
					}
					written[res.VersionID] = data
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		readVersions := func(what string, want map[string]string) {
			t.Helper()
			for _, node := range nodes {
				for id, data := range want {
					r, err := node.GetBlob(ctx, key, blobs.GetBlobOptions{Version: id})
					if err != nil {
						t.Fatalf("%s: version %s: %v", what, id, err)
					}
					got, err := io.ReadAll(r)
					r.Close()
					if err != nil || string(got) != data {
						t.Fatalf("%s: version %s reads %q (%v), want %q", what, id, got, err, data)
					}
				}
				res, err := node.ListBlobs(ctx, "acct", "ctr", blobs.ListBlobsOptions{Versions: true})
				blobMust(t, err)
				if len(res.Entries) != len(want) {
					t.Fatalf("%s: %d versions listed, want %d", what, len(res.Entries), len(want))
				}
			}
		}
		readVersions("after the writes", written)

		blobMust(t, nodes[0].DeleteBlob(ctx, key, blobs.Conditions{}))
		if _, err := nodes[1].GetBlobProperties(ctx, key, blobs.Conditions{}); blobs.CodeOf(err) != blobs.CodeBlobNotFound {
			t.Fatalf("the deleted blob on the other node: %v", err)
		}
		readVersions("after the delete", written)

		var some string
		for id := range written {
			some = id
			break
		}
		blobMust(t, nodes[1].DeleteBlobWith(ctx, key, blobs.DeleteBlobOptions{Version: some}))
		if _, err := nodes[0].GetBlob(ctx, key, blobs.GetBlobOptions{Version: some}); blobs.CodeOf(err) != blobs.CodeBlobNotFound {
			t.Fatalf("a deleted version on the other node: %v", err)
		}
		blobMust(t, nodes[0].UndeleteBlob(ctx, key))
		readVersions("after the undelete", written)
	})
}
