package federation

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

type world struct {
	store store.Store
	dir   *directory.Service
	creds *Credentials
	id    lanyard.Identity
}

// newWorld opens a SQLite store with group rg holding identity id1.
func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := directory.New(st, lanyard.Tenant{ID: "t", SubscriptionID: "00000000-0000-4000-8000-000000000001"}, []byte("0123456789abcdef0123456789abcdef"), nil)
	if _, _, err := dir.PutGroup(t.Context(), "rg", "", nil); err != nil {
		t.Fatal(err)
	}
	id, _, err := dir.PutIdentity(t.Context(), "rg", "id1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return &world{store: st, dir: dir, creds: &Credentials{Store: st, Identities: dir}, id: id}
}

func TestCredentialsLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	spec := Spec{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:org/repo:ref:refs/heads/main"}

	c, created, err := w.creds.Put(ctx, "RG", "ID1", "GitHub-Main", spec)
	if err != nil || !created {
		t.Fatalf("Put = %v, %v", created, err)
	}
	if c.Name != "GitHub-Main" || c.IdentityPrincipalID != w.id.PrincipalID || c.IdentityResourceID != w.id.ResourceID ||
		len(c.Audiences) != 1 || c.Audiences[0] != lanyard.DefaultFederatedAudience {
		t.Errorf("created %+v", c)
	}

	spec.Subject, spec.Audiences, spec.Description = "repo:org/repo:environment:prod", []string{"api://Custom"}, "prod deploys"
	u, created, err := w.creds.Put(ctx, "rg", "id1", "github-main", spec)
	if err != nil || created {
		t.Fatalf("second Put = %v, %v; want an update", created, err)
	}
	if u.Name != "GitHub-Main" || u.Subject != spec.Subject || u.Audiences[0] != "api://Custom" || u.Description != "prod deploys" || !u.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("updated %+v", u)
	}
	got, err := w.creds.Get(ctx, "rg", "id1", "GITHUB-MAIN")
	if err != nil || got.Subject != spec.Subject {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	// Same issuer and subject under another name.
	_, _, err = w.creds.Put(ctx, "rg", "id1", "copy", spec)
	if !lanyard.IsConflict(err) {
		t.Errorf("Put of a duplicate issuer and subject: %v, want Conflict", err)
	}

	bad := []struct {
		name string
		cred string
		spec Spec
	}{
		{"short name", "ab", spec},
		{"name with a dot", "a.b.c", spec},
		{"name starting with '-'", "-abc", spec},
		{"long name", strings.Repeat("a", 121), spec},
		{"http issuer", "x1", Spec{Issuer: "http://issuer.example", Subject: "s"}},
		{"issuer with a query", "x2", Spec{Issuer: "https://issuer.example/?a=b", Subject: "s"}},
		{"issuer with a trailing space", "x3", Spec{Issuer: "https://issuer.example ", Subject: "s"}},
		{"no subject", "x4", Spec{Issuer: "https://issuer.example"}},
		{"subject too long", "x5", Spec{Issuer: "https://issuer.example", Subject: strings.Repeat("s", 601)}},
		{"two audiences", "x6", Spec{Issuer: "https://issuer.example", Subject: "s", Audiences: []string{"a", "b"}}},
		{"empty audience", "x7", Spec{Issuer: "https://issuer.example", Subject: "s", Audiences: []string{""}}},
		{"description too long", "x8", Spec{Issuer: "https://issuer.example", Subject: "s", Description: strings.Repeat("d", 601)}},
		{"control character", "x9", Spec{Issuer: "https://issuer.example", Subject: "a\nb"}},
	}
	for _, b := range bad {
		if _, _, err := w.creds.Put(ctx, "rg", "id1", b.cred, b.spec); lanyard.KindOf(err) != lanyard.KindInvalid || lanyard.CodeOf(err) == "" {
			t.Errorf("%s: got %v (kind %v), want Invalid with a code", b.name, err, lanyard.KindOf(err))
		}
	}

	_, _, err = w.creds.Put(ctx, "rg", "nope", "cred1", spec)
	if lanyard.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("Put on a missing identity: %v", err)
	}
	_, _, err = w.creds.Put(ctx, "nogroup", "id1", "cred1", spec)
	if lanyard.CodeOf(err) != "ResourceGroupNotFound" && lanyard.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("Put in a missing group: %v", err)
	}
	_, err = w.creds.Get(ctx, "rg", "id1", "missing")
	if lanyard.CodeOf(err) != "ResourceNotFound" || !strings.Contains(lanyard.MessageOf(err), "federatedIdentityCredentials/missing") {
		t.Errorf("Get of a missing credential: %v", err)
	}

	// The limit.
	for i := 1; i < lanyard.MaxFederatedCredentialsPerIdentity; i++ {
		if _, _, err := w.creds.Put(ctx, "rg", "id1", fmt.Sprintf("k8s-%02d", i), Spec{Issuer: "https://oidc.example/c/", Subject: fmt.Sprintf("system:serviceaccount:ns:sa%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = w.creds.Put(ctx, "rg", "id1", "one-more", Spec{Issuer: "https://oidc.example/c/", Subject: "x"})
	if lanyard.CodeOf(err) != lanyard.CodeFederatedCredentialLimit {
		t.Errorf("21st credential: %v", err)
	}
	// Updating one of the 20 is still allowed.
	if _, created, err := w.creds.Put(ctx, "rg", "id1", "k8s-01", Spec{Issuer: "https://oidc.example/c/", Subject: "changed"}); err != nil || created {
		t.Errorf("update at the limit: %v, %v", created, err)
	}

	list, err := w.creds.List(ctx, "rg", "id1")
	if err != nil || len(list) != lanyard.MaxFederatedCredentialsPerIdentity {
		t.Fatalf("List = %d, %v", len(list), err)
	}
	if err := w.creds.Delete(ctx, "rg", "id1", "GITHUB-main"); err != nil {
		t.Fatal(err)
	}
	if err := w.creds.Delete(ctx, "rg", "id1", "github-main"); lanyard.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("second Delete: %v", err)
	}
	// Deleting the identity deletes its credentials.
	if err := w.dir.DeleteIdentity(ctx, "rg", "id1"); err != nil {
		t.Fatal(err)
	}
	if left, err := w.store.ListFederatedCredentials(ctx, w.id.PrincipalID); err != nil || len(left) != 0 {
		t.Errorf("credentials left after deleting the identity: %d, %v", len(left), err)
	}
}

// The exchange: who the client is, whether it may be used, then the assertion.
func TestExchange(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	const issuer = "https://issuer.example"
	now := time.Now()
	key := testRSAKey(0)
	x := &Exchanger{Directory: w.store, Validator: &Validator{
		Keys: staticKeys{{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256"}},
		Now:  func() time.Time { return now },
	}}
	raw := signWith(t, jose.RS256, key, "k", githubClaims(issuer, now))

	_, _, err := x.Exchange(ctx, w.id.ClientID, raw)
	wantCode(t, "identity without credentials", err, CodeNoCredentials)

	if _, _, err := w.creds.Put(ctx, "rg", "id1", "github", Spec{Issuer: issuer, Subject: "repo:org/repo:ref:refs/heads/main"}); err != nil {
		t.Fatal(err)
	}
	for _, clientID := range []string{w.id.ClientID, strings.ToUpper(w.id.ClientID)} {
		id, m, err := x.Exchange(ctx, clientID, raw+"\n")
		if err != nil {
			t.Fatalf("Exchange(%s): %v", clientID, err)
		}
		if id.PrincipalID != w.id.PrincipalID || m.Credential.Name != "github" {
			t.Errorf("Exchange = %+v, %+v", id, m)
		}
	}

	_, _, err = x.Exchange(ctx, "11111111-2222-3333-4444-555555555555", raw)
	wantCode(t, "unknown client", err, CodeUnknownClient)
	_, _, err = x.Exchange(ctx, "not-a-guid", raw)
	wantCode(t, "client id that is no GUID", err, CodeUnknownClient)

	if _, err := w.dir.SetIdentityEnabled(ctx, w.id.PrincipalID, false); err != nil {
		t.Fatal(err)
	}
	_, _, err = x.Exchange(ctx, w.id.ClientID, raw)
	wantCode(t, "disabled identity", err, CodeClientDisabled)
	if lanyard.KindOf(err) != lanyard.KindPermissionDenied {
		t.Errorf("disabled identity: kind %v", lanyard.KindOf(err))
	}
}
