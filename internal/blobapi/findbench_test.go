package blobapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/blobapi"
)

// TestFindBlobsByTagsReport measures Find Blobs by Tags through the HTTP API (TLS over
// loopback, the handler, the engine, fsmeta's tag index) over LANYARD_BENCH_FIND_BLOBS
// tagged blobs (it runs only when that is set, e.g. 100000), against List Blobs of a page
// of the same size as the baseline. The blobs are filled through the MetaStore directly,
// by concurrent writers sharing the journal's fsyncs. Run by bench/findtags.sh.
func TestFindBlobsByTagsReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LANYARD_BENCH_FIND_BLOBS"))
	if n <= 0 {
		t.Skip("set LANYARD_BENCH_FIND_BLOBS (e.g. 100000) to run")
	}
	queries := 2000
	if v, err := strconv.Atoi(os.Getenv("LANYARD_BENCH_FIND_QUERIES")); err == nil && v > 0 {
		queries = v
	}
	dir := t.TempDir()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const containers = 10
	start := time.Now()
	fill(t, meta, n, containers)
	t.Logf("filled %d tagged blobs in %s", n, time.Since(start).Round(time.Millisecond))

	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := blob.Open(context.Background(), blob.Config{Meta: meta, Content: content, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{auth: &fakeAuth{denied: map[string]bool{}}, svc: svc}
	e.h = &blobapi.Handler{Service: svc, Auth: e.auth, Accounts: accounts{account: "Standard_LRS"}}
	e.srv = httptest.NewTLSServer(e.h)
	defer func() { e.srv.Close(); svc.Close() }()
	c := e.srv.Client()

	tenants := n / 100 // 100 blobs per tenant
	run := func(name string, url func(i int) string, wantBlobs int) []time.Duration {
		lat := make([]time.Duration, 0, queries)
		for i := range queries + queries/10 {
			u := url(i)
			hr, err := http.NewRequest(http.MethodGet, e.srv.URL+u, nil)
			if err != nil {
				t.Fatal(err)
			}
			hr.Header.Set("Authorization", "Bearer token")
			hr.Header.Set("x-ms-version", "2026-12-06")
			t0 := time.Now()
			res, err := c.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, res)
			d := time.Since(t0)
			if res.StatusCode != 200 {
				t.Fatalf("%s: %d %s", u, res.StatusCode, body)
			}
			if i == 0 {
				if got := countBlobs(body); got != wantBlobs {
					t.Fatalf("%s: %d blobs, want %d", name, got, wantBlobs)
				}
			}
			if i >= queries/10 { // the first tenth warms up
				lat = append(lat, d)
			}
		}
		slices.Sort(lat)
		t.Logf("%-46s p50 %7.3f ms  p99 %7.3f ms  (%d requests)", name,
			ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), len(lat))
		return lat
	}
	q := func(where string) string {
		return "/" + account + "?comp=blobs&where=" + url.QueryEscape(where)
	}
	base := run("baseline: List Blobs, 100 per page", func(i int) string {
		return fmt.Sprintf("/%s/ctr%d?restype=container&comp=list&maxresults=100&prefix=%s", account, i%containers, url.QueryEscape(fmt.Sprintf("b%03d", i%100)))
	}, 100)
	eq := run("Find: tenant = 'tN' (100 of N blobs)", func(i int) string {
		return q(fmt.Sprintf("tenant = 't%05d'", (i*7919)%tenants))
	}, 100)
	and := run("Find: tenant = 'tN' AND kind = 'k1' (25)", func(i int) string {
		return q(fmt.Sprintf("tenant = 't%05d' AND kind = 'k1'", (i*7919)%tenants))
	}, 25)
	rng := run("Find: seq >= 'S' AND seq < 'S+100' (100)", func(i int) string {
		lo := (i * 7919) % (n - 100)
		return q(fmt.Sprintf("seq >= '%07d' AND seq < '%07d'", lo, lo+100))
	}, 100)
	ctr := run("Find in a container: tenant = 'tN' (10)", func(i int) string {
		return fmt.Sprintf("/%s/ctr%d?restype=container&comp=blobs&where=%s", account, i%containers,
			url.QueryEscape(fmt.Sprintf("tenant = 't%05d'", (i*7919)%tenants)))
	}, 10)
	p99 := func(l []time.Duration) time.Duration { return l[len(l)*99/100] }
	t.Logf("p99 / baseline p99: equality %.2f, and %.2f, range %.2f, container %.2f",
		ratio(p99(eq), p99(base)), ratio(p99(and), p99(base)), ratio(p99(rng), p99(base)), ratio(p99(ctr), p99(base)))
}

// fill commits n tagged blobs, spread over containers ctr0.., each with tenant (100 blobs
// per tenant, spread over the containers), kind (one of four) and seq (unique) tags.
func fill(t *testing.T, meta blob.MetaStore, n, containers int) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for c := range containers {
		if err := meta.CreateContainer(ctx, blob.Container{Account: account, Name: fmt.Sprintf("ctr%d", c), ETag: "0x1", LastModified: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	const writers = 64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				k := blob.BlobKey{Account: account, Container: fmt.Sprintf("ctr%d", i%containers), Name: fmt.Sprintf("b%03d-%07d", (i/containers)%100, i)}
				rec := &blob.BlobRecord{BlobProperties: blob.BlobProperties{
					Container: k.Container, Name: k.Name, ETag: "0x1", LastModified: now, CreatedAt: now, BlobType: blob.BlobTypeBlock,
					Tags: blob.Tags{"tenant": fmt.Sprintf("t%05d", i/100), "kind": fmt.Sprintf("k%d", i%4), "seq": fmt.Sprintf("%07d", i)},
				}}
				if _, err := meta.UpdateBlob(ctx, k, false, func(blob.BlobState) (blob.BlobWrite, error) {
					return blob.BlobWrite{Blob: rec}, nil
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func countBlobs(body string) int { return strings.Count(body, "<Blob>") }
