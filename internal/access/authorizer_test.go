package access

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/token"
)

const (
	blobAdd = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
	iss     = "https://127.0.0.1:1/tid/"
	blobURL = "https://127.0.0.1:10000"
)

// blobAudiences are what the Blob surface accepts for account acct.
var blobAudiences = []string{"https://storage.azure.com", blobURL + "/acct", "https://acct.blob.core.windows.net"}

// resources knows one account.
type resources map[string]string

func (r resources) ResourceID(_ context.Context, name string) (string, error) {
	if id, ok := r[name]; ok {
		return id, nil
	}
	return "", lanyard.Errorf(lanyard.KindNotFound, "no account %s", name)
}

// recorder keeps the decisions and answers with err.
type recorder struct {
	got []audit.Decision
	err error
}

func (r *recorder) Decided(_ context.Context, d audit.Decision) error {
	r.got = append(r.got, d)
	return r.err
}

// trail records into a real audit.Recorder, whose policy decides what Decided returns.
type trail struct{ r *audit.Recorder }

func (t trail) Decided(ctx context.Context, d audit.Decision) error {
	return t.r.Record(ctx, audit.Decided(d))
}

// brokenTrail is an audit recorder that cannot write: it is closed.
func brokenTrail(t *testing.T, f *fixture, policy audit.Policy) trail {
	r := audit.New(audit.Options{Store: f.store, Policy: policy, WriteTimeout: 100 * time.Millisecond})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return trail{r}
}

type authzFixture struct {
	*fixture
	issuer   *token.Issuer
	verifier *token.Verifier
}

