package directory

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func TestCheckScope(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	if _, _, err := s.PutGroup(ctx, "demo", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutStorageAccount(ctx, "demo", "acct1", "", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutIdentity(ctx, "demo", "id1", "", nil); err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{Directory: s, FreeAddress: func() (string, error) { return "127.0.0.1:16999", nil }}
	if _, _, err := pg.PutServer(ctx, "demo", "pg1", PostgresServerSpec{Upstream: "postgres://admin@h/db"}); err != nil {
		t.Fatal(err)
	}
	g := "/subscriptions/sub-1/resourceGroups/demo"
	for _, tc := range []struct{ scope, code string }{
		{"/", ""},
		{"/subscriptions/sub-1", ""},
		{"/subscriptions/SUB-1/", ""},
		{"/providers/Microsoft.Management/managementGroups/mg", ""},
		{g, ""},
		{"/subscriptions/sub-1/resourceGroups/DEMO", ""},
		{g + "/providers/Microsoft.Storage/storageAccounts/acct1", ""},
		{g + "/providers/Microsoft.Storage/storageAccounts/acct1/blobServices/default/containers/not-yet", ""},
		{g + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", ""},
		{g + "/providers/Microsoft.EventHub/namespaces/elsewhere", ""}, // a type Lanyard does not serve
		{"/subscriptions/other", "SubscriptionNotFound"},
		{"/subscriptions/sub-1/resourceGroups/nope", "ResourceGroupNotFound"},
		{"/subscriptions/sub-1/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/acct1", "ResourceGroupNotFound"},
		{g + "/providers/Microsoft.Storage/storageAccounts/acct2", "StorageAccountNotFound"},
		{g + "/providers/Microsoft.Storage/storageAccounts/acct2/blobServices/default/containers/c", "StorageAccountNotFound"},
		{g + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2", "ResourceNotFound"},
		{g + "/providers/Microsoft.Web/sites/web", "ResourceNotFound"},
		{g + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1", ""},
		{g + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1/principals/app", ""},
		{g + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg2", "ResourceNotFound"},
		{"demo", "InvalidScope"},
	} {
		err := s.CheckScope(ctx, tc.scope)
		if got := lanyard.CodeOf(err); got != tc.code || (tc.code == "" && err != nil) {
			t.Errorf("CheckScope(%s) = %v (code %q), want code %q", tc.scope, err, got, tc.code)
		}
	}
}
