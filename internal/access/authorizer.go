package access

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Verifier checks a bearer token (signature, issuer, lifetime) and that it was issued for
// one of audiences; *token.Verifier is one.
type Verifier interface {
	VerifyFor(raw string, audiences []string, now time.Time) (token.Claims, error)
}

// Resources resolves the name a data-plane request addresses (a storage account, a
// namespace) to the ARM id its role assignments are scoped under.
type Resources interface {
	ResourceID(ctx context.Context, name string) (string, error)
}

// Recorder records and counts a decision. An error means the decision could not be
// recorded and the audit policy (fail-closed) says to refuse the request; a best-effort
// recorder drops what it cannot record and returns nil.
type Recorder interface {
	Decided(ctx context.Context, d audit.Decision) error
}

// Authorizer authorizes a data-plane request carrying a bearer token: it authenticates
// the token, asks RBAC whether its principal may perform the action at the scope, and
// records the decision. One serves each data-plane service (Blob, and the next ones);
// the protocol surface renders its errors by kind.
type Authorizer struct {
	Access    *Service
	Verifier  Verifier
	Resources Resources
	// Recorder records every decision; nil records nothing.
	Recorder Recorder
	// Service names the service in the decisions recorded, e.g. "blob".
	Service string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Request is what a data-plane request needs permission for.
type Request struct {
	// Resource is the name Resources resolves, e.g. the storage account.
	Resource string
	// Scope is the target below the resource's ARM id, "" for the resource itself.
	Scope string
	// Operation is the protocol's operation, e.g. "PutBlob", for the audit trail.
	Operation string
	// Action is the RBAC action or data action; DataAction says which.
	Action     string
	DataAction bool
	// Audiences the token may have been issued for.
	Audiences []string
	// Token is the bearer token, "" when the request carries none.
	Token string
	// SubOperation and Attributes are what ABAC conditions may ask of the request
	// beyond its scope (see rbac.Request); both may be empty.
	SubOperation string
	Attributes   func(source, name string) (values []string, ok bool)
	// Credential names, for the audit trail, a credential the principal delegated that the
	// request carries instead of a token (see AuthorizeDelegated); "" for a token.
	Credential string
}

// Errors of Authorize. Their kinds say how a surface answers (401, 403); the codes and
// messages are Azure Storage's, which a surface of another protocol replaces by kind.
var (
	// ErrNoToken refuses a request that carries no token.
	ErrNoToken = lanyard.Errorf(lanyard.KindUnauthenticated,
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.").WithCode("NoAuthenticationInformation")
	// ErrDenied refuses a request RBAC denies.
	ErrDenied = lanyard.Errorf(lanyard.KindPermissionDenied,
		"This request is not authorized to perform this operation using this permission.").WithCode("AuthorizationPermissionMismatch")
)

// CodeInvalidToken is the code of a token that does not authenticate.
const CodeInvalidToken = "InvalidAuthenticationInfo"

// Authorize returns the claims of the request's token when its principal may perform
// req.Action at the scope. Otherwise it returns ErrNoToken; an Unauthenticated error
// with CodeInvalidToken for a token that does not verify, is revoked or whose principal
// is gone or disabled; ErrDenied; or, with any other kind, why it could not decide (the
// gate is shut, the resource could not be resolved, the decision could not be recorded
// under a fail-closed policy), which refuses the request too.
func (a *Authorizer) Authorize(ctx context.Context, req Request) (token.Claims, error) {
	claims, err := a.Authenticate(ctx, req)
	if err != nil {
		return token.Claims{}, err
	}
	if err := a.Decide(ctx, claims, req); err != nil {
		return token.Claims{}, err
	}
	return claims, nil
}

// Authenticate returns the claims of the request's token, with no decision on an action:
// for a request whose parts are each authorized on their own (a Blob Batch), or a token
// presented once and acted on many times (AMQP's claims-based security), so that an
// unauthenticated caller is refused before its body is read. It fails as Authorize does
// for a missing or bad token, and records such failures; req.Action may be empty.
func (a *Authorizer) Authenticate(ctx context.Context, req Request) (token.Claims, error) {
	if req.Token == "" {
		a.recordUnauthenticated(ctx, req, token.Claims{}, ErrNoToken)
		return token.Claims{}, ErrNoToken
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	claims, err := a.Access.authenticate(ctx, func() (token.Claims, error) {
		return a.Verifier.VerifyFor(req.Token, req.Audiences, now())
	})
	if err != nil {
		a.recordUnauthenticated(ctx, req, claims, err)
		if lanyard.KindOf(err) != lanyard.KindUnauthenticated {
			return token.Claims{}, err
		}
		return token.Claims{}, &lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: CodeInvalidToken, Message: lanyard.MessageOf(err)}
	}
	return claims, nil
}

// Decide is Authorize's second half: whether the principal of claims, authenticated
// already, may perform req.Action at req's scope, with the decision recorded. It returns
// nil, ErrDenied, or why it could not decide.
func (a *Authorizer) Decide(ctx context.Context, claims token.Claims, req Request) error {
	scope, err := a.Resources.ResourceID(ctx, req.Resource)
	if err != nil {
		return err
	}
	if req.Scope != "" {
		scope += "/" + req.Scope
	}
	d := a.Access.Evaluate(rbac.Request{PrincipalID: claims.ObjectID, Action: req.Action, DataAction: req.DataAction, Scope: scope, Brief: true,
		SubOperation: req.SubOperation, Attributes: req.Attributes})
	if err := a.record(ctx, req, claims, d); err != nil {
		return err // fail-closed: what cannot be recorded is not allowed
	}
	if !d.Allowed {
		return ErrDenied
	}
	return nil
}

// AuthorizeDelegated authorizes a request made with a credential principalID delegated (a
// user delegation SAS), which the caller has verified: the principal must still exist,
// be enabled and have its tokens unrevoked, and RBAC must allow it req.Action at req's
// scope now, so a SAS stops working the moment its principal loses any of these. The
// decision is recorded under the principal, with req.Credential. A principal refused is
// an Unauthenticated error; a denial is ErrDenied.
func (a *Authorizer) AuthorizeDelegated(ctx context.Context, principalID string, req Request) error {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	// Revocations before this moment are the credential's verifier's concern: it binds
	// them into the credential (the SAS's key), so a revocation after issuance changes it.
	claims := token.Claims{ObjectID: principalID, TenantID: a.Access.tenant.ID, IssuedAt: now()}
	if err := a.Access.Recheck(ctx, claims); err != nil {
		a.recordUnauthenticated(ctx, req, claims, err)
		return err
	}
	return a.Decide(ctx, claims, req)
}

// Recheck re-checks a standing grant, for what outlives the request that was authorized
// (an AMQP link): the token is not revoked, its principal still exists and is enabled,
// and RBAC still allows action at scope. Nothing is recorded: the grant was, when made.
func (a *Authorizer) Recheck(ctx context.Context, claims token.Claims, action string, dataAction bool, scope string) error {
	if err := a.Access.Recheck(ctx, claims); err != nil {
		return err
	}
	if d := a.Access.Evaluate(rbac.Request{PrincipalID: claims.ObjectID, Action: action, DataAction: dataAction, Scope: scope, Brief: true}); !d.Allowed {
		return ErrDenied
	}
	return nil
}

// record records a decision. It is on every request's path: an allowed decision costs a
// small allocation and a queue send; only a denial pays for the explanation, which is the
// one `lanyard role check` prints.
func (a *Authorizer) record(ctx context.Context, req Request, claims token.Claims, d rbac.Decision) error {
	if a.Recorder == nil {
		return nil
	}
	reqctx.SetOperation(ctx, req.Operation)
	rec := audit.Decision{
		Service: a.Service, Operation: req.Operation, PrincipalID: claims.ObjectID, ClientID: claims.AppID, TokenID: claims.UTI,
		Credential: req.Credential, Action: req.Action, DataAction: req.DataAction, Scope: d.Scope, Allowed: d.Allowed,
		AssignmentID: d.AssignmentID, AssignmentScope: d.AssignmentScope, RoleDefinitionID: d.RoleDefinitionID,
		RoleName: d.RoleName, ViaGroup: d.ViaGroup, CallerAddress: reqctx.RemoteAddr(ctx),
	}
	if !d.Allowed {
		full := a.Access.Evaluate(rbac.Request{PrincipalID: d.PrincipalID, Action: d.Action, DataAction: d.DataAction, Scope: d.Scope,
			SubOperation: req.SubOperation, Attributes: req.Attributes})
		explain(&rec, full)
	}
	return a.Recorder.Decided(ctx, rec)
}

// recordUnauthenticated records a request refused for its credential: none, or one that
// does not verify or is revoked. The request is refused anyway, so a failure to record it
// changes nothing.
func (a *Authorizer) recordUnauthenticated(ctx context.Context, req Request, claims token.Claims, err error) {
	if a.Recorder == nil {
		return
	}
	reqctx.SetOperation(ctx, req.Operation)
	scope := req.Scope
	if id, lerr := a.Resources.ResourceID(ctx, req.Resource); lerr == nil {
		scope = id + "/" + req.Scope
	}
	reason := "authentication failed: " + lanyard.MessageOf(err)
	_ = a.Recorder.Decided(ctx, audit.Decision{
		Service: a.Service, Operation: req.Operation, PrincipalID: claims.ObjectID, ClientID: claims.AppID, TokenID: claims.UTI,
		Credential: req.Credential, Action: req.Action, DataAction: req.DataAction, Scope: scope, Reason: reason, Explanation: "denied: " + reason,
		CallerAddress: reqctx.RemoteAddr(ctx),
	})
}

// explain copies a full (not brief) denial into rec.
func explain(rec *audit.Decision, d rbac.Decision) {
	rec.Reason, rec.Explanation = d.Reason, d.String()
	for _, n := range d.Near {
		rec.Closest = append(rec.Closest, audit.Nearby{AssignmentID: n.AssignmentID, Scope: n.Scope, RoleDefinitionID: n.RoleDefinitionID,
			RoleName: n.RoleName, CoversScope: n.CoversScope, Lacks: n.Lacks})
	}
}
