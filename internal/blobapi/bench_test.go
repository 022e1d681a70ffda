package blobapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/lanyard-id/lanyard/internal/abbabench"
)

// Benchmarks go through the whole stack over loopback TLS, so that they compare with
// Azurite driven by the same client: handler, engine, journal fsync, content fsync.

func benchClient(e *env) *http.Client {
	c := e.srv.Client()
	tr := c.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr}
}

func benchDo(b *testing.B, c *http.Client, method, url string, body []byte, hdr map[string]string, want int) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer token")
	r.Header.Set("x-ms-version", "2026-12-06")
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	res, err := c.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d", method, url, res.StatusCode)
	}
}

func BenchmarkPutBlob1KiB(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(map[bool]string{false: "serial", true: "parallel"}[parallel], func(b *testing.B) {
			e := newEnv(b)
			c := benchClient(e)
			base := e.srv.URL + "/" + account + "/bench"
			benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
			body := bytes.Repeat([]byte("x"), 1024)
			hdr := map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
			var n atomic.Int64
			b.SetBytes(1024)
			b.ResetTimer()
			if !parallel {
				for i := 0; b.Loop(); i++ {
					benchDo(b, c, "PUT", fmt.Sprintf("%s/blob-%d", base, i%1000), body, hdr, 201)
				}
				return
			}
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchDo(b, c, "PUT", fmt.Sprintf("%s/blob-%d", base, n.Add(1)%1000), body, hdr, 201)
				}
			})
		})
	}
}

func BenchmarkGetBlob1KiB(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(map[bool]string{false: "serial", true: "parallel"}[parallel], func(b *testing.B) {
			e := newEnv(b)
			c := benchClient(e)
			base := e.srv.URL + "/" + account + "/bench"
			benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
			body := bytes.Repeat([]byte("x"), 1024)
			for i := range 100 {
				benchDo(b, c, "PUT", fmt.Sprintf("%s/blob-%d", base, i), body, map[string]string{"x-ms-blob-type": "BlockBlob"}, 201)
			}
			var n atomic.Int64
			b.SetBytes(1024)
			b.ResetTimer()
			if !parallel {
				for i := 0; b.Loop(); i++ {
					benchDo(b, c, "GET", fmt.Sprintf("%s/blob-%d", base, i%100), nil, nil, 200)
				}
				return
			}
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchDo(b, c, "GET", fmt.Sprintf("%s/blob-%d", base, n.Add(1)%100), nil, nil, 200)
				}
			})
		})
	}
}

// BenchmarkPutBlob16MiB measures streaming throughput of one large Put Blob.
func BenchmarkPutBlob16MiB(b *testing.B) {
	e := newEnv(b)
	c := benchClient(e)
	base := e.srv.URL + "/" + account + "/bench"
	benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	hdr := map[string]string{"x-ms-blob-type": "BlockBlob"}
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		benchDo(b, c, "PUT", fmt.Sprintf("%s/big-%d", base, i%4), body, hdr, 201)
	}
}

// BenchmarkGetBlob16MiB measures streaming throughput of one large Get Blob.
func BenchmarkGetBlob16MiB(b *testing.B) {
	e := newEnv(b)
	c := benchClient(e)
	base := e.srv.URL + "/" + account + "/bench"
	benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	benchDo(b, c, "PUT", base+"/big", body, map[string]string{"x-ms-blob-type": "BlockBlob"}, 201)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		benchDo(b, c, "GET", base+"/big", nil, nil, 200)
	}
}

// BenchmarkAppendAndPage: 16 writers on one append blob (1 KiB blocks) and on one page
// blob (4 KiB pages at scattered offsets).
func BenchmarkAppendAndPage(b *testing.B) {
	e := newEnv(b)
	c := benchClient(e)
	base := e.srv.URL + "/" + account + "/bench"
	benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
	b.Run("append1KiB", func(b *testing.B) {
		url := fmt.Sprintf("%s/log-%d", base, b.N)
		benchDo(b, c, "PUT", url, nil, map[string]string{"x-ms-blob-type": "AppendBlob"}, 201)
		body := bytes.Repeat([]byte("x"), 1024)
		b.SetBytes(1024)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchDo(b, c, "PUT", url+"?comp=appendblock", body, nil, 201)
			}
		})
	})
	b.Run("page4KiB", func(b *testing.B) {
		url := fmt.Sprintf("%s/disk-%d", base, b.N)
		benchDo(b, c, "PUT", url, nil, map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "1073741824"}, 201)
		body := bytes.Repeat([]byte("p"), 4096)
		var n atomic.Int64
		b.SetBytes(4096)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				off := (n.Add(1) * 7919 % 262144) * 4096
				benchDo(b, c, "PUT", url+"?comp=page", body, map[string]string{"x-ms-page-write": "update",
					"x-ms-range": fmt.Sprintf("bytes=%d-%d", off, off+4095)}, 201)
			}
		})
	})
}

// BenchmarkGetBlob1KiBSAS: Get Blob 1 KiB, 16 concurrent, authorized by a bearer token
// and by a user delegation SAS signed by the Go SDK (parsed, its key derived again or
// found derived, its signature checked, decided as its principal), in phases of 320
// requests of one run so that both see the same machine. The phases go in ABBA order
// (bearer, SAS, SAS, bearer, ...), so that a load that rises or falls during the run
// falls on both alike. The authorizer is a fake for both: the bearer side pays nothing
// for its token (a real one verifies it), so the ratio is what a SAS costs Lanyard on top
// of a bearer token's decision, a conservative figure.
//
// It reports sas/bearer, the SAS rate as a fraction of the bearer rate over the run, and
// sas/bearer-median, the median of the ratios of each ABBA round; and the process's CPU
// time per request of each (client and server together), with sas/bearer-cpu, the rate
// ratio that CPU time alone predicts. On a machine shared with other work the rates
// follow the load of the moment; the CPU time per request does much less.
func BenchmarkGetBlob1KiBSAS(b *testing.B) {
	s := newSASEnv(b)
	c := benchClient(s.env)
	base := s.srv.URL + "/" + account + "/bench"
	benchDo(b, c, "PUT", base+"?restype=container", nil, nil, 201)
	body := bytes.Repeat([]byte("x"), 1024)
	for i := range 100 {
		benchDo(b, c, "PUT", fmt.Sprintf("%s/blob-%d", base, i), body, map[string]string{"x-ms-blob-type": "BlockBlob"}, 201)
	}
	sasQuery := strings.TrimPrefix(s.sasURL(b, s.credential(b), sas.BlobSignatureValues{ContainerName: "bench", Permissions: "rl"}), base)
	const workers, perPhase = 16, 320
	modes := [2]struct {
		query string
		hdr   map[string]string
	}{{"", nil}, {sasQuery, map[string]string{"Authorization": ""}}} // bearer, SAS
	abbabench.Run(b, workers, perPhase, [2]string{"bearer", "sas"}, func(mode int, i int64) {
		benchDo(b, c, "GET", fmt.Sprintf("%s/blob-%d%s", base, i%100, modes[mode].query), nil, modes[mode].hdr, 200)
	})
}
