package mgmt

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
)

// DefaultIdentityTag is the app tag naming the user-assigned identity (by resource id,
// client id or principal id) the app's code uses by default; its environment then carries
// that identity's AZURE_CLIENT_ID. App Service keeps this in an app setting; a tag travels
// with the app through every store and ARM client without a new resource.
const DefaultIdentityTag = "lanyard-default-identity"

// environment lists the variables an app process needs: the managed-identity endpoint as
// app a, trust for Lanyard's CA in the variables each runtime reads, the default identity's
// client id, and the Blob endpoint of the storage account its identities hold roles on.
func (h *Handler) environment(ctx context.Context, a lanyard.App, header string) (map[string]string, error) {
	env := map[string]string{
		"IDENTITY_ENDPOINT":                 h.Env.MSIBaseURL + "/msi/token",
		"IDENTITY_HEADER":                   header,
		"AZURE_POD_IDENTITY_AUTHORITY_HOST": h.Env.MSIBaseURL + "/imds/" + header,
		"NODE_EXTRA_CA_CERTS":               h.Env.CAFile,     // Node adds it to its roots
		"SSL_CERT_FILE":                     h.Env.BundleFile, // Go, OpenSSL: replaces the roots, so the bundle
		"CURL_CA_BUNDLE":                    h.Env.BundleFile, // curl built with OpenSSL ignores SSL_CERT_FILE
		"REQUESTS_CA_BUNDLE":                h.Env.BundleFile, // Python requests (the Python SDKs) uses certifi otherwise
	}
	ids, err := h.Directory.AppIdentities(ctx, a)
	if err != nil {
		return nil, err
	}
	if ref := a.Tags[DefaultIdentityTag]; ref != "" {
		id, ok := defaultIdentity(ids, ref)
		if !ok {
			return nil, lanyard.Errorf(lanyard.KindInvalid, "The app's default identity '%s' (tag %s) is not one of its user-assigned identities; assign it, or create the app again without it.", clip(ref), DefaultIdentityTag).WithCode("InvalidDefaultIdentity")
		}
		env["AZURE_CLIENT_ID"] = id.ClientID
	}
	if h.Access == nil || h.Env.BlobBaseURL == "" && h.ServiceBus == nil {
		return env, nil // nothing to point the app at
	}
	scopes, err := h.assignedScopes(ctx, ids)
	if err != nil || len(scopes) == 0 {
		return env, err
	}
	if h.Env.BlobBaseURL != "" {
		accounts, err := h.Directory.ListStorageAccounts(ctx, "")
		if err != nil {
			return nil, err
		}
		if i := onlyReachable(scopes, len(accounts), func(i int) string { return accounts[i].ResourceID }); i >= 0 {
			env["AZURE_STORAGE_ACCOUNT"] = accounts[i].Name
			env["AZURE_STORAGE_ACCOUNT_URL"] = h.Env.BlobBaseURL + "/" + accounts[i].Name + "/"
		}
	}
	if h.ServiceBus != nil {
		namespaces, err := h.ServiceBus.ListNamespacesPage(ctx, "", "", maxReachableNamespaces)
		if err != nil {
			return nil, err
		}
		if i := onlyReachable(scopes, len(namespaces), func(i int) string { return namespaces[i].ResourceID }); i >= 0 {
			// The name Azure's samples read; the SDKs take it as their fully qualified namespace.
			endpoint := strings.TrimSuffix(strings.TrimPrefix(ServiceBusEndpoint(namespaces[i]), "https://"), "/")
			env["AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE"] = endpoint
		}
	}
	return env, nil
}

// maxReachableNamespaces bounds the namespaces looked at for an app's environment.
const maxReachableNamespaces = 1000

func defaultIdentity(ids []lanyard.Identity, ref string) (lanyard.Identity, bool) {
	for _, id := range ids {
		if id.Kind == lanyard.UserAssigned && (strings.EqualFold(id.ResourceID, ref) || strings.EqualFold(id.ClientID, ref) || strings.EqualFold(id.PrincipalID, ref)) {
			return id, true
		}
	}
	return lanyard.Identity{}, false
}

// assignedScopes lists the scopes of the identities' role assignments.
func (h *Handler) assignedScopes(ctx context.Context, ids []lanyard.Identity) ([]string, error) {
	var scopes []string
	for _, id := range ids {
		for after := ""; ; {
			as, err := h.Access.ListRoleAssignmentsPage(ctx, access.Filter{PrincipalID: id.PrincipalID}, after, maxPageSize)
			if err != nil {
				return nil, fmt.Errorf("role assignments of %s: %w", id.PrincipalID, err)
			}
			for _, a := range as {
				scopes = append(scopes, a.Scope)
			}
			if len(as) < maxPageSize {
				break
			}
			after = as[len(as)-1].ID
		}
	}
	return scopes, nil
}

// onlyReachable returns the index of the one resource of n (ids by index) on which the
// scopes grant a role (at it, above it or below it, down to a container or queue), or -1
// when none or several are: with several, which one the app means is the app's to say.
func onlyReachable(scopes []string, n int, id func(int) string) int {
	found := -1
	for i := range n {
		for _, s := range scopes {
			if rbac.ScopeCovers(s, id(i)) || rbac.ScopeCovers(id(i), s) {
				if found >= 0 {
					return -1
				}
				found = i
				break
			}
		}
	}
	return found
}
