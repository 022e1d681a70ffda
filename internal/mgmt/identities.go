package mgmt

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// User-assigned identities.

func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request, args []string) {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "userAssignedIdentities")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids, err := h.Directory.ListIdentities(r.Context(), group)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids, next := pageOf(ids, func(id lanyard.Identity) string { return id.ResourceID }, p)
	writePage(w, r, p, views(ids, h.identity), next)
}

func (h *Handler) putIdentity(w http.ResponseWriter, r *http.Request, args []string) {
	var body resourceBody
	if !h.decode(w, r, &body) {
		return
	}
	id, created, err := h.Directory.PutIdentity(r.Context(), args[1], args[2], body.Location, body.Tags)
	h.reply(w, r, createdStatus(created), h.identity(id), err)
}

// patchIdentity changes the tags of an existing identity; it never creates one.
func (h *Handler) patchIdentity(w http.ResponseWriter, r *http.Request, args []string) {
	var body resourceBody
	if !h.decode(w, r, &body) {
		return
	}
	id, err := h.Directory.GetIdentity(r.Context(), args[1], args[2])
	if err == nil {
		id, _, err = h.Directory.PutIdentity(r.Context(), id.ResourceGroup, id.Name, id.Location, body.Tags)
	}
	if err == nil && body.Properties != nil && body.Properties.Enabled != nil {
		id, err = h.Directory.SetIdentityEnabled(r.Context(), id.PrincipalID, *body.Properties.Enabled)
	}
	h.reply(w, r, http.StatusOK, h.identity(id), err)
}

func (h *Handler) getIdentity(w http.ResponseWriter, r *http.Request, args []string) {
	id, err := h.Directory.GetIdentity(r.Context(), args[1], args[2])
	h.reply(w, r, http.StatusOK, h.identity(id), err)
}

func (h *Handler) deleteIdentity(w http.ResponseWriter, r *http.Request, args []string) {
	err := h.Directory.DeleteIdentity(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent) // ARM: deleting what is not there is not an error
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
