package mgmt

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The generic resource list (GET /subscriptions/{id}[/resourceGroups/{rg}]/resources):
// every resource of a group or of the subscription, whatever its type, in ARM's
// GenericResource shape, as deployments and `az resource list` read them.

type genericResourceJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Kind     string            `json:"kind,omitempty"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

var resourceTypeFilter = regexp.MustCompile(`(?i)^\s*resourceType\s+eq\s+'([^']*)'\s*$`)

// listResources pages by resource id, lowercased. It reads the group's (or the
// subscription's) resources of each type whole, a page of the store at a time: the
// identities, apps and accounts of one Lanyard are thousands at most.
func (h *Handler) listResources(w http.ResponseWriter, r *http.Request, args []string) error {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "resources")
	if err != nil {
		return err
	}
	typ := ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		m := resourceTypeFilter.FindStringSubmatch(f)
		if m == nil {
			return apiError(http.StatusBadRequest, "UnsupportedFilter", "The filter '"+clip(f)+"' is not supported; use resourceType eq '<type>'.")
		}
		typ = m[1]
	}
	all, err := h.resourcesIn(r.Context(), group)
	if err != nil {
		return err
	}
	if typ != "" {
		all = slices.DeleteFunc(all, func(g genericResourceJSON) bool { return !strings.EqualFold(g.Type, typ) })
	}
	page, next := pageOf(all, func(g genericResourceJSON) string { return g.ID }, p)
	writePage(w, r, p, page, next)
	return nil
}

// resourcesIn returns every resource of group ("" for the subscription).
func (h *Handler) resourcesIn(ctx context.Context, group string) ([]genericResourceJSON, error) {
	var out []genericResourceJSON
	ids, err := readAll(func(after string) ([]lanyard.Identity, string, error) {
		page, err := h.Directory.ListIdentitiesPage(ctx, group, after, maxPageSize)
		return page, lastKey(page, func(id lanyard.Identity) string { return id.ResourceID }), err
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out = append(out, genericResourceJSON{ID: id.ResourceID, Name: id.Name, Type: lanyard.TypeUserAssignedIdentity, Location: id.Location, Tags: tagsOrEmpty(id.Tags)})
	}
	apps, err := readAll(func(after string) ([]lanyard.App, string, error) {
		page, err := h.Directory.ListAppsPage(ctx, group, after, maxPageSize)
		return page, lastKey(page, func(a lanyard.App) string { return a.ResourceID }), err
	})
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		out = append(out, genericResourceJSON{ID: a.ResourceID, Name: a.Name, Type: lanyard.TypeApp, Kind: "app", Location: a.Location, Tags: tagsOrEmpty(a.Tags)})
	}
	accts, err := readAll(func(after string) ([]lanyard.StorageAccount, string, error) {
		page, err := h.Directory.ListStorageAccountsPage(ctx, group, after, maxPageSize)
		return page, lastKey(page, func(a lanyard.StorageAccount) string { return a.Name }), err
	})
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		out = append(out, genericResourceJSON{ID: a.ResourceID, Name: a.Name, Type: lanyard.TypeStorageAccount, Kind: "StorageV2", Location: a.Location, Tags: tagsOrEmpty(a.Tags)})
	}
	if h.Postgres != nil {
		servers, err := readAll(func(after string) ([]lanyard.PostgresServer, string, error) {
			page, err := h.Postgres.ListServersPage(ctx, group, after, maxPageSize)
			return page, lastKey(page, func(s lanyard.PostgresServer) string { return s.ResourceID }), err
		})
		if err != nil {
			return nil, err
		}
		for _, s := range servers {
			out = append(out, genericResourceJSON{ID: s.ResourceID, Name: s.Name, Type: lanyard.TypePostgresServer, Location: s.Location, Tags: tagsOrEmpty(s.Tags)})
		}
	}
	if h.ServiceBus != nil {
		spaces, err := readAll(func(after string) ([]lanyard.ServiceBusNamespace, string, error) {
			page, err := h.ServiceBus.ListNamespacesPage(ctx, group, after, maxPageSize)
			return page, lastKey(page, func(n lanyard.ServiceBusNamespace) string { return n.Name }), err
		})
		if err != nil {
			return nil, err
		}
		for _, n := range spaces {
			out = append(out, genericResourceJSON{ID: n.ResourceID, Name: n.Name, Type: lanyard.TypeServiceBusNamespace, Location: n.Location, Tags: tagsOrEmpty(n.Tags)})
		}
	}
	return out, nil
}

// readAll reads a list the store pages, page after page; read returns a page and the key
// the next one starts after ("" when the page is the last).
func readAll[T any](read func(after string) ([]T, string, error)) ([]T, error) {
	var all []T
	after := ""
	for {
		page, next, err := read(after)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < maxPageSize || next == "" {
			return all, nil
		}
		after = next
	}
}

func lastKey[T any](page []T, key func(T) string) string {
	if len(page) == 0 {
		return ""
	}
	return key(page[len(page)-1])
}
