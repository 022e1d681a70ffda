package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestGoSDKAppendAndPageBlobs runs the azblob appendblob and pageblob calls against
// Lanyard, then 8 processes appending to one blob at once: every block lands exactly
// once, each at an offset of its own.
func TestGoSDKAppendAndPageBlobs(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "appendpage", "-container", "appendpage")
	if err != nil {
		t.Fatalf("append/page battery: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("battery output: %v\n%s", err, out)
	}
	for _, step := range []string{"append", "seal", "types", "pages", "resize", "listing"} {
		if steps[step] != "ok" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}

	ok(t, "create append blob", s.goBlob(t, "writer", "-op", "create-append", "-container", "appendpage", "-blob", "shared.log"))
	const procs, each = 8, 40
	env := s.inst.appEnv(t, "demo", "web")
	bin := buildGoblob(t)
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stderr string
			outs[p], stderr, errs[p] = runWithEnv(env, bin, "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
				"-op", "append", "-container", "appendpage", "-blob", "shared.log", "-data", fmt.Sprintf("p%d", p), "-count", fmt.Sprint(each))
			if errs[p] != nil {
				errs[p] = fmt.Errorf("%w: %s %s", errs[p], outs[p], stderr)
			}
		}()
	}
	wg.Wait()
	offsets := map[string]bool{}
	for p := range procs {
		if errs[p] != nil {
			t.Fatalf("appender %d: %v", p, errs[p])
		}
		var res struct {
			Offsets []string `json:"offsets"`
		}
		if err := json.Unmarshal([]byte(outs[p]), &res); err != nil || len(res.Offsets) != each {
			t.Fatalf("appender %d printed %q", p, outs[p])
		}
		for _, o := range res.Offsets {
			if offsets[o] {
				t.Fatalf("offset %s was handed to two appends", o)
			}
			offsets[o] = true
		}
	}
	r := s.goBlob(t, "writer", "-op", "get", "-container", "appendpage", "-blob", "shared.log")
	if !r.OK {
		t.Fatalf("download: %+v", r)
	}
	for p := range procs {
		for i := range each {
			if n := strings.Count(r.Data, fmt.Sprintf("<p%d.%d>", p, i)); n != 1 {
				t.Fatalf("block p%d.%d is in the blob %d times", p, i, n)
			}
		}
	}
}

// TestJavaScriptSDKAppendAndPageBlobs runs AppendBlobClient and PageBlobClient from
// @azure/storage-blob.
func TestJavaScriptSDKAppendAndPageBlobs(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "appendpage", "--container", "jsap")
	if !r.OK || r.Data != "append,seal,types,pages,resize,listing" {
		t.Fatalf("node append/page battery: %+v", r)
	}
}

// TestGoSDKPageDiffsAndPagesFromURL runs UploadPagesFromURL and NewGetPageRangesDiffPager
// (of the blob and of a snapshot, with a range, and their errors) through azblob.
func TestGoSDKPageDiffsAndPagesFromURL(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "pagediff", "-container", "pagediff")
	if err != nil {
		t.Fatalf("page diff battery: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("battery output: %v\n%s", err, out)
	}
	for _, step := range []string{"from-url", "diff", "snapshot-diff", "diff-errors"} {
		if steps[step] != "ok" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
}

// TestJavaScriptSDKPageDiffsAndPagesFromURL runs uploadPagesFromURL, getPageRangesDiff
// and listPageRangesDiff from @azure/storage-blob.
func TestJavaScriptSDKPageDiffsAndPagesFromURL(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "pagediff", "--container", "jspagediff")
	if !r.OK || r.Data != "from-url,diff,snapshot-diff,diff-errors" {
		t.Fatalf("node page diff battery: %+v", r)
	}
}
