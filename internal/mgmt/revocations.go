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

func (h *Handler) revoker() (Revoker, error) {
	if h.Revocations == nil {
		return nil, apiError(http.StatusNotFound, "RevocationNotConfigured", "This server does not revoke tokens.")
	}
	return h.Revocations, nil
}

// revoke revokes one token (by uti) or every token of a principal issued before a time.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, _ []string) error {
	revs, err := h.revoker()
	if err != nil {
		return err
	}
	var body struct {
		TokenID   string `json:"uti"`
		Principal string `json:"principal"`
		Before    string `json:"before"`
		Reason    string `json:"reason"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if (body.TokenID == "") == (body.Principal == "") {
		return apiError(http.StatusBadRequest, "InvalidRevocation", "Give exactly one of uti and principal.")
	}
	if len(body.Reason) > 1024 {
		return apiError(http.StatusBadRequest, "InvalidRevocation", "The reason is longer than 1024 characters.")
	}
	if h.Audit != nil {
		if err := h.Audit.Ready(); err != nil {
			return err
		}
	}
	by := "admin" // revocation routes are admin only
	var rev lanyard.Revocation
	if body.TokenID != "" {
		principal, expires := h.issuedToken(r.Context(), body.TokenID)
		rev, err = revs.RevokeToken(r.Context(), body.TokenID, principal, expires, body.Reason, by)
	} else {
		var before time.Time
		if body.Before != "" {
			if before, err = time.Parse(time.RFC3339Nano, body.Before); err != nil {
				return apiError(http.StatusBadRequest, "InvalidRevocation", "before '"+clip(body.Before)+"' is not an RFC 3339 time.")
			}
		}
		var id lanyard.Identity
		if id, err = h.resolvePrincipal(r.Context(), body.Principal); err == nil {
			rev, err = revs.RevokePrincipal(r.Context(), id.PrincipalID, before, body.Reason, by)
		}
	}
	if err != nil {
		return err
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
	return nil
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

func (h *Handler) listRevocations(w http.ResponseWriter, r *http.Request, _ []string) error {
	revs, err := h.revoker()
	if err != nil {
		return err
	}
	p, err := parsePage(r, "revocations")
	if err != nil {
		return err
	}
	// Revocations go once the tokens they name have expired, so the list stays short.
	rs, err := revs.List(r.Context())
	if err != nil {
		return err
	}
	rs, next := pageOf(rs, func(v lanyard.Revocation) string { return v.ID }, p)
	writePage(w, r, p, views(rs, revocationView), next)
	return nil
}

// patchPrincipal enables or disables any identity, system-assigned ones included, which
// have no resource of their own to PATCH.
func (h *Handler) patchPrincipal(w http.ResponseWriter, r *http.Request, args []string) error {
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return apiError(http.StatusBadRequest, "InvalidRequestContent", "enabled is required.")
	}
	if h.Audit != nil {
		if err := h.Audit.Ready(); err != nil {
			return err
		}
	}
	id, err := h.resolvePrincipal(r.Context(), args[0])
	if err == nil {
		id, err = h.Directory.SetIdentityEnabled(r.Context(), id.PrincipalID, *body.Enabled)
	}
	if err != nil {
		return err
	}
	if h.Audit != nil {
		ch := audit.Change{Caller: audit.Actor{Admin: true}, Operation: "update", Method: r.Method,
			ResourceID: PrincipalsPath + "/" + id.PrincipalID, Status: http.StatusOK, Enabled: body.Enabled, CallerAddress: r.RemoteAddr}
		if err := h.Audit.Record(r.Context(), audit.ChangedPrincipal(ch, "Lanyard.Directory/principals/write", id.PrincipalID, id.ClientID)); err != nil {
			h.logger().ErrorContext(r.Context(), "an identity change could not be recorded", "principal", id.PrincipalID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, principalJSON{id.PrincipalID, id.ClientID, string(id.Kind), id.ResourceID, id.Enabled})
	return nil
}
