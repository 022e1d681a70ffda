package blobapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	delegatingOID = "0d7ae4a4-69b5-4c38-9d8b-a5d3c3a6e001"
	testTenant    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// delegAuth is fakeAuth that also authorizes SAS requests as their principal: it
// refuses the principals in gone, and what fakeAuth.denied lists.
type delegAuth struct {
	*fakeAuth
	mu        sync.Mutex
	gone      map[string]bool
	delegated []blobapi.AccessRequest
}

func (d *delegAuth) Authorize(ctx context.Context, r *http.Request, req blobapi.AccessRequest) error {
	if err := d.fakeAuth.Authorize(ctx, r, req); err != nil {
		return err
	}
	blobapi.NoteCaller(ctx, delegatingOID, testTenant)
	return nil
}

func (d *delegAuth) AuthorizeDelegated(_ context.Context, principal string, req blobapi.AccessRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delegated = append(d.delegated, req)
	switch {
	case principal != delegatingOID:
		return errors.New("unexpected principal " + principal)
	case d.gone[principal]:
		return lanyard.Errorf(lanyard.KindUnauthenticated, "The token's principal is disabled.").WithCode("InvalidAuthenticationInfo")
	case d.denied[req.Action]:
		return lanyard.Errorf(lanyard.KindPermissionDenied, "denied").WithCode("AuthorizationPermissionMismatch")
	}
	return nil
}

type generations struct {
	mu  sync.Mutex
	gen int64
}

func (g *generations) UserDelegationKeyGeneration(context.Context, string) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen, nil
}

type notBefore struct{ t time.Time }

func (n *notBefore) NotBefore(string) time.Time { return n.t }

type fixedToken struct{}

