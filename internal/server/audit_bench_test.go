package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/readcache"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

// blobBench is the Blob endpoint as server.New wires it (token verification, revocation
// check, live RBAC, user delegation SAS, the engine with its fsynced journal and content),
// with or without the audit trail and the request instrumentation, over loopback HTTP.
type blobBench struct {
	account, url string
	token        string
	obs          *observability
}

func newBlobBench(b *testing.B, audited bool) *blobBench {
	ctx := context.Background()
	home := b.TempDir()
	logger := slog.New(slog.DiscardHandler)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(home, "lanyard.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	ring, err := keys.New(ctx, st, sealer, keys.Options{MaxTokenLifetime: lanyard.MaxTokenLifetime})
	if err != nil {
		b.Fatal(err)
	}
	tenant := lanyard.Tenant{ID: "00000000-0000-4000-8000-0000000000aa", SubscriptionID: "00000000-0000-4000-8000-0000000000bb"}
	// As server.New: the directory and RBAC read through the cache, the audit trail
	// writes to the store itself.
	cached := readcache.New(st)
	dir := directory.New(cached, tenant, bytes.Repeat([]byte{1}, 32), nil)
	acc, err := access.New(ctx, cached, tenant)
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, _, err = dir.PutGroup(ctx, "bench", "local", nil)
	must(err)
	id, _, err := dir.PutIdentity(ctx, "bench", "writer", "", nil)
	must(err)
	acct, _, err := dir.PutStorageAccount(ctx, "bench", "benchacct", "", "", nil)
	must(err)
	_, err = acc.CreateRoleAssignment(ctx, lanyard.RoleAssignment{Scope: acct.ResourceID, RoleDefinitionID: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", PrincipalID: id.PrincipalID},
		func(ctx context.Context, p string) error { _, err := dir.Principal(ctx, p); return err })
	must(err)
	svc, err := openBlob(ctx, home, filepath.Join(home, "content"), nil, 0, nil, logger)
	must(err)
	b.Cleanup(func() { svc.Close() })

	const issuerURL = "https://127.0.0.1:1/tenant/"
	tok, err := (&token.Issuer{Keys: ring}).Issue(token.Request{TenantID: tenant.ID, IssuerURL: issuerURL, Audience: blobapi.StorageAudience, Identity: id})
	must(err)
	bb := &blobBench{token: tok.Raw}
	authz := &access.Authorizer{Access: acc, Resources: directory.StorageAccounts{Directory: dir}, Service: "blob",
		Verifier: &token.Verifier{Keys: ring, Issuers: []string{issuerURL}, MatchAudience: token.SameResource, Cache: token.NewSignatureCache(10_000)}}
	bh := &blobapi.Handler{Service: svc, Accounts: directory.StorageAccounts{Directory: dir}, Auth: &blobapi.Bearer{Access: authz, BaseURL: "http://bench"}, Logger: logger}
	// Both modes run what is always on (request ids, metrics, revocation checks); only
	// the audit records differ, so the comparison is of auditing alone.
	sink := ""
	if audited {
		sink = filepath.Join(home, "audit.jsonl")
	}
	bb.obs, err = openObservability(ctx, config.Audit{File: sink, Policy: audit.BestEffort}, st, logger)
	must(err)
	b.Cleanup(bb.obs.close)
	acc.SetRevocations(bb.obs.revs)
	bh.UserDelegation = &blobapi.UserDelegation{Secret: bytes.Repeat([]byte{7}, 32), TenantID: tenant.ID,
		Accounts: directory.StorageAccounts{Directory: dir}, Revocations: bb.obs.revs}
	if audited {
		authz.Recorder = bb.obs
	}
	h := bb.obs.instrument("blob", bh)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	bb.account = srv.URL + "/benchacct"
	bb.url = bb.account + "/bench"
	bb.do(b, http.DefaultClient, "PUT", bb.url+"?restype=container", nil, nil, http.StatusCreated)
	return bb
}

func (bb *blobBench) do(b *testing.B, c *http.Client, method, url string, body []byte, hdr map[string]string, want int) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+bb.token)
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
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d", method, url, res.StatusCode)
	}
}

// BenchmarkBlobAudit compares Blob 1 KiB Put and Get throughput with the audit trail
// (best-effort, store and JSON-lines file) and instrumentation on and off. The issue's
// bar: on stays at least 90% of off. Run with -cpu to vary GOMAXPROCS; each op is one
// request from 8 concurrent clients per CPU.
func BenchmarkBlobAudit(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	putHdr := map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
	for _, op := range []string{"Put", "Get"} {
		for _, mode := range []string{"off", "on"} {
			b.Run(op+"1KiB/audit="+mode, func(b *testing.B) {
				bb := newBlobBench(b, mode == "on")
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil}}
				if op == "Get" {
					for i := range 100 {
						bb.do(b, c, "PUT", fmt.Sprintf("%s/blob-%d", bb.url, i), body, putHdr, http.StatusCreated)
					}
				}
				var n atomic.Int64
				b.SetBytes(1024)
				b.SetParallelism(8)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						if op == "Put" {
							bb.do(b, c, "PUT", fmt.Sprintf("%s/blob-%d", bb.url, i%1000), body, putHdr, http.StatusCreated)
						} else {
							bb.do(b, c, "GET", fmt.Sprintf("%s/blob-%d", bb.url, i%100), nil, nil, http.StatusOK)
						}
					}
				})
				b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "req/s")
				if mode == "on" {
					b.StopTimer()
					// Everything recorded is written; nothing was dropped on the way.
					deadline := time.Now().Add(10 * time.Second)
					for bb.obs.audit.Stats().Queued > 0 && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					st := bb.obs.audit.Stats()
					b.ReportMetric(float64(st.Dropped), "dropped")
				}
			})
		}
	}
}
