package mgmt

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// AuditEventsPath is the collection of audit events.
const AuditEventsPath = "/providers/Lanyard.Audit/events"

// AuditTrail is what the API needs of the audit trail.
type AuditTrail interface {
	// Record records e; an error means the policy is fail-closed and e could not be
	// written, so the request must be refused.
	Record(ctx context.Context, e audit.Event) error
	// Ready reports whether a request that needs a record may proceed.
	Ready() error
	List(ctx context.Context, f lanyard.AuditFilter) ([]audit.Event, error)
	Get(ctx context.Context, id string) (audit.Event, error)
	Verify(ctx context.Context) (audit.Report, error)
}

func (h *Handler) actor(c caller) audit.Actor {
	return audit.Actor{Admin: c.admin, PrincipalID: c.principalID, ClientID: c.clientID}
}

// auditDecision records an RBAC decision of the management API. A denial carries the
// explanation `lanyard role check` would give, worked out again since Decide is brief.
func (h *Handler) auditDecision(r *http.Request, c caller, d rbac.Decision) error {
	if h.Audit == nil {
		return nil
	}
	rec := audit.Decision{
		Service: "mgmt", Operation: r.Method, PrincipalID: c.principalID, ClientID: c.clientID, TokenID: c.uti,
		Action: d.Action, Scope: d.Scope, Allowed: d.Allowed,
		AssignmentID: d.AssignmentID, AssignmentScope: d.AssignmentScope, RoleDefinitionID: d.RoleDefinitionID,
		RoleName: d.RoleName, ViaGroup: d.ViaGroup, CallerAddress: r.RemoteAddr,
	}
	if !d.Allowed {
		full := h.Access.Evaluate(rbac.Request{PrincipalID: d.PrincipalID, Action: d.Action, Scope: d.Scope})
		view := decisionView(full)
		rec.Reason, rec.Explanation = full.Reason, view.Explanation
		for _, n := range view.Closest {
			rec.Closest = append(rec.Closest, audit.Nearby(n))
		}
	}
	return h.Audit.Record(r.Context(), audit.Decided(rec))
}

// auditAuthFailure records a request refused because its credential did not verify
// (a revoked or expired token, a wrong admin credential).
func (h *Handler) auditAuthFailure(r *http.Request, err error) {
	if h.Audit == nil {
		return
	}
	reason := "authentication failed: " + lanyard.MessageOf(err)
	_ = h.Audit.Record(r.Context(), audit.Decided(audit.Decision{
		Service: "mgmt", Operation: r.Method, Action: r.Method + " " + clip(r.URL.Path), Scope: clip(r.URL.Path),
		Reason: reason, Explanation: "denied: " + reason, CallerAddress: r.RemoteAddr,
	}))
}

// maxCapture is how much of a change's answer is kept, from which its event learns what
// was created or deleted.
const maxCapture = 64 << 10

