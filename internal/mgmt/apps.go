package mgmt

import (
	"net/http"
	"sort"
	"strings"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Apps.

func (h *Handler) writeApp(w http.ResponseWriter, r *http.Request, status int, a lanyard.App) error {
	ids, err := h.Directory.AppIdentities(r.Context(), a)
	return h.reply(w, status, h.app(a, ids), err)
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request, args []string) error {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "sites")
	if err != nil {
		return err
	}
	// Paged before rendering: each app's identities are read for its page only.
	apps, next, err := storePage(p, func(a lanyard.App) string { return a.ResourceID }, func(after string, limit int) ([]lanyard.App, error) {
		return h.Directory.ListAppsPage(r.Context(), group, after, limit)
	})
	if err != nil {
		return err
	}
	out := make([]appJSON, 0, len(apps))
	for _, a := range apps {
		ids, err := h.Directory.AppIdentities(r.Context(), a)
		if err != nil {
			return err
		}
		out = append(out, h.app(a, ids))
	}
	writePage(w, r, p, out, next)
	return nil
}

// identitySpec turns an ARM identity block into the desired identities.
func identitySpec(body resourceBody) (system bool, users []string, err error) {
	if body.Identity == nil {
		return false, nil, nil
	}
	user := false
	for _, part := range strings.Split(body.Identity.Type, ",") {
		switch t := strings.TrimSpace(part); {
		case strings.EqualFold(t, "SystemAssigned"):
			system = true
		case strings.EqualFold(t, "UserAssigned"):
			user = true
		case strings.EqualFold(t, "None"), t == "":
		default:
			return false, nil, lanyard.Errorf(lanyard.KindInvalid, "Identity type '%s' is not supported; use SystemAssigned, UserAssigned or None.", clip(t)).WithCode("InvalidIdentityType")
		}
	}
	if !user && len(body.Identity.UserAssignedIdentities) > 0 {
		return false, nil, lanyard.Errorf(lanyard.KindInvalid, "The identity type '%s' does not include UserAssigned, but userAssignedIdentities are given.", clip(body.Identity.Type)).WithCode("InvalidIdentityType")
	}
	for id := range body.Identity.UserAssignedIdentities {
		users = append(users, id)
	}
	sort.Strings(users)
	return system, users, nil
}

// assignIdentityAction is what binding a user-assigned identity to a resource needs on the
// identity (Managed Identity Operator grants it), besides write on the resource.
const assignIdentityAction = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

// mayBind checks that the caller may bind each user-assigned identity refs names to app
// name in group: ARM checks every identity a request names, bound before or not.
func (h *Handler) mayBind(r *http.Request, group, name string, refs []string) error {
	c := callerOf(r)
	if c.admin || len(refs) == 0 {
		return nil
	}
	scopes := make([]string, 0, len(refs))
	for _, ref := range refs {
		id, err := h.Directory.FindIdentity(r.Context(), group, ref)
		switch {
		case err == nil:
			scopes = append(scopes, id.ResourceID)
		case lanyard.IsNotFound(err):
			// A missing identity named by its id is refused like an existing one, so the
			// answer tells nothing of identities the caller may not see.
			if strings.HasPrefix(ref, "/") {
				scopes = append(scopes, ref)
			}
		default:
			return err
		}
	}
	appID := lanyard.ResourceIDOf(h.subscription(), group, lanyard.TypeApp, name)
	return h.authorizeLinked(r, c, lanyard.TypeApp+"/write", appID, assignIdentityAction, scopes)
}

func (h *Handler) putApp(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	system, users, err := identitySpec(body)
	if err == nil {
		err = h.mayBind(r, args[1], args[2], users)
	}
	if err != nil {
		return err
	}
	a, created, err := h.Directory.PutApp(r.Context(), args[1], args[2], directory.AppSpec{
		Location: body.Location, Tags: body.Tags, SystemAssigned: system, UserAssigned: users,
	})
	if err != nil {
		return err
	}
	// Microsoft.Web/sites: 200 or 202, never 201, as for storage accounts.
	ids, err := h.Directory.AppIdentities(r.Context(), a)
	return h.putDone(w, r, created, h.app(a, ids), err)
}

// patchApp changes only what the body names: an absent identity block keeps the identities.
func (h *Handler) patchApp(w http.ResponseWriter, r *http.Request, args []string) error {
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	a, err := h.Directory.GetApp(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	spec := directory.AppSpec{Tags: body.Tags, SystemAssigned: a.SystemPrincipalID != "", UserAssigned: a.UserAssigned}
	if body.Identity != nil {
		spec.SystemAssigned, spec.UserAssigned, err = identitySpec(body)
		if err == nil {
			err = h.mayBind(r, args[1], args[2], spec.UserAssigned)
		}
		if err != nil {
			return err
		}
	}
	a, _, err = h.Directory.PutApp(r.Context(), args[1], args[2], spec)
	if err != nil {
		return err
	}
	return h.writeApp(w, r, http.StatusOK, a)
}

func (h *Handler) getApp(w http.ResponseWriter, r *http.Request, args []string) error {
	a, err := h.Directory.GetApp(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	return h.writeApp(w, r, http.StatusOK, a)
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request, args []string) error {
	err := h.Directory.DeleteApp(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) && lanyard.CodeOf(err) == "ResourceNotFound" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) appEnvironment(w http.ResponseWriter, r *http.Request, args []string) error {
	a, header, err := h.Directory.IdentityHeader(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	env, err := h.environment(r.Context(), a, header)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, env)
	return nil
}

func (h *Handler) rotateHeader(w http.ResponseWriter, r *http.Request, args []string) error {
	a, header, err := h.Directory.RotateIdentityHeader(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	env, err := h.environment(r.Context(), a, header)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, env)
	return nil
}
