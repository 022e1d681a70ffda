package mgmt

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// User-assigned identities.

func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request, args []string) error {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "userAssignedIdentities")
	if err != nil {
		return err
	}
	ids, next, err := storePage(p, func(id lanyard.Identity) string { return id.ResourceID }, func(after string, limit int) ([]lanyard.Identity, error) {
		return h.Directory.ListIdentitiesPage(r.Context(), group, after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(ids, h.identity), next)
	return nil
}

func (h *Handler) putIdentity(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	id, created, err := h.Directory.PutIdentity(r.Context(), args[1], args[2], body.Location, body.Tags)
	return h.reply(w, createdStatus(created), h.identity(id), err)
}

// patchIdentity changes the tags of an existing identity; it never creates one.
func (h *Handler) patchIdentity(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	id, err := h.Directory.GetIdentity(r.Context(), args[1], args[2])
	if err == nil {
		id, _, err = h.Directory.PutIdentity(r.Context(), id.ResourceGroup, id.Name, id.Location, body.Tags)
	}
	if err == nil && body.Properties != nil && body.Properties.Enabled != nil {
		id, err = h.Directory.SetIdentityEnabled(r.Context(), id.PrincipalID, *body.Properties.Enabled)
	}
	return h.reply(w, http.StatusOK, h.identity(id), err)
}

func (h *Handler) getIdentity(w http.ResponseWriter, r *http.Request, args []string) error {
	id, err := h.Directory.GetIdentity(r.Context(), args[1], args[2])
	return h.reply(w, http.StatusOK, h.identity(id), err)
}

func (h *Handler) deleteIdentity(w http.ResponseWriter, r *http.Request, args []string) error {
	err := h.Directory.DeleteIdentity(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent) // ARM: deleting what is not there is not an error
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