// audited runs a routed request and records the change it made. typ is the route's
// resource type ("" for Lanyard's own admin routes, which record their own events or
// change nothing), pattern its path pattern, which names the operation in metrics.
func (h *Handler) audited(w http.ResponseWriter, r *http.Request, c caller, typ, pattern string, serve func(http.ResponseWriter) error) error {
	reqctx.SetOperation(r.Context(), r.Method+" "+pattern)
	changes := r.Method != http.MethodGet && r.Method != http.MethodHead && typ != ""
	if h.Audit == nil || !changes {
		return serve(w)
	}
	// Under fail-closed, a change is made only while its record can be written.
	if err := h.Audit.Ready(); err != nil {
		return err
	}
	cw := handler.Wrap(w)
	cw.Capture(maxCapture)
	if err := serve(cw); err != nil {
		return err // refused or failed: nothing changed
	}
	status := cw.Status()
	if status < 200 || status >= 300 || status == http.StatusNoContent {
		return nil // (204) there was nothing to delete
	}
	ch := audit.Change{Caller: h.actor(c), Method: r.Method, ResourceID: r.URL.Path, Status: status, CallerAddress: r.RemoteAddr}
	action := typ
	switch r.Method {
	case http.MethodPut:
		ch.Operation, action = "update", typ+"/write"
		if o, _ := r.Context().Value(outcomeKey{}).(*outcome); status == http.StatusCreated || o != nil && o.created {
			ch.Operation = "create"
		}
	case http.MethodPatch:
		ch.Operation, action = "update", typ+"/write"
	case http.MethodDelete:
		ch.Operation, action = "delete", typ+"/delete"
	default:
		ch.Operation = "action"
		if i := strings.LastIndex(r.URL.Path, "/"); i >= 0 {
			action = typ + "/" + r.URL.Path[i+1:] + "/action"
		}
	}
	var e audit.Event
	var res struct {
		Properties struct {
			PrincipalID      string `json:"principalId"`
			ClientID         string `json:"clientId"`
			RoleDefinitionID string `json:"roleDefinitionId"`
			Scope            string `json:"scope"`
			Enabled          *bool  `json:"enabled"`
		} `json:"properties"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal(cw.Captured(), &res) // best effort: the event stands without it
	p := res.Properties
	switch {
	case strings.EqualFold(typ, authzNamespace+"/roleAssignments") && p.PrincipalID != "":
		ch.RoleAssign = &audit.RoleAssignmentChange{ID: res.Name, RoleDefinitionID: lanyard.RoleDefinitionGUID(p.RoleDefinitionID), PrincipalID: p.PrincipalID, Scope: p.Scope}
		if d, err := h.Access.GetRoleDefinition(r.Context(), p.RoleDefinitionID); err == nil {
			ch.RoleAssign.RoleName = d.Name
		}
		e = audit.Changed(ch, action)
	case strings.EqualFold(typ, lanyard.TypeUserAssignedIdentity) && p.PrincipalID != "":
		if r.Method == http.MethodPatch {
			ch.Enabled = p.Enabled
		}
		e = audit.ChangedPrincipal(ch, action, p.PrincipalID, p.ClientID)
	default:
		e = audit.Changed(ch, action)
	}
	if err := h.Audit.Record(r.Context(), e); err != nil {
		// The change is made and answered; all that is left is to say it went unrecorded.
		h.logger().ErrorContext(r.Context(), "a management change could not be recorded", "path", r.URL.Path, "err", err)
	}
	return nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// The audit API, admin only.

func (h *Handler) auditTrail() (AuditTrail, error) {
	if h.Audit == nil {
		return nil, apiError(http.StatusNotFound, "AuditNotConfigured", "This server keeps no audit trail.")
	}
	return h.Audit, nil
}

func (h *Handler) listAuditEvents(w http.ResponseWriter, r *http.Request, _ []string) error {
	trail, err := h.auditTrail()
	if err != nil {
		return err
	}
	f, err := audit.ParseFilter(r.URL.Query())
	if err != nil {
		return apiError(http.StatusBadRequest, "InvalidAuditFilter", err.Error())
	}
	if f.Principal != "" {
		// A reference of any form (client id, principal id, identity or app id) names the
		// principal the events are filed under; one that names nothing is matched as given.
		if p, err := h.resolvePrincipal(r.Context(), f.Principal); err == nil {
			f.Principal = p.PrincipalID
		}
	}
	events, err := trail.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Value    []audit.Event `json:"value"`
		NextLink string        `json:"nextLink,omitempty"`
	}{Value: events}
	if out.Value == nil {
		out.Value = []audit.Event{}
	}
	if len(events) > 0 && len(events) == f.Limit {
		next := audit.FilterQuery(f)
		next.Set("after", strconv.FormatInt(events[len(events)-1].Seq, 10))
		next.Set("api-version", r.URL.Query().Get("api-version"))
		out.NextLink = absoluteURL(r, next.Encode()) // absolute, as ARM's are
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getAuditEvent(w http.ResponseWriter, r *http.Request, args []string) error {
	trail, err := h.auditTrail()
	if err != nil {
		return err
	}
	e, err := trail.Get(r.Context(), args[0])
	return h.reply(w, http.StatusOK, e, err)
}

func (h *Handler) explainAuditEvent(w http.ResponseWriter, r *http.Request, args []string) error {
	trail, err := h.auditTrail()
	if err != nil {
		return err
	}
	e, err := trail.Get(r.Context(), args[0])
	if err != nil {
		return err
	}
	text, err := audit.Explain(e)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		ID          string     `json:"id"`
		Kind        audit.Kind `json:"kind"`
		Decision    string     `json:"decision,omitempty"`
		Explanation string     `json:"explanation"`
	}{e.ID, e.Kind, e.Decision, text})
	return nil
}

func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request, _ []string) error {
	trail, err := h.auditTrail()
	if err != nil {
		return err
	}
	rep, err := trail.Verify(r.Context())
	return h.reply(w, http.StatusOK, rep, err)
}

// resolvePrincipal finds the identity a reference names: a client or principal id, a
// user-assigned identity's resource id, or an app's id (its system-assigned identity).
func (h *Handler) resolvePrincipal(ctx context.Context, ref string) (lanyard.Identity, error) {
	id, err := h.Directory.FindIdentity(ctx, "", ref)
	if err == nil || !lanyard.IsNotFound(err) || !strings.HasPrefix(ref, "/") {
		return id, err
	}
	rid, perr := lanyard.ParseResourceID(ref)
	if perr != nil || !strings.EqualFold(rid.Namespace+"/"+strings.Join(rid.Types, "/"), lanyard.TypeApp) || len(rid.Names) != 1 {
		return id, err
	}
	app, aerr := h.Directory.GetApp(ctx, rid.ResourceGroup, rid.Names[0])
	if aerr != nil {
		return id, aerr
	}
	if app.SystemPrincipalID == "" {
		return id, lanyard.Errorf(lanyard.KindNotFound, "The app '%s' has no system-assigned identity.", clip(ref)).WithCode("PrincipalNotFound")
	}
	return h.Directory.Principal(ctx, app.SystemPrincipalID)
}
