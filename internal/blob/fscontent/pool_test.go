package fscontent

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"
)

// A pooled file older than the pool's age limit is removed, never handed out; a younger
// one is.
func TestPoolAgeLimit(t *testing.T) {
	ctx := t.Context()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.LimitPoolAge(time.Hour)
	fill := func() {
		w, err := s.Create(ctx) // starts a fill when the pool runs low
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Abort()
		s.pool.wg.Wait()
	}
	fill()
	s.pool.mu.Lock()
	stale := slices.Clone(s.pool.ids)
	for i := range s.pool.created {
		s.pool.created[i] = time.Now().Add(-2 * time.Hour)
	}
	s.pool.mu.Unlock()
	if len(stale) == 0 {
		t.Fatal("the pool did not fill")
	}
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if slices.Contains(stale, w.ID()) || w.(*writer).entryDurable {
		t.Fatalf("Create handed out a pooled file older than the limit")
	}
	for _, id := range stale {
		p, _, _ := s.path(id)
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale pooled file %s was not removed: %v", id, err)
		}
	}
	s.pool.wg.Wait()
	w2, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Abort()
	if !w2.(*writer).entryDurable {
		t.Errorf("Create did not use a fresh pooled file")
	}
}
