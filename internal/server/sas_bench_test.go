package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// benchToken hands the Go SDK the bench's bearer token.
type benchToken string

func (t benchToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// BenchmarkBlobSAS: Get Blob 1 KiB, 16 concurrent, on the Blob endpoint as server.New
// wires it, with the audit trail on, authorized by a bearer token (Lanyard's RS256 token:
// parsed, its signature found in the verifier's cache after the first request, its claims
// and revocation checked, the principal looked up, RBAC, an audit record) and by a user
// delegation SAS the Go SDK signed with a key from Get User Delegation Key (verified, the
// principal looked up, RBAC, an audit record), in phases of 320 requests in ABBA order
// (bearer, SAS, SAS, bearer, ...) in one run. It reports the rates and their ratio over
// the run, the median ratio of the ABBA rounds, and the process's CPU time per request of
// each (client and server together) with the rate ratio it predicts.
func BenchmarkBlobSAS(b *testing.B) {
	bb := newBlobBench(b, true)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil}}
	body := bytes.Repeat([]byte("x"), 1024)
	for i := range 100 {
		bb.do(b, c, "PUT", fmt.Sprintf("%s/blob-%d", bb.url, i), body, map[string]string{"x-ms-blob-type": "BlockBlob"}, http.StatusCreated)
	}
	svc, err := service.NewClient(bb.account, benchToken(bb.token), &service.ClientOptions{ClientOptions: azcore.ClientOptions{InsecureAllowCredentialWithHTTP: true}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	cred, err := svc.GetUserDelegationCredential(b.Context(), service.KeyInfo{
		Start: to.Ptr(now.Add(-time.Minute).Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: now.Add(time.Hour), ContainerName: "bench",
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String()}.SignWithUserDelegation(cred)
	if err != nil {
		b.Fatal(err)
	}
	const workers, perPhase = 16, 320
	modes := [2]struct {
		query string
		hdr   map[string]string
	}{{"", nil}, {"?" + qp.Encode(), map[string]string{"Authorization": ""}}} // bearer, SAS
	var wall, cpu, roundWall [2]time.Duration
	var done [2]int
	var rounds []float64
	phase := func(mode int) {
		var n atomic.Int64
		var wg sync.WaitGroup
		cpu0, start := cpuTime(b), time.Now()
		for range workers {
			wg.Go(func() {
				for i := n.Add(1); i <= perPhase; i = n.Add(1) {
					bb.do(b, c, "GET", fmt.Sprintf("%s/blob-%d%s", bb.url, i%100, modes[mode].query), nil, modes[mode].hdr, http.StatusOK)
				}
			})
		}
		wg.Wait()
		w := time.Since(start)
		wall[mode] += w
		roundWall[mode] += w
		cpu[mode] += cpuTime(b) - cpu0
		done[mode] += perPhase
	}
	for i := 0; b.Loop(); i++ {
		phase([4]int{0, 1, 1, 0}[i%4])
		if i%4 == 3 {
			rounds = append(rounds, roundWall[0].Seconds()/roundWall[1].Seconds())
			roundWall = [2]time.Duration{}
		}
	}
	if done[0] == 0 || done[1] == 0 {
		return
	}
	bearer, sasRate := float64(done[0])/wall[0].Seconds(), float64(done[1])/wall[1].Seconds()
	b.ReportMetric(bearer, "bearer-ops/s")
	b.ReportMetric(sasRate, "sas-ops/s")
	b.ReportMetric(sasRate/bearer, "sas/bearer")
	if len(rounds) > 0 {
		slices.Sort(rounds)
		b.ReportMetric(rounds[len(rounds)/2], "sas/bearer-median")
	}
	bearerCPU, sasCPU := cpu[0].Seconds()*1e6/float64(done[0]), cpu[1].Seconds()*1e6/float64(done[1])
	b.ReportMetric(bearerCPU, "bearer-cpu-µs/op")
	b.ReportMetric(sasCPU, "sas-cpu-µs/op")
	b.ReportMetric(bearerCPU/sasCPU, "sas/bearer-cpu")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
