package server

import (
	"context"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/reqctx"
	"github.com/lanyard-id/lanyard/internal/token"
)

// record records a Blob authorization decision and counts it. It is on every request's
// path: an allowed decision costs a small allocation and a queue send; only a denial pays
// for the explanation, which is the one `lanyard role check` prints. Under a fail-closed
// policy an error means the decision could not be recorded and the request is refused.
func (a *blobAuthorizer) record(ctx context.Context, req blobapi.AccessRequest, claims token.Claims, d rbac.Decision) error {
	if a.obs == nil {
		return nil
	}
	reqctx.SetOperation(ctx, req.Operation)
	rec := audit.Decision{
		Service: "blob", Operation: req.Operation, PrincipalID: claims.ObjectID, ClientID: claims.AppID, TokenID: claims.UTI,
		Action: req.Action, DataAction: req.DataAction, Scope: d.Scope, Allowed: d.Allowed,
		AssignmentID: d.AssignmentID, AssignmentScope: d.AssignmentScope, RoleDefinitionID: d.RoleDefinitionID,
		RoleName: d.RoleName, ViaGroup: d.ViaGroup, CallerAddress: callerAddress(ctx),
	}
	if !d.Allowed {
		full := a.access.Evaluate(rbac.Request{PrincipalID: d.PrincipalID, Action: d.Action, DataAction: d.DataAction, Scope: d.Scope})
		explain(&rec, full)
	}
	return a.obs.decided(ctx, rec)
}

// recordUnauthenticated records a request refused for its credential: none, or one that
// does not verify or is revoked. The request is refused anyway, so a failure to record it
// changes nothing.
func (a *blobAuthorizer) recordUnauthenticated(ctx context.Context, req blobapi.AccessRequest, claims token.Claims, err error) {
	if a.obs == nil {
		return
	}
	reqctx.SetOperation(ctx, req.Operation)
	scope := req.Scope
	if id, lerr := a.accounts.resourceID(ctx, req.Account); lerr == nil {
		scope = id + "/" + req.Scope
	}
	reason := "authentication failed: " + lanyard.MessageOf(err)
	_ = a.obs.decided(ctx, audit.Decision{
		Service: "blob", Operation: req.Operation, PrincipalID: claims.ObjectID, ClientID: claims.AppID, TokenID: claims.UTI,
		Action: req.Action, DataAction: req.DataAction, Scope: scope, Reason: reason, Explanation: "denied: " + reason,
		CallerAddress: callerAddress(ctx),
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

func callerAddress(ctx context.Context) string {
	if info := reqctx.From(ctx); info != nil {
		return info.RemoteAddr
	}
	return ""
}
