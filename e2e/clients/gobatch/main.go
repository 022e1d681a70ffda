// Command gobatch is an app as a user would write it with the unmodified Azure SDK for
// Go, using Blob Batch: service.Client.NewBatchBuilder / container.Client.NewBatchBuilder
// and SubmitBatch, with a managed identity. It prints a JSON result.
//
//	-op setup -containers a,b -count N         create the containers, upload N blobs b00000.. in each
//	-op delete -scope service|container -blobs c/b,c/b   one batch; each sub-response's status and code
//	-op tier -blobs c/b,...                    one Set Blob Tier batch (service scope, Cool)
//	-op bench -count N                         N blobs deleted by batches of 256, then N one by one
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// maxBatch is Azure's sub-request limit per batch.
const maxBatch = 256

type subResult struct {
	ContentID int    `json:"contentId"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"requestId"`
}

func main() {
	accountURL := flag.String("account-url", "", "e.g. https://127.0.0.1:10000/acct")
	clientID := flag.String("client-id", "", "user-assigned identity")
	op := flag.String("op", "", "setup, delete, tier, bench")
	containers := flag.String("containers", "data", "setup: containers to create")
	count := flag.Int("count", 3, "setup, bench: blobs")
	scope := flag.String("scope", "service", "delete: service or container (the first blob's)")
	blobs := flag.String("blobs", "", "delete, tier: container/blob,...")
	flag.Parse()

	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if *clientID != "" {
		opts.ID = azidentity.ClientID(*clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		fatal(err)
	}
	client, err := azblob.NewClient(*accountURL, cred, nil)
	if err != nil {
		fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	var result any
	switch *op {
	case "setup":
		for _, c := range strings.Split(*containers, ",") {
			if _, err = client.CreateContainer(ctx, c, nil); err != nil {
				break
			}
			if err = upload(ctx, client, c, *count); err != nil {
				break
			}
		}
		result = map[string]any{"ok": err == nil}
	case "delete", "tier":
		var subs []subResult
		subs, err = submit(ctx, client, *op, *scope, strings.Split(*blobs, ","))
		result = map[string]any{"ok": err == nil, "results": subs}
	case "bench":
		result, err = bench(ctx, client, *count)
	default:
		fatal(fmt.Errorf("unknown -op %q", *op))
	}
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"ok": false, "status": re.StatusCode, "code": re.ErrorCode})
			os.Exit(3)
		}
		fatal(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(result)
}

// upload puts count small blobs into container c, eight at a time.
func upload(ctx context.Context, client *azblob.Client, c string, count int) error {
	var wg sync.WaitGroup
	errs := make(chan error, count)
	sem := make(chan struct{}, 8)
	for i := range count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := client.UploadBuffer(ctx, c, blobName(i), []byte("x"), nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func blobName(i int) string { return fmt.Sprintf("b%05d", i) }

// submit sends one batch of refs (container/blob), at service or container scope.
func submit(ctx context.Context, client *azblob.Client, op, scope string, refs []string) ([]subResult, error) {
	add := func(del func(c, b string) error, tier func(c, b string) error) error {
		for _, ref := range refs {
			c, b, _ := strings.Cut(ref, "/")
			var err error
			if op == "delete" {
				err = del(c, b)
			} else {
				err = tier(c, b)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	var items []*service.BatchResponseItem
	if scope == "container" {
		cc := client.ServiceClient().NewContainerClient(strings.SplitN(refs[0], "/", 2)[0])
		bb, err := cc.NewBatchBuilder()
		if err != nil {
			return nil, err
		}
		err = add(func(_, b string) error { return bb.Delete(b, nil) },
			func(_, b string) error { return bb.SetTier(b, blob.AccessTierCool, nil) })
		if err != nil {
			return nil, err
		}
		resp, err := cc.SubmitBatch(ctx, bb, nil)
		if err != nil {
			return nil, err
		}
		items = resp.Responses
	} else {
		bb, err := client.ServiceClient().NewBatchBuilder()
		if err != nil {
			return nil, err
		}
		err = add(func(c, b string) error { return bb.Delete(c, b, nil) },
			func(c, b string) error { return bb.SetTier(c, b, blob.AccessTierCool, nil) })
		if err != nil {
			return nil, err
		}
		resp, err := client.ServiceClient().SubmitBatch(ctx, bb, nil)
		if err != nil {
			return nil, err
		}
		items = resp.Responses
	}
	out := make([]subResult, 0, len(items))
	for _, it := range items {
		// The SDK tells a success by the absence of an error only: it is the operation's
		// status, 202 for Delete Blob, 200 for Set Blob Tier (which answers 202 only when
		// it starts a rehydration, never here).
		r := subResult{Status: 202}
		if op == "tier" {
			r.Status = 200
		}
		if it.ContentID != nil {
			r.ContentID = *it.ContentID
		}
		if it.RequestID != nil {
			r.RequestID = *it.RequestID
		}
		var re *azcore.ResponseError
		if errors.As(it.Error, &re) {
			r.Status, r.Code = re.StatusCode, re.ErrorCode
		} else if it.Error != nil {
			return nil, it.Error
		}
		out = append(out, r)
	}
	return out, nil
}

// bench deletes count blobs by batches of 256 (container scope, one batch at a time),
// then count other blobs one Delete Blob at a time, and reports both.
func bench(ctx context.Context, client *azblob.Client, count int) (map[string]any, error) {
	for _, c := range []string{"bench-batch", "bench-single"} {
		if _, err := client.CreateContainer(ctx, c, nil); err != nil {
			return nil, err
		}
		if err := upload(ctx, client, c, count); err != nil {
			return nil, err
		}
	}
	cc := client.ServiceClient().NewContainerClient("bench-batch")
	start := time.Now()
	for first := 0; first < count; first += maxBatch {
		bb, err := cc.NewBatchBuilder()
		if err != nil {
			return nil, err
		}
		for i := first; i < min(first+maxBatch, count); i++ {
			if err := bb.Delete(blobName(i), nil); err != nil {
				return nil, err
			}
		}
		resp, err := cc.SubmitBatch(ctx, bb, nil)
		if err != nil {
			return nil, err
		}
		for _, it := range resp.Responses {
			if it.Error != nil {
				return nil, it.Error
			}
		}
	}
	batch := time.Since(start)
	sc := client.ServiceClient().NewContainerClient("bench-single")
	start = time.Now()
	for i := range count {
		if _, err := sc.NewBlobClient(blobName(i)).Delete(ctx, nil); err != nil {
			return nil, err
		}
	}
	single := time.Since(start)
	var left int
	for _, c := range []*container.Client{cc, sc} {
		pager := c.NewListBlobsFlatPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			left += len(page.Segment.BlobItems)
		}
	}
	return map[string]any{"ok": true, "count": count, "left": left,
		"batchSeconds": batch.Seconds(), "singleSeconds": single.Seconds(), "ratio": single.Seconds() / batch.Seconds()}, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gobatch:", err)
	os.Exit(1)
}
