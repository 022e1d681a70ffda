package fsmeta_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// A blob's tier state, a pending rehydration included, is in the journal and in
// snapshots: a reopened store has it either way.
func TestTiersSurviveReopen(t *testing.T) {
	for name, opts := range map[string]fsmeta.Options{"journal": {}, "snapshot": {CompactBytes: 1}} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			s := open(t, dir, opts)
			if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			putBlob(t, s, "b", "0x2")
			tier := blob.AccessTier{Tier: blob.TierArchive, ChangedAt: t0, RehydrateTo: blob.TierCool,
				RehydratePriority: blob.RehydrateHigh, RehydrateAt: t0.Add(time.Hour)}
			k := blob.BlobKey{Account: "a", Container: "c", Name: "b"}
			if _, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
				n := *st.Blob
				n.Tier = tier
				return blob.BlobWrite{Blob: &n}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, opts)
			defer s.Close()
			b, err := s.GetBlob(ctx, k)
			if err != nil || !reflect.DeepEqual(b.Tier, tier) {
				t.Fatalf("reopened blob tier %+v (%v); want %+v", b.Tier, err, tier)
			}
		})
	}
}