func (fixedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type sasEnv struct {
	*env
	auth *delegAuth
	gens *generations
	revs *notBefore
	now  time.Time
}

// newSASEnv serves SAS with the fakes above; seed adds container data and its blob.
func newSASEnv(t testing.TB) *sasEnv {
	e := newEnv(t)
	s := &sasEnv{env: e, auth: &delegAuth{fakeAuth: e.auth, gone: map[string]bool{}}, gens: &generations{gen: 5}, revs: &notBefore{}, now: time.Now()}
	e.h.Auth = s.auth
	e.h.UserDelegation = &blobapi.UserDelegation{Secret: bytes.Repeat([]byte{1}, 32), TenantID: testTenant,
		Accounts: s.gens, Revocations: s.revs, Now: func() time.Time { return s.now }}
	return s
}

func (s *sasEnv) seed(t *testing.T) *sasEnv {
	s.container(t, "data")
	s.put(t, "data/hello.txt", "hello by SAS", nil)
	return s
}

// credential gets a user delegation key with the real Go SDK.
func (s *sasEnv) credential(t testing.TB) *service.UserDelegationCredential {
	t.Helper()
	c, err := service.NewClient(s.srv.URL+"/"+account, fixedToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	cred, err := c.GetUserDelegationCredential(context.Background(), service.KeyInfo{
		Start: to.Ptr(now.Add(-time.Minute).Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// sasURL signs v with cred and returns the URL of its blob (or container) with the SAS.
func (s *sasEnv) sasURL(t testing.TB, cred *service.UserDelegationCredential, v sas.BlobSignatureValues) string {
	t.Helper()
	if v.ExpiryTime.IsZero() {
		v.ExpiryTime = time.Now().Add(30 * time.Minute)
	}
	if v.ContainerName == "" {
		v.ContainerName = "data"
	}
	qp, err := v.SignWithUserDelegation(cred)
	if err != nil {
		t.Fatal(err)
	}
	u := s.srv.URL + "/" + account + "/" + v.ContainerName
	if v.BlobName != "" {
		u += "/" + v.BlobName
	}
	return u + "?" + qp.Encode()
}

// download fetches url with a client that has no credential.
func (s *sasEnv) download(t *testing.T, url string) (string, http.Header, error) {
	t.Helper()
	c, err := blob.NewClientWithNoCredential(url, &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.DownloadStream(context.Background(), nil)
	if err != nil {
		return "", nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	hdr := http.Header{}
	if r.ContentType != nil {
		hdr.Set("Content-Type", *r.ContentType)
	}
	if r.CacheControl != nil {
		hdr.Set("Cache-Control", *r.CacheControl)
	}
	return string(b), hdr, err
}

func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("%s: got %v, want %d %s", what, err, status, code)
	}
}

// TestUserDelegationSASWithGoSDK: a key from GetUserDelegationCredential signs a SAS
// (sas.BlobSignatureValues.SignWithUserDelegation) that a client with no credential
// downloads with, with the response headers the SAS overrides; the decision is made as
// the delegating principal, by SAS.
func TestUserDelegationSASWithGoSDK(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	url := s.sasURL(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: "hello.txt",
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContentType: "application/x-by-sas", CacheControl: "no-store",
		IPRange: sas.IPRange{Start: []byte{127, 0, 0, 1}}})
	body, hdr, err := s.download(t, url)
	if err != nil || body != "hello by SAS" {
		t.Fatalf("download with SAS: %q, %v", body, err)
	}
	if hdr.Get("Content-Type") != "application/x-by-sas" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("overrides not applied: %v", hdr)
	}
	last := s.auth.delegated[len(s.auth.delegated)-1]
	if last.Credential != blobapi.CredentialUserDelegationSAS || last.Action != blobapi.ActionBlobsRead || last.Token != "" ||
		last.Scope != "blobServices/default/containers/data/blobs/hello.txt" {
		t.Fatalf("authorized as %+v", last)
	}

	// Read-only: no delete.
	c, _ := blob.NewClientWithNoCredential(url, &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.srv.Client()}})
	_, err = c.Delete(context.Background(), nil)
	wantCode(t, "delete with a read SAS", err, http.StatusForbidden, "AuthorizationPermissionMismatch")

	// The SAS names its blob: another's path does not verify.
	other := strings.Replace(url, "/hello.txt?", "/other.txt?", 1)
	res := s.do(t, req{method: "GET", path: strings.TrimPrefix(other, s.srv.URL), noAuth: true})
	if res.status != http.StatusForbidden || res.hdr.Get("x-ms-error-code") != "AuthenticationFailed" ||
		!strings.Contains(res.body, "Signature did not match. String to sign used was r\n") || !strings.Contains(res.body, delegatingOID) {
		t.Fatalf("SAS for another blob: %d %s", res.status, res.body)
	}

	// A container SAS lists and reads.
	curl := s.sasURL(t, cred, sas.BlobSignatureValues{Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String()})
	path := strings.TrimPrefix(curl, s.srv.URL)
	res = s.do(t, req{method: "GET", path: path + "&restype=container&comp=list", noAuth: true})
	if res.status != http.StatusOK || !strings.Contains(res.body, "<Name>hello.txt</Name>") {
		t.Fatalf("list with a container SAS: %d %s", res.status, res.body)
	}
	s.fails(t, req{method: "DELETE", path: path + "&restype=container", noAuth: true}, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// TestUserDelegationSASCreateOnly: c without w creates a blob and never replaces one.
func TestUserDelegationSASCreateOnly(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	for name, want := range map[string]int{"new.txt": http.StatusCreated, "hello.txt": http.StatusForbidden} {
		url := s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: name, Permissions: (&sas.BlobPermissions{Create: true}).String()})
		res := s.do(t, req{method: "PUT", path: strings.TrimPrefix(url, s.srv.URL), body: "x", noAuth: true, hdr: map[string]string{"x-ms-blob-type": "BlockBlob"}})
		if res.status != want {
			t.Fatalf("create-only Put Blob of %s: %d, want %d\n%s", name, res.status, want, res.body)
		}
	}
}

// TestUserDelegationSASStopsWorking: the SAS fails at once when its principal loses the
// role, is disabled, has its tokens revoked, when the account's keys are revoked, and
// when it expires.
func TestUserDelegationSASStopsWorking(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	url := s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r"})
	if _, _, err := s.download(t, url); err != nil {
		t.Fatal(err)
	}
	s.auth.denied[blobapi.ActionBlobsRead] = true
	_, _, err := s.download(t, url)
	wantCode(t, "role removed", err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	delete(s.auth.denied, blobapi.ActionBlobsRead)

	s.auth.gone[delegatingOID] = true
	_, _, err = s.download(t, url)
	wantCode(t, "principal disabled", err, http.StatusForbidden, "AuthenticationFailed")
	delete(s.auth.gone, delegatingOID)

	s.revs.t = time.Now()
	_, _, err = s.download(t, url)
	wantCode(t, "principal's tokens revoked", err, http.StatusForbidden, "AuthenticationFailed")
	if _, _, err := s.download(t, s.sasURL(t, s.credential(t), sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r"})); err != nil {
		t.Fatalf("a key made after the revocation: %v", err)
	}

	// Used once before, so that the key is one the Handler has derived already.
	url = s.sasURL(t, s.credential(t), sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r"})
	if _, _, err := s.download(t, url); err != nil {
		t.Fatal(err)
	}
	s.gens.mu.Lock()
	s.gens.gen++
	s.gens.mu.Unlock()
	_, _, err = s.download(t, url)
	wantCode(t, "account keys revoked", err, http.StatusForbidden, "AuthenticationFailed")

	// Expired: without st, Azure compares se with the current time as the start.
	cred = s.credential(t)
	url = s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r", ExpiryTime: time.Now().Add(10 * time.Minute)})
	withStart := s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r", StartTime: time.Now().Add(-time.Minute), ExpiryTime: time.Now().Add(10 * time.Minute)})
	s.now = s.now.Add(11 * time.Minute)
	for u, detail := range map[string]string{url: "must be after signed start time [", withStart: "Signature not valid in the specified time frame: Start ["} {
		res := s.do(t, req{method: "GET", path: strings.TrimPrefix(u, s.srv.URL), noAuth: true})
		if res.status != http.StatusForbidden || !strings.Contains(res.body, detail) {
			t.Fatalf("expired SAS: %d %s", res.status, res.body)
		}
	}
}

// TestSASRefusals: account and service SAS, a SAS from another address, a SAS for Get
// User Delegation Key, and bad KeyInfo bodies are refused as Azure refuses them.
func TestSASRefusals(t *testing.T) {
	s := newSASEnv(t).seed(t)
	p := "/" + account + "/data/hello.txt"
	s.fails(t, req{method: "GET", path: p + "?sv=2026-04-06&sr=b&sp=r&se=2030-01-01&sig=abc", noAuth: true}, http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")
	s.fails(t, req{method: "GET", path: p + "?sv=2026-04-06&ss=b&srt=o&sp=r&se=2030-01-01&sig=abc&skoid=x", noAuth: true}, http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")
	s.fails(t, req{method: "GET", path: p + "?sv=2026-04-06&sr=b&sp=r&sig=abc&skoid=x", noAuth: true}, http.StatusForbidden, "AuthenticationFailed")

	cred := s.credential(t)
	url := s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r", IPRange: sas.IPRange{Start: []byte{10, 0, 0, 1}}})
	s.fails(t, req{method: "GET", path: strings.TrimPrefix(url, s.srv.URL), noAuth: true}, http.StatusForbidden, "AuthorizationSourceIPMismatch")

	url = s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "hello.txt", Permissions: "r"})
	q := url[strings.Index(url, "?"):]
	s.fails(t, req{method: "POST", path: "/" + account + q + "&restype=service&comp=userdelegationkey", noAuth: true,
		body: "<KeyInfo><Expiry>2030-01-01T00:00:00Z</Expiry></KeyInfo>"}, http.StatusForbidden, "AuthenticationFailed")

	key := func(body string) req {
		return req{method: "POST", path: "/" + account + "?restype=service&comp=userdelegationkey", body: body}
	}
	now := time.Now().UTC()
	f := func(t time.Time) string { return t.Format(time.RFC3339) }
	for name, body := range map[string]string{
		"beyond seven days":   "<KeyInfo><Start>" + f(now) + "</Start><Expiry>" + f(now.Add(8*24*time.Hour)) + "</Expiry></KeyInfo>",
		"expiry before start": "<KeyInfo><Start>" + f(now.Add(time.Hour)) + "</Start><Expiry>" + f(now.Add(time.Minute)) + "</Expiry></KeyInfo>",
		"no expiry":           "<KeyInfo><Start>" + f(now) + "</Start></KeyInfo>",
		"not a time":          "<KeyInfo><Expiry>tomorrow</Expiry></KeyInfo>",
	} {
		t.Run(name, func(t *testing.T) { s.fails(t, key(body), http.StatusBadRequest, "InvalidXmlNodeValue") })
	}
	s.fails(t, key("<KeyInfo>"), http.StatusBadRequest, "InvalidXmlDocument")
	s.auth.denied[blobapi.ActionGenerateUserDelegationKey] = true
	s.fails(t, req{method: "POST", path: "/" + account + "?restype=service&comp=userdelegationkey", hdr: map[string]string{"Authorization": "Bearer limited"},
		body: "<KeyInfo><Expiry>" + f(now.Add(time.Hour)) + "</Expiry></KeyInfo>"}, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

// TestSASAccessRequests: a SAS request asks RBAC, as its principal, what a bearer
// request would ask, with the sub-operation and tag attributes ABAC conditions read, so
// that a condition on the principal's role binds its SAS too.
func TestSASAccessRequests(t *testing.T) {
	s := newSASEnv(t).seed(t)
	cred := s.credential(t)
	const tagAttr = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>"
	last := func() blobapi.AccessRequest {
		s.auth.mu.Lock()
		defer s.auth.mu.Unlock()
		return s.auth.delegated[len(s.auth.delegated)-1]
	}
	blobSAS := strings.TrimPrefix(s.sasURL(t, cred, sas.BlobSignatureValues{BlobName: "tagged", Permissions: "rw"}), s.srv.URL)
	s.must(t, req{method: "PUT", path: blobSAS, body: "x", noAuth: true,
		hdr: map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-tags": "Project=Cascade"}}, http.StatusCreated)
	got := last()
	if got.SubOperation != "Blob.Write.WithTagHeaders" || got.Credential != blobapi.CredentialUserDelegationSAS {
		t.Fatalf("Put Blob with tags by SAS asked %+v", got)
	}
	if vs, ok := got.Attributes("Request", tagAttr); !ok || len(vs) != 1 || vs[0] != "Cascade" {
		t.Fatalf("request tag = %v %v", vs, ok)
	}
	s.must(t, req{method: "GET", path: blobSAS, noAuth: true}, http.StatusOK)
	if vs, ok := last().Attributes("Resource", tagAttr); !ok || len(vs) != 1 || vs[0] != "Cascade" {
		t.Fatalf("resource tag = %v %v", vs, ok)
	}
	s.must(t, req{method: "PUT", path: blobSAS + "&comp=tier", noAuth: true, hdr: map[string]string{"x-ms-access-tier": "Cool"}}, http.StatusOK)
	if got := last(); got.SubOperation != "Blob.Write.Tier" {
		t.Fatalf("Set Blob Tier by SAS asked %+v", got)
	}
	list := strings.TrimPrefix(s.sasURL(t, cred, sas.BlobSignatureValues{Permissions: "l"}), s.srv.URL)
	s.must(t, req{method: "GET", path: list + "&restype=container&comp=list", noAuth: true}, http.StatusOK)
	if got := last(); got.SubOperation != "Blob.List" || got.Attributes != nil {
		t.Fatalf("List Blobs by SAS asked %+v", got)
	}
}
