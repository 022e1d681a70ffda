package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/lanyard-id/lanyard/internal/abbabench"
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
	abbabench.Run(b, workers, perPhase, [2]string{"bearer", "sas"}, func(mode int, i int64) {
		bb.do(b, c, "GET", fmt.Sprintf("%s/blob-%d%s", bb.url, i%100, modes[mode].query), nil, modes[mode].hdr, http.StatusOK)
	})
}