func newAuthzFixture(t *testing.T) *authzFixture {
	f := newFixture(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(t.Context(), f.store, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateGroup(t.Context(), lanyard.ResourceGroup{Name: "g", Location: "local", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &authzFixture{fixture: f, issuer: &token.Issuer{Keys: ring},
		verifier: &token.Verifier{Keys: ring, Issuers: []string{iss}, MatchAudience: token.SameResource}}
}

// identity makes an enabled identity the store and the principal lookup know.
func (f *authzFixture) identity(t *testing.T, name string) lanyard.Identity {
	t.Helper()
	now := time.Now()
	id := lanyard.Identity{PrincipalID: uuid.NewString(), ClientID: uuid.NewString(), Kind: lanyard.UserAssigned,
		ResourceID:    "/subscriptions/" + sub + "/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name,
		ResourceGroup: "g", Name: name, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := f.store.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	f.known[id.PrincipalID] = true
	return id
}

func (f *authzFixture) token(t *testing.T, id lanyard.Identity, aud string) string {
	t.Helper()
	tok, err := f.issuer.Issue(token.Request{TenantID: "tid", IssuerURL: iss, Audience: aud, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

// TestAuthorizer: what a data-plane request gets for its token and its principal's roles,
// and what is recorded.
func TestAuthorizer(t *testing.T) {
	f := newAuthzFixture(t)
	writer, reader, adder := f.identity(t, "writer"), f.identity(t, "reader"), f.identity(t, "adder")
	roles := "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/"
	f.assign(t, writer.PrincipalID, roles+blobDataContrib, accountScope)
	f.assign(t, reader.PrincipalID, roles+blobDataReader, accountScope)
	addOnly := lanyard.RoleDefinition{ID: uuid.NewString(), Name: "Blob adder", AssignableScopes: []string{accountScope},
		Permissions: []lanyard.Permission{{DataActions: []string{blobAdd}}}}
	if _, _, err := f.svc.PutRoleDefinition(t.Context(), accountScope, addOnly, func(string, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	f.assign(t, adder.PrincipalID, roles+addOnly.ID, accountScope)
	storage := "https://storage.azure.com/"
	// One shut gate for the case that needs it.
	var gateErr error
	f.svc.SetGate(func() error { return gateErr })

	put := func(tok, action string) Request {
		return Request{Resource: "acct", Scope: "blobServices/default/containers/c1/blobs/x.txt", Operation: "PutBlob",
			Action: action, DataAction: true, Audiences: blobAudiences, Token: tok}
	}
	tests := []struct {
		name     string
		req      Request
		recorder func() Recorder
		gate     error
		kind     lanyard.Kind // 0: allowed
		code     string
		// recorded is the decision recorded, if one is expected: allowed or not, and a
		// substring of its reason.
		recorded *audit.Decision
	}{
		{name: "no token", req: put("", blobWrite), kind: lanyard.KindUnauthenticated, code: "NoAuthenticationInformation",
			recorded: &audit.Decision{Reason: "authentication failed: Server failed to authenticate"}},
		{name: "bad token", req: put(f.token(t, writer, storage)+"x", blobWrite), kind: lanyard.KindUnauthenticated, code: CodeInvalidToken,
			recorded: &audit.Decision{Reason: "authentication failed"}},
		{name: "wrong audience", req: put(f.token(t, writer, "https://vault.azure.net"), blobWrite), kind: lanyard.KindUnauthenticated, code: CodeInvalidToken,
			recorded: &audit.Decision{Reason: "authentication failed"}},
		{name: "another account's URL", req: put(f.token(t, writer, blobURL+"/other"), blobWrite), kind: lanyard.KindUnauthenticated, code: CodeInvalidToken},
		{name: "allowed", req: put(f.token(t, writer, storage), blobWrite),
			recorded: &audit.Decision{Allowed: true, PrincipalID: writer.PrincipalID, RoleName: "Storage Blob Data Contributor"}},
		{name: "allowed for the account's URL", req: put(f.token(t, writer, "https://acct.blob.core.windows.net"), blobWrite)},
		{name: "denied", req: put(f.token(t, reader, storage), blobWrite), kind: lanyard.KindPermissionDenied, code: "AuthorizationPermissionMismatch",
			recorded: &audit.Decision{PrincipalID: reader.PrincipalID, Reason: "Storage Blob Data Reader"}},
		// The add/action fallback: Put Blob asks for write, then for add (blobapi); an
		// add-only principal is refused the first and granted the second, so it may
		// create but not replace a blob.
		{name: "add-only principal: write refused", req: put(f.token(t, adder, storage), blobWrite),
			kind: lanyard.KindPermissionDenied, code: "AuthorizationPermissionMismatch", recorded: &audit.Decision{PrincipalID: adder.PrincipalID}},
		{name: "add-only principal: add allowed", req: put(f.token(t, adder, storage), blobAdd),
			recorded: &audit.Decision{Allowed: true, PrincipalID: adder.PrincipalID, RoleName: "Blob adder"}},
		{name: "reader: add refused too", req: put(f.token(t, reader, storage), blobAdd), kind: lanyard.KindPermissionDenied, code: "AuthorizationPermissionMismatch"},
		{name: "fail-closed: unrecorded allowance refused", req: put(f.token(t, writer, storage), blobWrite),
			recorder: func() Recorder { return brokenTrail(t, f.fixture, audit.FailClosed) }, kind: lanyard.KindUnavailable},
		{name: "fail-closed: unrecorded denial still unavailable", req: put(f.token(t, reader, storage), blobWrite),
			recorder: func() Recorder { return &recorder{err: audit.ErrUnavailable} }, kind: lanyard.KindUnavailable},
		{name: "fail-closed: unrecorded 401 stays 401", req: put("", blobWrite),
			recorder: func() Recorder { return &recorder{err: audit.ErrUnavailable} }, kind: lanyard.KindUnauthenticated, code: "NoAuthenticationInformation"},
		{name: "best-effort: unrecorded allowance allowed", req: put(f.token(t, writer, storage), blobWrite),
			recorder: func() Recorder { return brokenTrail(t, f.fixture, audit.BestEffort) }},
		{name: "stale view: not decided", req: put(f.token(t, writer, storage), blobWrite), gate: lanyard.Errorf(lanyard.KindUnavailable, "The view is stale."), kind: lanyard.KindUnavailable},
		{name: "unknown account", req: Request{Resource: "nope", Action: blobRead, DataAction: true, Audiences: blobAudiences, Token: f.token(t, writer, storage)},
			kind: lanyard.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := &Authorizer{Access: f.svc, Verifier: f.verifier, Resources: resources{"acct": accountScope}, Recorder: rec, Service: "blob"}
			if tt.recorder != nil {
				a.Recorder = tt.recorder()
			}
			gateErr = tt.gate
			defer func() { gateErr = nil }()
			claims, err := a.Authorize(t.Context(), tt.req)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if claims.ObjectID == "" {
					t.Fatal("allowed without the token's claims")
				}
			} else {
				if err == nil {
					t.Fatal("allowed")
				}
				if k := lanyard.KindOf(err); k != tt.kind {
					t.Fatalf("kind %v (%v), want %v", k, err, tt.kind)
				}
				if c := lanyard.CodeOf(err); tt.code != "" && c != tt.code {
					t.Fatalf("code %q (%v), want %q", c, err, tt.code)
				}
			}
			if tt.recorded == nil {
				return
			}
			if len(rec.got) != 1 {
				t.Fatalf("recorded %d decisions, want 1: %+v", len(rec.got), rec.got)
			}
			got, want := rec.got[0], tt.recorded
			if got.Service != "blob" || got.Operation != "PutBlob" || got.Action != tt.req.Action || got.Allowed != want.Allowed ||
				got.PrincipalID != want.PrincipalID || got.RoleName != want.RoleName || !strings.Contains(got.Reason+got.Explanation, want.Reason) {
				t.Errorf("recorded %+v\nwant %+v", got, want)
			}
			if !strings.HasPrefix(got.Scope, accountScope+"/blobServices/default/containers/c1/blobs/x.txt") {
				t.Errorf("recorded scope %q", got.Scope)
			}
			if !got.Allowed && got.Explanation == "" {
				t.Error("a denial is recorded without its explanation")
			}
		})
	}
}

// TestAuthorizerAuthenticate: a token is checked, and a failure recorded, with no RBAC decision; a
// principal with no role at all is authenticated.
func TestAuthorizerAuthenticate(t *testing.T) {
	f := newAuthzFixture(t)
	nobody := f.identity(t, "nobody")
	good := f.token(t, nobody, "https://storage.azure.com/")
	req := func(tok string) Request {
		return Request{Resource: "acct", Operation: "BlobBatch", Audiences: blobAudiences, Token: tok}
	}
	rec := &recorder{}
	a := &Authorizer{Access: f.svc, Verifier: f.verifier, Resources: resources{"acct": accountScope}, Recorder: rec, Service: "blob"}
	claims, err := a.Authenticate(t.Context(), req(good))
	if err != nil || claims.ObjectID != nobody.PrincipalID {
		t.Fatalf("claims %+v, err %v", claims, err)
	}
	if len(rec.got) != 0 {
		t.Fatalf("recorded a decision for an authentication: %+v", rec.got)
	}
	for name, tok := range map[string]string{"none": "", "bad": good + "x", "wrong audience": f.token(t, nobody, "https://vault.azure.net")} {
		rec.got = nil
		_, err := a.Authenticate(t.Context(), req(tok))
		if lanyard.KindOf(err) != lanyard.KindUnauthenticated {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rec.got) != 1 || rec.got[0].Allowed || !strings.Contains(rec.got[0].Reason, "authentication failed") {
			t.Fatalf("%s: recorded %+v", name, rec.got)
		}
	}
}

// revokedPrincipals revokes every token of the principals listed.
type revokedPrincipals map[string]bool

func (r revokedPrincipals) Check(principalID, _ string, _ time.Time) error {
	if r[principalID] {
		return lanyard.Errorf(lanyard.KindUnauthenticated, "The token is revoked.").WithCode(CodeInvalidToken)
	}
	return nil
}

// TestAuthorizeDelegated: a request carrying a credential a principal delegated (a user
// delegation SAS) is decided as that principal, now: allowed while it holds the role,
// refused once it is disabled, gone or revoked; recorded under it, by that credential.
func TestAuthorizeDelegated(t *testing.T) {
	f := newAuthzFixture(t)
	writer, reader, disabled, revoked := f.identity(t, "writer"), f.identity(t, "reader"), f.identity(t, "disabled"), f.identity(t, "revoked")
	roles := "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/"
	for _, id := range []lanyard.Identity{writer, disabled, revoked} {
		f.assign(t, id.PrincipalID, roles+blobDataContrib, accountScope)
	}
	f.assign(t, reader.PrincipalID, roles+blobDataReader, accountScope)
	if _, err := f.store.UpdateIdentity(t.Context(), disabled.PrincipalID, func(id lanyard.Identity) (lanyard.Identity, error) {
		id.Enabled = false
		return id, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.svc.SetRevocations(revokedPrincipals{revoked.PrincipalID: true})
	rec := &recorder{}
	a := &Authorizer{Access: f.svc, Verifier: f.verifier, Resources: resources{"acct": accountScope}, Recorder: rec, Service: "blob"}
	put := Request{Resource: "acct", Scope: "blobServices/default/containers/c1/blobs/x.txt", Operation: "PutBlob",
		Action: blobWrite, DataAction: true, Credential: "userDelegationSas"}
	for _, tt := range []struct {
		name      string
		principal string
		kind      lanyard.Kind
	}{
		{"holds the role", writer.PrincipalID, 0},
		{"lacks the role", reader.PrincipalID, lanyard.KindPermissionDenied},
		{"disabled", disabled.PrincipalID, lanyard.KindUnauthenticated},
		{"revoked", revoked.PrincipalID, lanyard.KindUnauthenticated},
		{"gone", uuid.NewString(), lanyard.KindUnauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec.got = nil
			err := a.AuthorizeDelegated(t.Context(), tt.principal, put)
			if k := lanyard.KindOf(err); (err == nil) != (tt.kind == 0) || err != nil && k != tt.kind {
				t.Fatalf("got %v, want kind %v", err, tt.kind)
			}
			if len(rec.got) != 1 {
				t.Fatalf("recorded %d decisions", len(rec.got))
			}
			d := rec.got[0]
			if d.PrincipalID != tt.principal || d.Credential != "userDelegationSas" || d.Allowed != (tt.kind == 0) || d.TokenID != "" {
				t.Fatalf("recorded %+v", d)
			}
		})
	}
}
