package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// TestSharedContentRecovery: with a content store other nodes share, recovery must not
// take another node's upload in progress (a recent unreferenced file) for an orphan, but
// still removes old ones.
func TestSharedContentRecovery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	content.LimitPoolAge(time.Hour)
	// Two files no record references: one just written, one written long ago.
	var ids []blob.ContentID
	for range 2 {
		w, err := content.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("in progress elsewhere")); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID())
	}
	old := time.Now().Add(-blob.SharedOrphanAge - time.Hour)
	if err := setModTime(content, dir, ids[1], old); err != nil {
		t.Fatal(err)
	}
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := blob.Open(ctx, blob.Config{Meta: meta, Content: content, SharedContent: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := content.ModTime(ctx, ids[0]); err != nil {
		t.Errorf("recovery removed a recent unreferenced file (another node's upload?): %v", err)
	}
	if _, err := content.ModTime(ctx, ids[1]); err == nil {
		t.Error("recovery kept an old unreferenced file")
	}
}

// setModTime backdates a content file, found by walking the store's directory.
func setModTime(_ *fscontent.Store, dir string, id blob.ContentID, t time.Time) error {
	var path string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == string(id) {
			path = p
		}
		return err
	})
	if err != nil {
		return err
	}
	return os.Chtimes(path, t, t)
}
