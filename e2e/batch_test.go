package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var gobatchBin string

func buildGobatch(t *testing.T) string {
	t.Helper()
	if gobatchBin == "" {
		out := filepath.Join(binDir, "gobatch")
		if b, err := exec.Command("go", "build", "-o", out, "./clients/gobatch").CombinedOutput(); err != nil {
			t.Fatalf("build gobatch: %v\n%s", err, b)
		}
		gobatchBin = out
	}
	return gobatchBin
}

type batchResult struct {
	OK      bool   `json:"ok"`
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Results []struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		RequestID string `json:"requestId"`
	} `json:"results"`
	BatchSeconds  float64 `json:"batchSeconds"`
	SingleSeconds float64 `json:"singleSeconds"`
	Ratio         float64 `json:"ratio"`
	Left          int     `json:"left"`
}

// goBatch runs gobatch as identity who under `lanyard app run`.
func (s *blobSeed) goBatch(t *testing.T, who string, args ...string) batchResult {
	t.Helper()
	argv := append([]string{buildGobatch(t), "-account-url", s.accountURL, "-client-id", s.ids[who]["clientId"].(string)}, args...)
	out, errOut, err := s.runAs(t, argv...)
	var res batchResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("gobatch %v: %v (%v)\nstdout: %s\nstderr: %s\nserver log:\n%s", args, err, jerr, out, errOut, s.inst.stderr)
	}
	return res
}

func (s *blobSeed) nodeBatch(t *testing.T, who string, args ...string) batchResult {
	t.Helper()
	var env []string
	for k, v := range s.inst.appEnv(t, "demo", "web") {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"batch.mjs", "--account-url", s.accountURL, "--client-id", s.ids[who]["clientId"].(string)}, args...)...)
	cmd.Dir = nodeClients
	cmd.Env = baseEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	var res batchResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node batch.mjs %v: %v\nstdout: %s\nstderr: %s\nserver log:\n%s", args, err, stdout.String(), stderr.String(), s.inst.stderr)
	}
	return res
}

// wantSubs checks a batch's sub-responses, in order: "202" or "403 Code".
func wantSubs(t *testing.T, what string, r batchResult, want ...string) {
	t.Helper()
	if !r.OK || len(r.Results) != len(want) {
		t.Fatalf("%s: %+v, want %d sub-responses", what, r, len(want))
	}
	for i, w := range want {
		got := strconv.Itoa(r.Results[i].Status)
		if r.Results[i].Code != "" {
			got += " " + r.Results[i].Code
		}
		if got != w {
			t.Fatalf("%s: sub-response %d is %q, want %q (all: %+v)", what, i, got, w, r.Results)
		}
	}
}

// batchSeed: containers data and other with blobs b00000..b00009 each, uploaded by
// writer (Contributor on the account); scoped is Contributor on container data only.
func batchSeed(t *testing.T) *blobSeed {
	s := blobFlow(t)
	acct := s.account["id"].(string)
	s.assign(t, "writer", contributor, acct)
	if r := s.goBatch(t, "writer", "-op", "setup", "-containers", "data,other", "-count", "10"); !r.OK {
		t.Fatalf("setup: %+v", r)
	}
	s.assign(t, "scoped", contributor, acct+"/blobServices/default/containers/data")
	return s
}

