package fscontent_test

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
)

// BenchmarkCommitSmall commits 1 KiB files, 16 at a time (Put Blob 1 KiB's content).
func BenchmarkCommitSmall(b *testing.B) {
	s, err := fscontent.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := make([]byte, 1024)
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w, err := s.Create(b.Context())
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := w.Write(data); err != nil {
				b.Error(err)
				return
			}
			if err := w.Commit(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
