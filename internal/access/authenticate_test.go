package access

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/token"
)

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(t.Context(), f.store, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://127.0.0.1:1/tid/"
	issuer := &token.Issuer{Keys: ring}
	v := &token.Verifier{Keys: ring, Issuers: []string{iss}, Audiences: []string{"https://storage.azure.com"}, MatchAudience: token.SameResource}
	now := time.Now()
	id := lanyard.Identity{PrincipalID: uuid.NewString(), ClientID: uuid.NewString(), Kind: lanyard.UserAssigned,
		ResourceID:    "/subscriptions/" + sub + "/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i",
		ResourceGroup: "g", Name: "i", Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := f.store.CreateGroup(t.Context(), lanyard.ResourceGroup{Name: "g", Location: "local", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	mint := func(tenant string) string {
		tok, err := issuer.Issue(token.Request{TenantID: tenant, IssuerURL: iss, Audience: "https://storage.azure.com/", Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	good := mint("tid")
	if c, err := f.svc.Authenticate(t.Context(), v, good, time.Now()); err != nil || c.ObjectID != id.PrincipalID {
		t.Fatalf("valid token: %+v %v", c, err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, mint("other-tenant"), time.Now()); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("token of another tenant: %v", err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, good+"x", time.Now()); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("tampered token: %v", err)
	}
	// Disabling the identity shuts its existing tokens out at once; enabling lets them back.
	if _, err := f.store.UpdateIdentity(t.Context(), id.PrincipalID, func(old lanyard.Identity) (lanyard.Identity, error) { old.Enabled = false; return old, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, good, time.Now()); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("token of a disabled identity: %v", err)
	}
	if _, err := f.store.UpdateIdentity(t.Context(), id.PrincipalID, func(old lanyard.Identity) (lanyard.Identity, error) { old.Enabled = true; return old, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, good, time.Now()); err != nil {
		t.Fatalf("re-enabled identity: %v", err)
	}
	// Recheck re-checks the claims of an open session the same way, without the signature.
	claims, err := f.svc.Authenticate(t.Context(), v, good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Recheck(t.Context(), claims); err != nil {
		t.Fatalf("Recheck of a good token: %v", err)
	}
	if err := f.store.DeleteIdentity(t.Context(), id.PrincipalID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Recheck(t.Context(), claims); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("Recheck of a deleted identity's token: %v", err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, good, time.Now()); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("token of a deleted identity: %v", err)
	}
}
