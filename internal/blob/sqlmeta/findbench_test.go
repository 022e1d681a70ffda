package sqlmeta

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// TestFindBlobsReport measures FindBlobs on the SQL engines over LANYARD_BENCH_FIND_BLOBS
// tagged blobs (it runs only when that is set, e.g. 100000; PostgreSQL too with
// LANYARD_TEST_POSTGRES), against ListBlobs of a page of the same size as the baseline.
// The rows are filled in bulk transactions, not blob by blob. Run by bench/findtags.sh.
func TestFindBlobsReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LANYARD_BENCH_FIND_BLOBS"))
	if n <= 0 {
		t.Skip("set LANYARD_BENCH_FIND_BLOBS (e.g. 100000) to run")
	}
	engines := map[string]func() *sqlstore.Store{
		"sqlite": func() *sqlstore.Store { return openSQLite(t, filepath.Join(t.TempDir(), "lanyard.db")) },
	}
	if os.Getenv("LANYARD_TEST_POSTGRES") != "" {
		engines["postgres"] = func() *sqlstore.Store { return openPostgres(t, postgresDSN(t)) }
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open := engines[name]
		if open == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			m := newBlobMeta(open().Handle(), ownerTiming{})
			start := time.Now()
			fillTagged(t, m, n)
			t.Logf("filled %d tagged blobs in %s", n, time.Since(start).Round(time.Millisecond))
			if name == "postgres" {
				// What autovacuum does after a bulk load: without statistics the planner
				// may take the per-blob index for a container-scoped Find.
				if _, err := m.s.exec(context.Background(), "ANALYZE blob_tags"); err != nil {
					t.Fatal(err)
				}
			}
			reportFind(t, m, n)
		})
	}
}

const benchContainers = 10

func fillTagged(t *testing.T, m *blobMeta, n int) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for c := range benchContainers {
		if err := m.CreateContainer(ctx, blobs.Container{Account: "acct", Name: fmt.Sprintf("ctr%d", c), ETag: "0x1", LastModified: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	const chunk = 5000
	for from := 0; from < n; from += chunk {
		err := m.s.inTx(ctx, func(tx sqlDB) error {
			for i := from; i < min(from+chunk, n); i++ {
				k := blobs.BlobKey{Account: "acct", Container: fmt.Sprintf("ctr%d", i%benchContainers), Name: fmt.Sprintf("b%03d-%07d", (i/benchContainers)%100, i)}
				rec := &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{
					Container: k.Container, Name: k.Name, ETag: "0x1", LastModified: now, CreatedAt: now, BlobType: blobs.BlobTypeBlock,
					Tags: blobs.Tags{"tenant": fmt.Sprintf("t%05d", i/100), "kind": fmt.Sprintf("k%d", i%4), "seq": fmt.Sprintf("%07d", i)},
				}}
				vals, err := blobEntryArgs(rec, 0, 0)
				if err != nil {
					return err
				}
				if _, _, err := tx.insertBlobEntry(ctx, k, vals, entryCond{}); err != nil {
					return err
				}
				if err := tx.reindexTags(ctx, k, nil, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func reportFind(t *testing.T, m *blobMeta, n int) {
	ctx := context.Background()
	const queries = 1000
	tenants := n / 100
	run := func(name string, want int, fn func(i int) (int, error)) time.Duration {
		lat := make([]time.Duration, 0, queries)
		for i := range queries + queries/10 {
			t0 := time.Now()
			got, err := fn(i)
			d := time.Since(t0)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s: %d results, want %d", name, got, want)
			}
			if i >= queries/10 {
				lat = append(lat, d)
			}
		}
		slices.Sort(lat)
		p99 := lat[len(lat)*99/100]
		t.Logf("%-46s p50 %7.3f ms  p99 %7.3f ms", name, float64(lat[len(lat)/2])/1e6, float64(p99)/1e6)
		return p99
	}
	find := func(where, container string) (int, error) {
		q, err := blobs.ParseFindQuery(where, container)
		if err != nil {
			return 0, err
		}
		bs, err := m.FindBlobs(ctx, "acct", q, blobs.TagMarker{}, 5001)
		return len(bs), err
	}
	base := run("baseline: ListBlobs, 100 per page", 100, func(i int) (int, error) {
		bs, err := m.ListBlobs(ctx, "acct", fmt.Sprintf("ctr%d", i%benchContainers), fmt.Sprintf("b%03d", i%100), "", 100)
		return len(bs), err
	})
	ps := []time.Duration{
		run("FindBlobs: tenant = 'tN' (100)", 100, func(i int) (int, error) {
			return find(fmt.Sprintf("tenant = 't%05d'", (i*7919)%tenants), "")
		}),
		run("FindBlobs: tenant = 'tN' AND kind = 'k1' (25)", 25, func(i int) (int, error) {
			return find(fmt.Sprintf("tenant = 't%05d' AND kind = 'k1'", (i*7919)%tenants), "")
		}),
		run("FindBlobs: seq >= 'S' AND seq < 'S+100' (100)", 100, func(i int) (int, error) {
			lo := (i * 7919) % (n - 100)
			return find(fmt.Sprintf("seq >= '%07d' AND seq < '%07d'", lo, lo+100), "")
		}),
		run("FindBlobs in a container: tenant = 'tN' (10)", 10, func(i int) (int, error) {
			return find(fmt.Sprintf("tenant = 't%05d'", (i*7919)%tenants), fmt.Sprintf("ctr%d", i%benchContainers))
		}),
	}
	for _, p := range ps {
		t.Logf("p99 / baseline p99: %.2f (the goal is p99 < 20 ms; reported, not asserted)", float64(p)/float64(base))
	}
}
