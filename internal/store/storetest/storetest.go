// Package storetest is the conformance suite every store.Store backend must pass. Run it
// from the backend's tests; each named subtest gets a fresh, empty store.
package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// Run runs the suite. newStore must return a new, empty store and close it when t ends
// (t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"Settings", testSettings},
		{"Groups", testGroups},
		{"GroupPages", testGroupPages},
		{"Identities", testIdentities},
		{"IdentityPages", testIdentityPages},
		{"Apps", testApps},
		{"AppPages", testAppPages},
		{"Keys", testKeys},
		{"RoleDefinitions", testRoleDefinitions},
		{"RoleAssignments", testRoleAssignments},
		{"RoleAssignmentPages", testRoleAssignmentPages},
		{"StorageAccounts", testStorageAccounts},
		{"StorageAccountPages", testStorageAccountPages},
		{"PostgresServers", testPostgresServers},
		{"PostgresServerPages", testPostgresServerPages},
		{"ServiceBus", testServiceBus},
		{"Audit", testAudit},
		{"AuditVerifyUnderLoad", testAuditVerifyUnderLoad},
		{"FederatedCredentials", testFederatedCredentials},
		{"Times", testTimes},
		{"Transactions", testTransactions},
		{"Concurrency", testConcurrency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

const subscription = "00000000-0000-4000-8000-00000000c0de"

// base is the time fixtures start from: UTC, microsecond precision, as stored.
var base = time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

// guid returns a random id shaped like the GUIDs Lanyard generates.
func guid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newGroup(name string) lanyard.ResourceGroup {
	return lanyard.ResourceGroup{
		Name:      name,
		Location:  "westeurope",
		Tags:      map[string]string{"env": "test", "Owner": name},
		CreatedAt: at(time.Minute),
	}
}

func newIdentity(kind lanyard.IdentityKind, group, name string) lanyard.Identity {
	return lanyard.Identity{
		PrincipalID:   guid(),
		ClientID:      guid(),
		Kind:          kind,
		ResourceID:    lanyard.ResourceIDOf(subscription, group, lanyard.TypeUserAssignedIdentity, name),
		ResourceGroup: group,
		Name:          name,
		Location:      "northeurope",
		Tags:          map[string]string{"team": "blue", "name": name},
		Enabled:       true,
		CreatedAt:     at(2 * time.Minute),
		UpdatedAt:     at(3 * time.Minute),
	}
}

// newSystemIdentity returns the system-assigned identity of app, which shares its id.
func newSystemIdentity(app lanyard.App) lanyard.Identity {
	id := newIdentity(lanyard.SystemAssigned, app.ResourceGroup, app.Name)
	id.ResourceID = app.ResourceID
	return id
}

func newApp(group, name string) lanyard.App {
	return lanyard.App{
		ResourceID:    lanyard.ResourceIDOf(subscription, group, lanyard.TypeApp, name),
		ResourceGroup: group,
		Name:          name,
		Location:      "swedencentral",
		Tags:          map[string]string{"tier": "web", "name": name},
		HeaderVersion: 3,
		HeaderHash:    randomHash(),
		CreatedAt:     at(4 * time.Minute),
		UpdatedAt:     at(5 * time.Minute),
	}
}

// newRoleDefinition returns a custom role with two permission blocks, every field of each set.
func newRoleDefinition(name string) lanyard.RoleDefinition {
	return lanyard.RoleDefinition{
		ID:          guid(),
		Name:        name,
		Description: "Reads what " + name + " may read; \"quoted\", <angled> & accented: é.",
		Permissions: []lanyard.Permission{
			{
				Actions:        []string{"Microsoft.Storage/storageAccounts/read", "Microsoft.Resources/subscriptions/resourceGroups/read"},
				NotActions:     []string{"Microsoft.Storage/storageAccounts/delete"},
				DataActions:    []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
				NotDataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"},
				Condition: "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR " +
					"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))",
				ConditionVersion: "2.0",
			},
			{
				Actions:        []string{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read"},
				NotActions:     []string{"Microsoft.ManagedIdentity/userAssignedIdentities/delete"},
				DataActions:    []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"},
				NotDataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"},
			},
		},
		AssignableScopes: []string{
			"/subscriptions/" + subscription,
			"/subscriptions/" + subscription + "/resourceGroups/rg-Roles",
		},
		CreatedAt: at(6 * time.Minute),
		UpdatedAt: at(7 * time.Minute),
	}
}

// newRoleAssignment returns an assignment of role to principal at scope, every field set.
func newRoleAssignment(scope, role, principal string) lanyard.RoleAssignment {
	return lanyard.RoleAssignment{
		ID:               guid(),
		Scope:            scope,
		RoleDefinitionID: role,
		PrincipalID:      principal,
		PrincipalType:    lanyard.PrincipalServicePrincipal,
		Description:      "Lets the principal read blobs in " + scope + ".",
		Condition:        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'data'",
		ConditionVersion: "2.0",
		CreatedAt:        at(8 * time.Minute),
		UpdatedAt:        at(9 * time.Minute),
	}
}

func groupScope(group string) string {
	return "/subscriptions/" + subscription + "/resourceGroups/" + group
}

func newStorageAccount(group, name string) lanyard.StorageAccount {
	return lanyard.StorageAccount{
		Name:          name,
		ResourceGroup: group,
		ResourceID:    lanyard.ResourceIDOf(subscription, group, lanyard.TypeStorageAccount, name),
		Location:      "germanywestcentral",
		Tags:          map[string]string{"data": "blobs", "name": name},
		CreatedAt:     at(10 * time.Minute),
		UpdatedAt:     at(11 * time.Minute),
		// Kept as is by every write.
		UserDelegationKeyGeneration:  3,
		ContainerDeleteRetentionDays: 7,
		SKU:                          lanyard.SKUStandardGZRS,
	}
}

func randomHash() []byte {
	h := sha256.Sum256(randomBytes(32))
	return h[:]
}

func newKey(created time.Duration) lanyard.SigningKey {
	return lanyard.SigningKey{
		ID:          guid(),
		SealedKey:   randomBytes(1200),
		Certificate: randomBytes(800),
		CreatedAt:   at(created),
	}
}

// The contract does not tell an empty map, slice or byte string from a nil one; the
// comparisons below do not either. Everything else must round-trip exactly, times
// included (UTC, so == holds).

func normGroup(g lanyard.ResourceGroup) lanyard.ResourceGroup {
	if len(g.Tags) == 0 {
		g.Tags = nil
	}
	return g
}

func normIdentity(i lanyard.Identity) lanyard.Identity {
	if len(i.Tags) == 0 {
		i.Tags = nil
	}
	return i
}

func normApp(a lanyard.App) lanyard.App {
	if len(a.Tags) == 0 {
		a.Tags = nil
	}
	if len(a.UserAssigned) == 0 {
		a.UserAssigned = nil
	}
	if len(a.HeaderHash) == 0 {
		a.HeaderHash = nil
	}
	return a
}

func normKey(k lanyard.SigningKey) lanyard.SigningKey {
	if len(k.SealedKey) == 0 {
		k.SealedKey = nil
	}
	if len(k.Certificate) == 0 {
		k.Certificate = nil
	}
	return k
}

func normRoleDefinition(d lanyard.RoleDefinition) lanyard.RoleDefinition {
	var ps []lanyard.Permission // a new slice: d's is shared with the caller
	for _, p := range d.Permissions {
		ps = append(ps, lanyard.Permission{
			Actions:          normStrings(p.Actions),
			NotActions:       normStrings(p.NotActions),
			DataActions:      normStrings(p.DataActions),
			NotDataActions:   normStrings(p.NotDataActions),
			Condition:        p.Condition,
			ConditionVersion: p.ConditionVersion,
		})
	}
	d.Permissions = ps
	d.AssignableScopes = normStrings(d.AssignableScopes)
	return d
}

func normStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

func normRoleAssignment(a lanyard.RoleAssignment) lanyard.RoleAssignment { return a }

func normStorageAccount(a lanyard.StorageAccount) lanyard.StorageAccount {
	if len(a.Tags) == 0 {
		a.Tags = nil
	}
	return a
}

func same[T any](t *testing.T, what string, got, want T, norm func(T) T) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameSet compares two lists ignoring order, which the contract leaves open (keys aside).
func sameSet[T any](t *testing.T, what string, got, want []T, norm func(T) T, id func(T) string) {
	t.Helper()
	sorted := func(xs []T) []T {
		out := make([]T, len(xs))
		for i, x := range xs {
			out[i] = norm(x)
		}
		slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a), id(b)) })
		return out
	}
	if g, w := sorted(got), sorted(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func groupName(g lanyard.ResourceGroup) string     { return strings.ToLower(g.Name) }
func principal(i lanyard.Identity) string          { return i.PrincipalID }
func appID(a lanyard.App) string                   { return strings.ToLower(a.ResourceID) }
func roleID(d lanyard.RoleDefinition) string       { return strings.ToLower(d.ID) }
func assignmentID(a lanyard.RoleAssignment) string { return strings.ToLower(a.ID) }
func accountName(a lanyard.StorageAccount) string  { return strings.ToLower(a.Name) }

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !lanyard.IsNotFound(err) {
		t.Errorf("%s: got error %v (kind %v), want NotFound", what, err, lanyard.KindOf(err))
	}
}

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !lanyard.IsConflict(err) {
		t.Errorf("%s: got error %v (kind %v), want Conflict", what, err, lanyard.KindOf(err))
	}
}

// wantCode checks that err is of kind k and carries code.
func wantCode(t *testing.T, what string, err error, k lanyard.Kind, code string) {
	t.Helper()
	if lanyard.KindOf(err) != k || lanyard.CodeOf(err) != code {
		t.Errorf("%s: got error %v (kind %v, code %q), want kind %v with code %q", what, err, lanyard.KindOf(err), lanyard.CodeOf(err), k, code)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sorted returns a sorted copy of ids, the order App.UserAssigned comes in.
func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}
