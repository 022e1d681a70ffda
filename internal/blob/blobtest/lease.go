package blobtest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Leases of blobs and containers are part of their records: stored with them, read back
// by every read (Get, List), kept by a replacing write that keeps them, and changed by an
// update that changes only them.
func testLeases(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "leased")
	rec := record(k, "0x1", blob.Extent{Content: "x", Size: 3})
	put(t, s, k, rec)
	lease := blob.Lease{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Phase: blob.LeasePhaseLeased, Duration: 15,
		Until: t0.Add(15 * time.Second)}
	_, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
		n := *st.Blob
		n.Lease = lease
		return blob.BlobWrite{Blob: &n}, nil
	})
	must(t, err)
	want := *rec
	want.Lease = lease
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("a lease-only update:\n got %+v\nwant %+v", got, want)
	}
	list, err := s.ListBlobs(ctx, acct, "c", "", "", 10)
	must(t, err)
	if len(list) != 1 || list[0].Lease != lease {
		t.Fatalf("listed %+v; want the lease %+v", list, lease)
	}
	// Infinite and broken leases have no end time; a released one is the zero Lease.
	for _, l := range []blob.Lease{
		{ID: lease.ID, Phase: blob.LeasePhaseLeased, Duration: blob.LeaseInfinite},
		{ID: lease.ID, Phase: blob.LeasePhaseBreaking, Until: t0.Add(time.Minute)},
		{ID: lease.ID, Phase: blob.LeasePhaseBroken},
		{},
	} {
		_, err := s.UpdateBlob(ctx, k, true, func(st blob.BlobState) (blob.BlobWrite, error) {
			n := *st.Blob
			n.Lease = l
			return blob.BlobWrite{Blob: &n}, nil
		})
		must(t, err)
		got, err := s.GetBlob(ctx, k)
		must(t, err)
		if got.Lease != l {
			t.Fatalf("stored lease %+v, read back %+v", l, got.Lease)
		}
	}

	// Containers.
	_, err = s.UpdateContainer(ctx, acct, "c", func(c blob.Container) (blob.Container, error) {
		c.Lease = lease
		return c, nil
	})
	must(t, err)
	c, err := s.GetContainer(ctx, acct, "c")
	must(t, err)
	if c.Lease != lease {
		t.Fatalf("container lease %+v, want %+v", c.Lease, lease)
	}
	cs, err := s.ListContainers(ctx, acct, "", "", 10)
	must(t, err)
	if len(cs) != 1 || cs[0].Lease != lease {
		t.Fatalf("listed containers %+v; want the lease %+v", cs, lease)
	}
	_, err = s.UpdateContainer(ctx, acct, "c", func(c blob.Container) (blob.Container, error) {
		c.Lease = blob.Lease{}
		return c, nil
	})
	must(t, err)
	if c, err = s.GetContainer(ctx, acct, "c"); err != nil || !c.Lease.IsZero() {
		t.Fatalf("released container lease reads back as %+v (%v)", c.Lease, err)
	}
}

var errTaken = errors.New("lease taken")

// Concurrent acquires of one lease, each checking in its update that there is none, leave
// exactly one holder: the check and the write are one transaction. Several nodes sharing
// a store rely on it to use a lease as a lock.
func testConcurrentLeaseAcquire(t *testing.T, s blob.MetaStore) {
	ctx := t.Context()
	mkContainer(t, s, "c")
	k := key("c", "lock")
	put(t, s, k, record(k, "0x1"))
	const n = 8
	var wg sync.WaitGroup
	won := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			_, err := s.UpdateBlob(ctx, k, false, func(st blob.BlobState) (blob.BlobWrite, error) {
				if !st.Blob.Lease.IsZero() {
					return blob.BlobWrite{}, errTaken
				}
				next := *st.Blob
				next.Lease = blob.Lease{ID: id, Phase: blob.LeasePhaseLeased, Duration: blob.LeaseInfinite}
				return blob.BlobWrite{Blob: &next}, nil
			})
			switch {
			case err == nil:
				won <- id
			case !errors.Is(err, errTaken):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for id := range won {
		winners = append(winners, id)
	}
	if len(winners) != 1 {
		t.Fatalf("%d acquires succeeded (%v); want exactly one", len(winners), winners)
	}
	got, err := s.GetBlob(ctx, k)
	must(t, err)
	if got.Lease.ID != winners[0] {
		t.Fatalf("stored lease %q; the winner was %q", got.Lease.ID, winners[0])
	}
}
