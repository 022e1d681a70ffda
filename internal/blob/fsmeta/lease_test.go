package fsmeta_test

import (
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// Leases are in the journal and in snapshots: a reopened store has them, whether it
// replays the journal or starts from a snapshot.
func TestLeasesSurviveReopen(t *testing.T) {
	for name, opts := range map[string]fsmeta.Options{"journal": {}, "snapshot": {CompactBytes: 1}} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			s := open(t, dir, opts)
			if err := s.CreateContainer(ctx, blob.Container{Account: "a", Name: "c", ETag: "0x1", LastModified: t0, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			putBlob(t, s, "b", "0x2")
			cl := blob.Lease{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Phase: blob.LeasePhaseLeased, Duration: blob.LeaseInfinite}
			bl := blob.Lease{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Phase: blob.LeasePhaseBreaking, Until: t0.Add(30 * time.Second)}
			if _, err := s.UpdateContainer(ctx, "a", "c", func(c blob.Container) (blob.Container, error) {
				c.Lease = cl
				return c, nil
			}); err != nil {
				t.Fatal(err)
			}
			k := blob.BlobKey{Account: "a", Container: "c", Name: "b"}
			if _, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
				n := *st.Blob
				n.Lease = bl
				return blob.BlobWrite{Blob: &n}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, opts)
			defer s.Close()
			c, err := s.GetContainer(ctx, "a", "c")
			if err != nil || c.Lease != cl {
				t.Fatalf("reopened container lease %+v (%v); want %+v", c.Lease, err, cl)
			}
			b, err := s.GetBlob(ctx, k)
			if err != nil || b.Lease != bl {
				t.Fatalf("reopened blob lease %+v (%v); want %+v", b.Lease, err, bl)
			}
		})
	}
}
