package mgmt

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// RevocationsPath is the collection of token revocations.
const RevocationsPath = "/providers/Lanyard.Authority/revocations"

// Revoker is what the API needs of the revocation set; *revocation.Set is one.
type Revoker interface {
	RevokeToken(ctx context.Context, uti, principalID string, expiresAt time.Time, reason, by string) (lanyard.Revocation, error)
	RevokePrincipal(ctx context.Context, principalID string, before time.Time, reason, by string) (lanyard.Revocation, error)
	List(ctx context.Context) ([]lanyard.Revocation, error)
}

type revocationJSON struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	TokenID     string     `json:"uti,omitempty"`
	PrincipalID string     `json:"principalId,omitempty"`
	NotBefore   *time.Time `json:"notBefore,omitempty"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	Reason      string     `json:"reason,omitempty"`
	CreatedBy   string     `json:"createdBy"`
	CreatedAt   time.Time  `json:"createdAt"`
}

func revocationView(r lanyard.Revocation) revocationJSON {
	out := revocationJSON{ID: RevocationsPath + "/" + r.ID, Kind: string(r.Kind), TokenID: r.TokenID, PrincipalID: r.PrincipalID,
		ExpiresAt: r.ExpiresAt, Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	if r.Kind == lanyard.RevokePrincipal {
		out.NotBefore = &r.NotBefore
	}
	return out
}

func (h *Handler) revoker(w http.ResponseWriter) (Revoker, bool) {
	if h.Revocations == nil {
		writeError(w, http.StatusNotFound, "RevocationNotConfigured", "This server does not revoke tokens.")
		return nil, false
	}
	return h.Revocations, true
}

// revoke revokes one token (by uti) or every token of a principal issued before a time.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, _ []string) {
	revs, ok := h.revoker(w)
	if !ok {
		return
	}
	var body struct {
		TokenID   string `json:"uti"`
		Principal string `json:"principal"`
		Before    string `json:"before"`
		Reason    string `json:"reason"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	if (body.TokenID == "") == (body.Principal == "") {
		writeError(w, http.StatusBadRequest, "InvalidRevocation", "Give exactly one of uti and principal.")
		return
	}
	if len(body.Reason) > 1024 {
		writeError(w, http.StatusBadRequest, "InvalidRevocation", "The reason is longer than 1024 characters.")
		return
	}
	if h.Audit != nil {
		if err := h.Audit.Ready(); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	by := "admin" // revocation routes are admin only
	var (
		rev lanyard.Revocation
		err error
	)
	if body.TokenID != "" {
		principal, expires := h.issuedToken(r.Context(), body.TokenID)
		rev, err = revs.RevokeToken(r.Context(), body.TokenID, principal, expires, body.Reason, by)
	} else {
		var before time.Time
		if body.Before != "" {
			if before, err = time.Parse(time.RFC3339Nano, body.Before); err != nil {
				writeError(w, http.StatusBadRequest, "InvalidRevocation", "before '"+clip(body.Before)+"' is not an RFC 3339 time.")
				return
			}
		}
		var id lanyard.Identity
		if id, err = h.resolvePrincipal(r.Context(), body.Principal); err == nil {
			rev, err = revs.RevokePrincipal(r.Context(), id.PrincipalID, before, body.Reason, by)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Audit != nil {
		ch := audit.Change{Caller: audit.Actor{Admin: true}, Operation: "create", Method: r.Method, ResourceID: RevocationsPath + "/" + rev.ID,
			Status: http.StatusCreated, CallerAddress: r.RemoteAddr,
			Revocation: &audit.RevocationChange{ID: rev.ID, Kind: string(rev.Kind), TokenID: rev.TokenID, PrincipalID: rev.PrincipalID}}
		if rev.Kind == lanyard.RevokePrincipal {
			ch.Revocation.NotBefore = rev.NotBefore
		}
		if err := h.Audit.Record(r.Context(), audit.Changed(ch, "Lanyard.Authority/revocations/write")); err != nil {
			h.logger().ErrorContext(r.Context(), "a revocation could not be recorded", "revocation", rev.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusCreated, revocationView(rev))
}

// issuedToken looks the token up in the audit trail, for its principal and expiry, so the
// revocation can go when the token would have expired anyway.
func (h *Handler) issuedToken(ctx context.Context, uti string) (principalID string, expires time.Time) {
	if h.Audit == nil {
		return "", time.Time{}
	}
	es, err := h.Audit.List(ctx, lanyard.AuditFilter{TokenID: uti, Kind: string(audit.KindTokenIssued), Limit: 1})
	if err != nil || len(es) == 0 {
		return "", time.Time{}
	}
	d, err := es[0].Detail()
	if ti, ok := d.(*audit.TokenIssued); err == nil && ok {
		return ti.PrincipalID, ti.ExpiresAt
	}
	return es[0].PrincipalID, time.Time{}
}

func (h *Handler) listRevocations(w http.ResponseWriter, r *http.Request, _ []string) {
	revs, ok := h.revoker(w)
	if !ok {
		return
	}
	p, err := parsePage(r, "revocations")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Revocations go once the tokens they name have expired, so the list stays short.
	rs, err := revs.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rs, next := pageOf(rs, func(v lanyard.Revocation) string { return v.ID }, p)
	writePage(w, r, p, views(rs, revocationView), next)
}

// patchPrincipal enables or disables any identity, system-assigned ones included, which
// have no resource of their own to PATCH.
func (h *Handler) patchPrincipal(w http.ResponseWriter, r *http.Request, args []string) {
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if !h.decode(w, r, &body) {
		return
	}
	if body.Enabled == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContent", "enabled is required.")
		return
	}
	if h.Audit != nil {
		if err := h.Audit.Ready(); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	id, err := h.resolvePrincipal(r.Context(), args[0])
	if err == nil {
		id, err = h.Directory.SetIdentityEnabled(r.Context(), id.PrincipalID, *body.Enabled)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Audit != nil {
		ch := audit.Change{Caller: audit.Actor{Admin: true}, Operation: "update", Method: r.Method,
			ResourceID: PrincipalsPath + "/" + id.PrincipalID, Status: http.StatusOK, Enabled: body.Enabled, CallerAddress: r.RemoteAddr}
		if err := h.Audit.Record(r.Context(), audit.ChangedPrincipal(ch, "Lanyard.Directory/principals/write", id.PrincipalID, id.ClientID)); err != nil {
			h.logger().ErrorContext(r.Context(), "an identity change could not be recorded", "principal", id.PrincipalID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, principalJSON{id.PrincipalID, id.ClientID, string(id.Kind), id.ResourceID, id.Enabled})
}
