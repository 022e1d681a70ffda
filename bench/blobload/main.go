// Command blobload drives one Blob endpoint with the unmodified Go azblob client and
// prints what it measured as JSON. bench/blob.sh runs it against Azurite (shared key) and
// against Lanyard (bearer token from the managed-identity endpoint, RBAC on) one after the
// other on the same machine, and once more as a raw-disk baseline.
//
// Against Lanyard it authenticates as the user-assigned identity AZURE_CLIENT_ID names, or
// the app's system-assigned one.
//
// Usage:
//
//	blobload -target azurite -url https://127.0.0.1:PORT/devstoreaccount1
//	blobload -target lanyard -url https://127.0.0.1:PORT/acct   (run under `lanyard app run`)
//	blobload -target disk -dir DIR
//	blobload -workload download -url https://127.0.0.1:PORT/acct -bare-url https://127.0.0.1:PORT2/acct
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite's well-known development account.
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

func main() {
	target := flag.String("target", "lanyard", "azurite, lanyard or disk")
	url := flag.String("url", "", "account URL")
	dir := flag.String("dir", os.TempDir(), "directory for the disk baseline")
	duration := flag.Duration("duration", 10*time.Second, "length of each small-operation phase")
	conc := flag.Int("concurrency", 16, "concurrent small operations")
	bigMiB := flag.Int("big-mib", 256, "size of the large upload and download")
	listN := flag.Int("list", 2000, "blobs in the listing phase")
	workload := flag.String("workload", "block", "block (the default phases), appendpage (Append Block and Put Page) or download (against -bare-url)")
	bareURL := flag.String("bare-url", "", "with -workload download: bench/bareblob's account URL")
	blockMiB := flag.Int("block-mib", 8, "with -workload download: DownloadBuffer's block size")
	rounds := flag.Int("rounds", 3, "with -workload download: downloads from each server, alternating")
	flag.Parse()

	var (
		res map[string]float64
		err error
	)
	switch {
	case *target == "disk":
		res, err = disk(*dir, *bigMiB)
	case *workload == "download":
		res, err = download(*url, *bareURL, *bigMiB, *blockMiB, *conc, *rounds)
	case *workload == "appendpage":
		res, err = appendPage(*target, *url, *duration, *conc)
	default:
		res, err = blob(*target, *url, *duration, *conc, *bigMiB, *listN)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "blobload:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func newClient(target, url string) (*azblob.Client, error) {
	clientOpts := &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	if target == "azurite" {
		cred, err := azblob.NewSharedKeyCredential(devAccount, devKey)
		if err != nil {
			return nil, err
		}
		return azblob.NewClientWithSharedKeyCredential(url, cred, clientOpts)
	}
	var opts *azidentity.ManagedIdentityCredentialOptions
	if id := os.Getenv("AZURE_CLIENT_ID"); id != "" {
		opts = &azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(id)}
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, err
	}
	return azblob.NewClient(url, cred, clientOpts)
}

func blob(target, url string, d time.Duration, conc, bigMiB, listN int) (map[string]float64, error) {
	ctx := context.Background()
	c, err := newClient(target, url)
	if err != nil {
		return nil, err
	}
	cont := "bench" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.CreateContainer(ctx, cont, nil); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	res := map[string]float64{}
	small := make([]byte, 1024)
	_, _ = rand.Read(small)

	// Each phase starts on an idle server: work the last one left queued (Lanyard's audit
	// writer, Azurite's persistence) is not charged to the next.
	settle := func() { time.Sleep(3 * time.Second) }
	// 1 KiB Put Blob, conc at a time; each worker counts what it wrote.
	written := make([]atomic.Int64, conc)
	puts, putP99, err := timed(d, conc, func(w int, i int) error {
		_, err := c.UploadBuffer(ctx, cont, fmt.Sprintf("small/%d-%d", w, i), small, nil)
		if err == nil {
			written[w].Store(int64(i + 1))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("put: %w", err)
	}
	res["put_1k_ops"], res["put_1k_p99_ms"] = puts, putP99
	// 1 KiB Get Blob of what was just written.
	perWorker := written[0].Load()
	for w := range written {
		perWorker = min(perWorker, written[w].Load())
	}
	settle()
	gets, getP99, err := timed(d, conc, func(w int, i int) error {
		buf := make([]byte, 1024)
		_, err := c.DownloadBuffer(ctx, cont, fmt.Sprintf("small/%d-%d", (w+i)%conc, int64(i*7919)%perWorker), buf, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	res["get_1k_ops"], res["get_1k_p99_ms"] = gets, getP99

	settle()
	// Large upload (single Put Blob up to 256 MiB) and parallel ranged download.
	big := make([]byte, bigMiB<<20)
	_, _ = rand.Read(big)
	t0 := time.Now()
	if _, err := c.UploadBuffer(ctx, cont, "big.bin", big, nil); err != nil {
		return nil, fmt.Errorf("big upload: %w", err)
	}
	res["upload_big_MBps"] = float64(len(big)) / 1e6 / time.Since(t0).Seconds()
	settle()
	back := make([]byte, len(big))
	t0 = time.Now()
	if _, err := c.DownloadBuffer(ctx, cont, "big.bin", back, &azblob.DownloadBufferOptions{Concurrency: 8}); err != nil {
		return nil, fmt.Errorf("big download: %w", err)
	}
	res["download_big_MBps"] = float64(len(big)) / 1e6 / time.Since(t0).Seconds()
	if !bytes.Equal(back, big) {
		return nil, fmt.Errorf("big download returned different bytes")
	}

	// Listing: listN blobs in a fresh container, listed in full several times.
	lc := cont + "list"
	if _, err := c.CreateContainer(ctx, lc, nil); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for w := range conc {
		wg.Go(func() {
			for i := w; i < listN; i += conc {
				if _, err := c.UploadBuffer(ctx, lc, fmt.Sprintf("item/%05d", i), small[:16], nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("fill listing container: %w", err)
	}
	settle()
	const rounds = 10
	t0 = time.Now()
	for range rounds {
		count := 0
		pager := c.NewListBlobsFlatPager(lc, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			count += len(page.Segment.BlobItems)
		}
		if count != listN {
			return nil, fmt.Errorf("listed %d blobs, want %d", count, listN)
		}
	}
	res["list_2000_per_s"] = rounds / time.Since(t0).Seconds()
	return res, nil
}

// timed runs op from conc workers for d and returns operations per second and the p99
// latency in milliseconds.
func timed(d time.Duration, conc int, op func(worker, i int) error) (float64, float64, error) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
		ferr atomic.Value
	)
	deadline := time.Now().Add(d)
	for w := range conc {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := op(w, i); err != nil {
					ferr.Store(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err, _ := ferr.Load().(error); err != nil {
		return 0, 0, err
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) == 0 {
		return 0, 0, fmt.Errorf("no operation completed")
	}
	return float64(len(lats)) / d.Seconds(), float64(lats[len(lats)*99/100].Microseconds()) / 1000, nil
}

// disk measures the raw sequential write rate with one fsync at the end, the way a
// durable 256 MiB upload must write, in 4 MiB chunks.
func disk(dir string, mib int) (map[string]float64, error) {
	path := filepath.Join(dir, "lanyard-disk-baseline")
	defer os.Remove(path)
	chunk := make([]byte, 4<<20)
	_, _ = rand.Read(chunk)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	for written := 0; written < mib<<20; written += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	secs := time.Since(t0).Seconds()
	if err := f.Close(); err != nil {
		return nil, err
	}
	return map[string]float64{"disk_write_fsync_MBps": float64(mib<<20) / 1e6 / secs}, nil
}