// TestGoSDKBlobBatch: the unmodified azblob SubmitBatch, service- and container-scoped,
// each sub-request authorized for its own blob: one batch mixes 202, 403 and 404.
func TestGoSDKBlobBatch(t *testing.T) {
	s := batchSeed(t)
	r := s.goBatch(t, "scoped", "-op", "delete", "-blobs", "data/b00000,other/b00000,data/missing,data/b00001")
	wantSubs(t, "service batch", r, "202", "403 AuthorizationPermissionMismatch", "404 BlobNotFound", "202")
	if r.Results[0].RequestID == "" || r.Results[0].RequestID == r.Results[3].RequestID {
		t.Fatalf("sub-request ids %+v", r.Results)
	}
	wantSubs(t, "container batch", s.goBatch(t, "scoped", "-op", "delete", "-scope", "container", "-blobs", "data/b00002,data/b00003"), "202", "202")
	wantSubs(t, "container batch, no permission", s.goBatch(t, "scoped", "-op", "delete", "-scope", "container", "-blobs", "other/b00002"),
		"403 AuthorizationPermissionMismatch")
	// Deleted means gone; refused means kept.
	if g := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "b00000"); g.OK || g.Status != 404 {
		t.Fatalf("deleted blob: %+v", g)
	}
	ok(t, "refused blob kept", s.goBlob(t, "writer", "-op", "get", "-container", "other", "-blob", "b00000"))
	// A principal with no role at all is authenticated for the batch, refused each part.
	wantSubs(t, "reader", s.goBatch(t, "reader", "-op", "delete", "-blobs", "data/b00004"), "403 AuthorizationPermissionMismatch")
	// Set Blob Tier sub-requests, each authorized for its own blob as a write.
	wantSubs(t, "tier", s.goBatch(t, "writer", "-op", "tier", "-blobs", "data/b00005,other/b00005"), "200", "200")
	wantSubs(t, "scoped tier", s.goBatch(t, "scoped", "-op", "tier", "-blobs", "data/b00006,other/b00006,data/missing"),
		"200", "403 AuthorizationPermissionMismatch", "404 BlobNotFound")
	for blob, want := range map[string]string{"data/b00005": "Cool", "other/b00005": "Cool", "data/b00006": "Cool", "other/b00006": "Hot"} {
		c, b, _ := strings.Cut(blob, "/")
		if g := s.goBlob(t, "writer", "-op", "get-tier", "-container", c, "-blob", b); !g.OK || g.Data != want {
			t.Fatalf("%s tier after the batches: %+v, want %s", blob, g, want)
		}
	}
}

// TestJavaScriptSDKBlobBatch: the unmodified @azure/storage-blob BlobBatchClient.
func TestJavaScriptSDKBlobBatch(t *testing.T) {
	requireNode(t)
	s := batchSeed(t)
	wantSubs(t, "node service batch", s.nodeBatch(t, "scoped", "--op", "delete", "--blobs", "data/b00000,other/b00000,data/missing,data/b00001"),
		"202", "403 AuthorizationPermissionMismatch", "404 BlobNotFound", "202")
	wantSubs(t, "node container batch", s.nodeBatch(t, "scoped", "--op", "delete", "--scope", "container", "--blobs", "data/b00002,data/b00003"),
		"202", "202")
	if g := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "b00002"); g.OK || g.Status != 404 {
		t.Fatalf("deleted blob: %+v", g)
	}
	ok(t, "refused blob kept", s.goBlob(t, "writer", "-op", "get", "-container", "other", "-blob", "b00000"))
	wantSubs(t, "node tier", s.nodeBatch(t, "scoped", "--op", "tier", "--blobs", "data/b00005,other/b00005"),
		"200", "403 AuthorizationPermissionMismatch")
	for blob, want := range map[string]string{"data/b00005": "Cool", "other/b00005": "Hot"} {
		c, b, _ := strings.Cut(blob, "/")
		if g := s.goBlob(t, "writer", "-op", "get-tier", "-container", c, "-blob", b); !g.OK || g.Data != want {
			t.Fatalf("%s tier after the batch: %+v, want %s", blob, g, want)
		}
	}
}

// TestBlobBatchBenchmark (bench/batch.sh): LANYARD_BENCH_BATCH blobs deleted by batches
// of 256 against as many deleted one Delete Blob at a time, through azblob, same run.
func TestBlobBatchBenchmark(t *testing.T) {
	n := os.Getenv("LANYARD_BENCH_BATCH")
	if n == "" {
		t.Skip("set LANYARD_BENCH_BATCH to the number of blobs (bench/batch.sh)")
	}
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	r := s.goBatch(t, "writer", "-op", "bench", "-count", n)
	if !r.OK || r.Left != 0 {
		t.Fatalf("bench: %+v", r)
	}
	t.Logf("BENCH blobs=%s batch=%.2fs single=%.2fs ratio=%.1f", n, r.BatchSeconds, r.SingleSeconds, r.Ratio)
}
