package blobtest

import (
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// A blob's tier state is part of its record: stored as given by any update (a pending
// rehydration included), read back by Get and List, and cleared by an update that clears
// it.
func testTiers(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "tiered")
	rec := record(k, "0x1", blob.Extent{Content: "x", Size: 3})
	put(t, s, k, rec)
	for _, tier := range []blob.AccessTier{
		{Tier: blob.TierCool, ChangedAt: t0},
		{Tier: blob.TierArchive, ChangedAt: t0.Add(time.Second)},
		{Tier: blob.TierArchive, ChangedAt: t0.Add(time.Second), RehydrateTo: blob.TierCold,
			RehydratePriority: blob.RehydrateHigh, RehydrateAt: t0.Add(time.Hour)},
		{},
	} {
		_, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
			n := *st.Blob
			n.Tier = tier
			return blob.BlobWrite{Blob: &n}, nil
		})
		must(t, err)
		want := *rec
		want.Tier = tier
		got, err := s.GetBlob(ctx, k)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("a tier-only update:\n got %+v\nwant %+v", got, want)
		}
		list, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
		must(t, err)
		if len(list) != 1 || !reflect.DeepEqual(list[0].Tier, tier) {
			t.Fatalf("listed %+v; want the tier %+v", list, tier)
		}
	}
}
