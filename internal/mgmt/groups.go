package mgmt

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Subscriptions.

type subscriptionJSON struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
}

func (h *Handler) sub() subscriptionJSON {
	return subscriptionJSON{ID: "/subscriptions/" + h.subscription(), SubscriptionID: h.subscription(), TenantID: h.tenant(), DisplayName: "Lanyard", State: "Enabled"}
}

// listSubscriptions lists the subscription to the admin and, as ARM does, to a principal
// holding any role in it (or at the root); to anyone else it is an empty list.
func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request, _ []string) error {
	c := callerOf(r)
	reached := c.admin
	if !reached {
		// One assignment of the caller's that applies in the subscription (at it, above it
		// or below it) is enough.
		f := access.Filter{Scope: "/subscriptions/" + h.subscription(), PrincipalID: c.principalID}
		as, err := h.Access.ListRoleAssignmentsPage(r.Context(), f, "", 1)
		if err != nil {
			return err
		}
		reached = len(as) > 0
	}
	subs := []subscriptionJSON{}
	if reached {
		subs = append(subs, h.sub())
	}
	writeList(w, subs)
	return nil
}

func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request, _ []string) error {
	writeJSON(w, http.StatusOK, h.sub())
	return nil
}

// Groups.

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, _ []string) error {
	p, err := parsePage(r, "resourceGroups")
	if err != nil {
		return err
	}
	gs, next, err := storePage(p, func(g lanyard.ResourceGroup) string { return g.Name }, func(after string, limit int) ([]lanyard.ResourceGroup, error) {
		return h.Directory.ListGroupsPage(r.Context(), after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(gs, h.group), next)
	return nil
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	g, created, err := h.Directory.PutGroup(r.Context(), args[1], body.Location, body.Tags)
	return h.reply(w, createdStatus(created), h.group(g), err)
}

// patchGroup changes the tags of an existing group; it never creates one.
func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	g, err := h.Directory.GetGroup(r.Context(), args[1])
	if err == nil {
		g, _, err = h.Directory.PutGroup(r.Context(), g.Name, g.Location, body.Tags)
	}
	return h.reply(w, http.StatusOK, h.group(g), err)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, args []string) error {
	g, err := h.Directory.GetGroup(r.Context(), args[1])
	return h.reply(w, http.StatusOK, h.group(g), err)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.Directory.DeleteGroup(r.Context(), args[1]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
