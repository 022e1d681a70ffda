package lanyard

import (
	"strings"
)

// Resource types Lanyard serves, as ARM writes them.
const (
	TypeResourceGroup        = "Microsoft.Resources/resourceGroups"
	TypeUserAssignedIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities"
	TypeApp                  = "Microsoft.Web/sites"
	TypeStorageAccount       = "Microsoft.Storage/storageAccounts"
	TypePostgresServer       = "Microsoft.DBforPostgreSQL/flexibleServers"
)

// ResourceID is a parsed ARM resource id:
// /subscriptions/{s}[/resourceGroups/{g}[/providers/{ns}/{type}/{name}[/{type}/{name}...]]].
type ResourceID struct {
	SubscriptionID string
	ResourceGroup  string
	Namespace      string   // resource provider, e.g. Microsoft.Storage
	Types          []string // e.g. storageAccounts, blobServices, containers
	Names          []string // one name per type
}

// MaxResourceIDLength bounds every id Lanyard parses.
const MaxResourceIDLength = 2048

// ParseResourceID parses s. Segment keywords are matched case-insensitively, as ARM does.
func ParseResourceID(s string) (ResourceID, error) {
	var id ResourceID
	if len(s) > MaxResourceIDLength {
		return id, Errorf(KindInvalid, "The resource id is longer than %d characters.", MaxResourceIDLength)
	}
	bad := Errorf(KindInvalid, "%q is not a valid resource id.", s).WithCode("InvalidResourceId")
	if !strings.HasPrefix(s, "/") {
		return id, bad
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	for _, seg := range segs {
		if seg == "" {
			return id, bad
		}
	}
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return id, bad
	}
	id.SubscriptionID = segs[1]
	rest := segs[2:]
	if len(rest) == 0 {
		return id, nil
	}
	if len(rest) < 2 || !strings.EqualFold(rest[0], "resourceGroups") {
		return id, bad
	}
	id.ResourceGroup = rest[1]
	rest = rest[2:]
	if len(rest) == 0 {
		return id, nil
	}
	if len(rest) < 4 || !strings.EqualFold(rest[0], "providers") || len(rest[2:])%2 != 0 {
		return id, bad
	}
	id.Namespace = rest[1]
	for i := 2; i < len(rest); i += 2 {
		id.Types = append(id.Types, rest[i])
		id.Names = append(id.Names, rest[i+1])
	}
	return id, nil
}

// Type returns the full resource type, e.g. Microsoft.Web/sites; "" for a group or subscription.
func (r ResourceID) Type() string {
	if r.Namespace == "" {
		return ""
	}
	return r.Namespace + "/" + strings.Join(r.Types, "/")
}

// Name returns the last name in the id.
func (r ResourceID) Name() string {
	if len(r.Names) > 0 {
		return r.Names[len(r.Names)-1]
	}
	return r.ResourceGroup
}

// String formats the id the way ARM does.
func (r ResourceID) String() string {
	var b strings.Builder
	b.WriteString("/subscriptions/")
	b.WriteString(r.SubscriptionID)
	if r.ResourceGroup == "" {
		return b.String()
	}
	b.WriteString("/resourceGroups/")
	b.WriteString(r.ResourceGroup)
	if r.Namespace == "" {
		return b.String()
	}
	b.WriteString("/providers/")
	b.WriteString(r.Namespace)
	for i := range r.Types {
		b.WriteString("/")
		b.WriteString(r.Types[i])
		b.WriteString("/")
		b.WriteString(r.Names[i])
	}
	return b.String()
}

// GroupID returns the id of resource group g.
func GroupID(sub, g string) string {
	return ResourceID{SubscriptionID: sub, ResourceGroup: g}.String()
}

// ResourceIDOf returns the id of a top-level resource of type typ ("Namespace/type") named name.
func ResourceIDOf(sub, g, typ, name string) string {
	ns, t, _ := strings.Cut(typ, "/")
	return ResourceID{SubscriptionID: sub, ResourceGroup: g, Namespace: ns, Types: []string{t}, Names: []string{name}}.String()
}
