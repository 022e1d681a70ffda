package blobapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentReadersAndWriters overwrites one blob from several clients while others
// read it: every read must return one complete version, never a mix, and every ETag a
// reader sees must describe the body it got.
func TestConcurrentReadersAndWriters(t *testing.T) {
	e := newEnv(t)
	e.container(t, "box")
	version := func(i int) string { return strings.Repeat(fmt.Sprintf("<%04d>", i), 2000+i) }
	e.put(t, "box/hot", version(0), nil)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				n := 1 + w*10 + i
				res := e.do(t, req{method: "PUT", path: "/" + account + "/box/hot", body: version(n), hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}})
				if res.status != http.StatusCreated {
					errs <- fmt.Sprintf("put: %d %s", res.status, res.body)
				}
				// Blocks of other blobs in parallel.
				res = e.do(t, req{method: "PUT", path: fmt.Sprintf("/%s/box/own-%d?comp=block&blockid=QUFB", account, w), body: "x"})
				if res.status != http.StatusCreated {
					errs <- fmt.Sprintf("put block: %d %s", res.status, res.body)
				}
			}
		}()
	}
	etags := sync.Map{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				res := e.do(t, req{method: "GET", path: "/" + account + "/box/hot"})
				if res.status != http.StatusOK {
					errs <- fmt.Sprintf("get: %d", res.status)
					continue
				}
				var n int
				if _, err := fmt.Sscanf(res.body, "<%04d>", &n); err != nil || res.body != version(n) {
					errs <- fmt.Sprintf("torn read of %d bytes", len(res.body))
				}
				if prev, loaded := etags.LoadOrStore(res.hdr.Get("ETag"), n); loaded && prev.(int) != n {
					errs <- fmt.Sprintf("ETag %s names versions %d and %d", res.hdr.Get("ETag"), prev, n)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
