package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// download measures DownloadBuffer of one bigMiB blob in blockMiB ranges, conc at a time,
// from Lanyard (url; uploaded first) and from bench/bareblob (bareURL, serving the same
// bytes from memory), in alternating rounds through the same client and credential: the
// bare server ignores the bearer token but receives it, so both see the same requests.
func download(url, bareURL string, bigMiB, blockMiB, conc, rounds int) (map[string]float64, error) {
	ctx := context.Background()
	c, err := newClient("lanyard", url)
	if err != nil {
		return nil, err
	}
	bare, err := newClient("lanyard", bareURL)
	if err != nil {
		return nil, err
	}
	cont := "dl" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.CreateContainer(ctx, cont, nil); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	data := content(bigMiB << 20)
	if _, err := c.UploadBuffer(ctx, cont, "big.bin", data, nil); err != nil {
		return nil, fmt.Errorf("big upload: %w", err)
	}
	back := make([]byte, len(data))
	opts := &azblob.DownloadBufferOptions{BlockSize: int64(blockMiB) << 20, Concurrency: uint16(conc)}
	// once downloads the blob and returns MB/s; the bytes are checked outside the timing.
	once := func(cl *azblob.Client) (float64, error) {
		clear(back)
		time.Sleep(time.Second) // each download starts on an idle machine
		t0 := time.Now()
		n, err := cl.DownloadBuffer(ctx, cont, "big.bin", back, opts)
		secs := time.Since(t0).Seconds()
		if err != nil {
			return 0, err
		}
		if n != int64(len(data)) || !bytes.Equal(back, data) {
			return 0, fmt.Errorf("download returned different bytes (%d of %d)", n, len(data))
		}
		return float64(len(data)) / 1e6 / secs, nil
	}
	time.Sleep(2 * time.Second) // the upload's queued work (audit, writeback) is not charged
	// One untimed download each: tokens fetched, connections opened, pages cached.
	for _, cl := range []*azblob.Client{c, bare} {
		if _, err := once(cl); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	res := map[string]float64{"rounds": float64(rounds)}
	var sumL, sumB float64
	for r := 1; r <= rounds; r++ {
		order := []string{"lanyard", "bare"}
		if r%2 == 0 { // ABBA: drift within a round touches both alike
			order = []string{"bare", "lanyard"}
		}
		for _, name := range order {
			cl := c
			if name == "bare" {
				cl = bare
			}
			mbps, err := once(cl)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", r, name, err)
			}
			res[fmt.Sprintf("%s_MBps_%d", name, r)] = mbps
			if name == "bare" {
				sumB += mbps
			} else {
				sumL += mbps
			}
		}
	}
	res["lanyard_MBps"], res["bare_MBps"] = sumL/float64(rounds), sumB/float64(rounds)
	res["ratio"] = sumL / sumB
	return res, nil
}

// content is the blob: n bytes from a fixed seed (bench/bareblob has the same function).
func content(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{'l', 'a', 'n', 'y', 'a', 'r', 'd'}).Read(b)
	return b
}
