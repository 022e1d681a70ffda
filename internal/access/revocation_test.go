package access

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/revocation"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/token"
)

// A revoked token fails Authenticate, whichever resource asks, while the principal's
// other tokens still pass; revoking the principal shuts out every token issued before.
func TestAuthenticateRevoked(t *testing.T) {
	f := newFixture(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(t.Context(), f.store, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	revs, err := revocation.Open(t.Context(), f.store, 24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SetRevocations(revs)
	const iss = "https://127.0.0.1:1/tid/"
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
	issuer := &token.Issuer{Keys: ring, Now: func() time.Time { return now.Add(-time.Minute) }}
	mint := func() token.Token {
		tok, err := issuer.Issue(token.Request{TenantID: "tid", IssuerURL: iss, Audience: "https://storage.azure.com", Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a, b := mint(), mint()
	claimsA, err := f.svc.Authenticate(t.Context(), v, a.Raw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	claimsB, err := f.svc.Authenticate(t.Context(), v, b.Raw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := revs.RevokeToken(t.Context(), a.UTI, id.PrincipalID, a.ExpiresAt, "test", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, a.Raw, time.Now()); lanyard.CodeOf(err) != "InvalidAuthenticationInfo" || lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("revoked token: %v, want Unauthenticated InvalidAuthenticationInfo", err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, b.Raw, time.Now()); err != nil {
		t.Fatalf("another token of the same principal: %v", err)
	}
	// Recheck, which ends open PostgreSQL sessions, sees the same revocations.
	if err := f.svc.Recheck(t.Context(), claimsA); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("Recheck of a revoked token: %v", err)
	}
	if err := f.svc.Recheck(t.Context(), claimsB); err != nil {
		t.Fatalf("Recheck of another token of the same principal: %v", err)
	}
	if _, err := revs.RevokePrincipal(t.Context(), id.PrincipalID, time.Time{}, "test", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), v, b.Raw, time.Now()); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("token issued before the principal's revocation: %v", err)
	}
	if err := f.svc.Recheck(t.Context(), claimsB); lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		t.Fatalf("Recheck after the principal's revocation: %v", err)
	}
	issuer.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
	if _, err := f.svc.Authenticate(t.Context(), v, mint().Raw, time.Now().Add(2*time.Second)); err != nil {
		t.Fatalf("token issued after the principal's revocation: %v", err)
	}
}
