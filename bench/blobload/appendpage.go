package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// pageBlobSize is the page blob the random writes land in: large enough that writes
// rarely hit one another, as on a disk image.
const pageBlobSize = 1 << 30

// appendPage measures Append Block of 1 KiB, conc appenders on one append blob, and
// Put Page of 4 KiB at random page-aligned offsets, conc writers on one page blob.
func appendPage(target, url string, d time.Duration, conc int) (map[string]float64, error) {
	ctx := context.Background()
	c, err := newClient(target, url)
	if err != nil {
		return nil, err
	}
	cont := "ap" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.CreateContainer(ctx, cont, nil); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	cc := c.ServiceClient().NewContainerClient(cont)
	res := map[string]float64{}

	small := make([]byte, 1024)
	_, _ = crand.Read(small)
	// Put Blob of 1 KiB to distinct blobs, for reference: the same request size and
	// durability as an append, without the shared blob.
	puts1k, _, err := timed(d, conc, func(w, i int) error {
		_, err := c.UploadBuffer(ctx, cont, fmt.Sprintf("small/%d-%d", w, i), small, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("put: %w", err)
	}
	res["put_1k_ops"] = puts1k
	time.Sleep(3 * time.Second)
	ab := cc.NewAppendBlobClient("log")
	if _, err := ab.Create(ctx, nil); err != nil {
		return nil, fmt.Errorf("create append blob: %w", err)
	}
	appends, appendP99, err := timed(d, conc, func(int, int) error {
		_, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(small)), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	res["append_1k_ops"], res["append_1k_p99_ms"] = appends, appendP99
	props, err := ab.GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if want := int64(*props.BlobCommittedBlockCount) * 1024; *props.ContentLength != want {
		return nil, fmt.Errorf("append blob holds %d bytes, want %d", *props.ContentLength, want)
	}

	time.Sleep(3 * time.Second)
	page := make([]byte, 4096)
	_, _ = crand.Read(page)
	pb := cc.NewPageBlobClient("disk")
	if _, err := pb.Create(ctx, pageBlobSize, nil); err != nil {
		return nil, fmt.Errorf("create page blob: %w", err)
	}
	puts, putP99, err := timed(d, conc, func(w, i int) error {
		off := rand.Int64N(pageBlobSize/4096) * 4096
		_, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(page)), azblobblob.HTTPRange{Offset: off, Count: 4096}, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("put page: %w", err)
	}
	res["put_page_4k_ops"], res["put_page_4k_p99_ms"] = puts, putP99
	return res, nil
}
