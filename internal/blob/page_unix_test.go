//go:build unix

package blob_test

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// A terabyte page blob with a few pages written costs a few pages of disk.
func TestPageBlobSparse(t *testing.T) {
	s, dir := newService(t)
	const tib = 1 << 40
	createPage(t, s, "huge", tib, 0)
	for _, off := range []int64{0, tib / 2, tib - 4*blob.PageSize} {
		if _, err := putPages(s, "huge", off, pages('z', 4), blob.SequenceConditions{}); err != nil {
			t.Fatal(err)
		}
	}
	if data, _ := read(t, s, "huge", &blob.Range{Start: tib/2 - 512, End: tib/2 + 511}); !bytes.Equal(data, append(pages(0, 1), pages('z', 1)...)) {
		t.Fatal("read around a written page differs")
	}
	if got := pageRanges(t, s, "huge", nil); len(got) != 3 {
		t.Fatalf("page ranges %v", got)
	}
	var used int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			used += st.Blocks * 512
		}
		return nil
	})
	if used > 16<<20 {
		t.Fatalf("a 1 TiB page blob with 12 pages uses %d bytes of disk", used)
	}
	t.Logf("disk used: %d bytes", used)
}
