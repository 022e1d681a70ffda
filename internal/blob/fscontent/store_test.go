package fscontent_test

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
)

func write(t *testing.T, s *fscontent.Store, data string, commit bool) blob.ContentID {
	t.Helper()
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := w.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil { // a no-op after Commit
			t.Fatal(err)
		}
	} else if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}

func walk(t *testing.T, s *fscontent.Store) []string {
	t.Helper()
	var ids []string
	if err := s.Walk(t.Context(), func(id blob.ContentID) error { ids = append(ids, string(id)); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func TestContentLifecycle(t *testing.T) {
	dir := t.TempDir()
	s, err := fscontent.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept := write(t, s, "kept data", true)
	aborted := write(t, s, "aborted", false)
	f, err := s.Open(t.Context(), kept)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 5); err != nil || string(buf) != "data" {
		t.Fatalf("ReadAt: %q %v", buf, err)
	}
	f.Close()
	if _, err := s.Open(t.Context(), aborted); err == nil {
		t.Fatal("aborted content is readable")
	}
	if _, err := s.Open(t.Context(), "../../etc/passwd"); err == nil {
		t.Fatal("malformed id opened")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close removed the unused pre-created files; only the committed one is left.
	s, err = fscontent.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.WriteFile(filepath.Join(dir, "00", "stray.tmp"), nil, 0o640)
	if got := walk(t, s); len(got) != 1 || got[0] != string(kept) {
		t.Fatalf("Walk = %v, want [%s]", got, kept)
	}
	if _, err := os.Stat(filepath.Join(dir, "00", "stray.tmp")); !os.IsNotExist(err) {
		t.Fatal("stray file not removed by Walk")
	}
	if err := s.Remove(t.Context(), kept, kept, "ffffffffffffffffffffffffffffffff"); err != nil {
		t.Fatal(err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Fatalf("after Remove: %v", got)
	}
}

func TestConcurrentCommits(t *testing.T) {
	s, err := fscontent.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	ids := make([]blob.ContentID, 200)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = write(t, s, "x", true)
		}()
	}
	wg.Wait()
	seen := map[blob.ContentID]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %s handed out twice", id)
		}
		seen[id] = true
		f, err := s.Open(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
