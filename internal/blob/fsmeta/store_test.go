package fsmeta_test

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/blobtest"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

func TestConformance(t *testing.T) {
	blobtest.RunMetaStore(t, func(t *testing.T) blob.MetaStore {
		s, err := fsmeta.Open(t.TempDir(), fsmeta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConformanceCompacting runs the suite with a tiny compaction threshold, so that
// snapshots are written while the suite's concurrent tests run.
func TestConformanceCompacting(t *testing.T) {
	blobtest.RunMetaStore(t, func(t *testing.T) blob.MetaStore {
		s, err := fsmeta.Open(t.TempDir(), fsmeta.Options{CompactBytes: 2048})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
