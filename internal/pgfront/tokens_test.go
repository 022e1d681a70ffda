package pgfront

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

// The front end with Lanyard's real token checks (access.Service over a store): tokens
// for the database's audience, with or without the trailing slash, log in; a token for
// another audience is refused; disabling the identity ends its open session.
func TestAccessTokens(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const sub = "11111111-2222-3333-4444-555555555555"
	svc, err := access.New(ctx, st, lanyard.Tenant{ID: "tid", SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(ctx, st, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://127.0.0.1:1/tid/"
	now := time.Now()
	id := lanyard.Identity{PrincipalID: uuid.NewString(), ClientID: uuid.NewString(), Kind: lanyard.UserAssigned,
		ResourceID:    "/subscriptions/" + sub + "/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
		ResourceGroup: "g", Name: "app", Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateGroup(ctx, lanyard.ResourceGroup{Name: "g", Location: "local", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	issuer := &token.Issuer{Keys: ring}
	mint := func(audience string) string {
		tok, err := issuer.Issue(token.Request{TenantID: "tid", IssuerURL: iss, Audience: audience, Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	tokens := &AccessTokens{Access: svc, Verifier: &token.Verifier{Keys: ring, Issuers: []string{iss},
		Audiences: []string{lanyard.OSSRDBMSResource, lanyard.OSSRDBMSResource + "/"}, MatchAudience: token.SameResource}}
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, func(c *Config) { c.Tokens = tokens })
	role := uniqueRole("app")
	if _, err := e.dir.CreatePrincipal(ctx, e.server.ResourceID, role, id.PrincipalID, lanyard.PostgresService, false); err != nil {
		t.Fatal(err)
	}

	withSlash := e.mustConnect(role, mint(lanyard.OSSRDBMSResource+"/"))
	c := e.mustConnect(role, mint(lanyard.OSSRDBMSResource))
	if _, err := e.connect(role, mint("https://storage.azure.com")); pgCode(err) != "28P01" {
		t.Fatalf("a token for another audience: %v", err)
	}
	if l := e.audit.lastLogin(); l.Allowed || !strings.Contains(l.Reason, "token refused") {
		t.Errorf("audit = %+v", l)
	}

	if _, err := st.UpdateIdentity(ctx, id.PrincipalID, func(old lanyard.Identity) (lanyard.Identity, error) { old.Enabled = false; return old, nil }); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	waitEnded(t, withSlash)
	for _, end := range e.audit.endsOf(role) {
		if !end.Forced || !strings.Contains(end.Reason, "disabled") {
			t.Errorf("end = %+v", end)
		}
	}
	if _, err := e.connect(role, mint(lanyard.OSSRDBMSResource)); pgCode(err) != "28P01" {
		t.Errorf("a disabled identity's login: %v", err)
	}
}
