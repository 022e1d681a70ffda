package directory

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

type recorder struct {
	mu      sync.Mutex
	changed []string
}

func (r *recorder) record(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, c.PrincipalIDs...)
}

func (r *recorder) saw(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.changed, id)
}

func newService(t *testing.T) (*Service, *recorder) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, lanyard.Tenant{ID: "tenant-1", SubscriptionID: "sub-1"}, []byte("0123456789abcdef0123456789abcdef"), nil)
	rec := &recorder{}
	s.OnChange = rec.record
	return s, rec
}

func TestAppIdentitiesAndHeaders(t *testing.T) {
	ctx := t.Context()
	s, rec := newService(t)
	if _, _, err := s.PutGroup(ctx, "demo", "", nil); err != nil {
		t.Fatal(err)
	}
	uid, created, err := s.PutIdentity(ctx, "demo", "id1", "", map[string]string{"team": "a"})
	if err != nil || !created {
		t.Fatalf("PutIdentity created=%v err=%v", created, err)
	}
	if uid.ResourceID != "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1" {
		t.Errorf("resource id = %s", uid.ResourceID)
	}
	// PUT again is an update, not a new identity.
	again, created, err := s.PutIdentity(ctx, "DEMO", "ID1", "", nil)
	if err != nil || created || again.PrincipalID != uid.PrincipalID || again.Tags["team"] != "a" {
		t.Fatalf("second PutIdentity = %+v created=%v err=%v", again, created, err)
	}

	app, _, err := s.PutApp(ctx, "demo", "web", AppSpec{SystemAssigned: true, UserAssigned: []string{"id1"}})
	if err != nil {
		t.Fatal(err)
	}
	if app.SystemPrincipalID == "" || !slices.Equal(app.UserAssigned, []string{uid.PrincipalID}) {
		t.Fatalf("app identities = %q, %v", app.SystemPrincipalID, app.UserAssigned)
	}

	_, header, err := s.IdentityHeader(ctx, "demo", "web")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateApp(ctx, header)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceID != app.ResourceID {
		t.Fatalf("AuthenticateApp = %s", got.ResourceID)
	}
	// msal-node lowercases the IMDS URL that carries the header; hex survives that.
	if _, err := s.AuthenticateApp(ctx, strings.ToUpper(header)); err != nil {
		t.Errorf("upper-cased header refused: %v", err)
	}
	for _, bad := range []string{"", "x", header + "x", header[:len(header)-1]} {
		if _, err := s.AuthenticateApp(ctx, bad); !errors.Is(err, ErrUnknownApp) {
			t.Errorf("AuthenticateApp(%q) err = %v, want ErrUnknownApp", bad, err)
		}
	}

	// Every selector reaches only identities the app holds.
	sys, err := s.ResolveIdentity(ctx, got, Selector{})
	if err != nil {
		t.Fatal(err)
	}
	if sys.PrincipalID != app.SystemPrincipalID || sys.Kind != lanyard.SystemAssigned || sys.ResourceID != app.ResourceID {
		t.Errorf("system identity = %+v", sys)
	}
	up := strings.ToUpper
	for _, sel := range []Selector{{ClientID: uid.ClientID}, {PrincipalID: uid.PrincipalID}, {ResourceID: uid.ResourceID},
		// GUIDs and resource ids compare case-insensitively, as on Azure.
		{ClientID: up(uid.ClientID)}, {PrincipalID: up(uid.PrincipalID)}, {ResourceID: up(uid.ResourceID)}} {
		if id, err := s.ResolveIdentity(ctx, got, sel); err != nil || id.PrincipalID != uid.PrincipalID {
			t.Errorf("ResolveIdentity(%+v) = %v, %v", sel, id.PrincipalID, err)
		}
	}
	for _, ref := range []string{up(uid.ClientID), up(uid.PrincipalID), up(uid.ResourceID)} {
		if id, err := s.FindIdentity(ctx, "", ref); err != nil || id.PrincipalID != uid.PrincipalID {
			t.Errorf("FindIdentity(%s) = %v, %v", ref, id.PrincipalID, err)
		}
	}
	if id, err := s.Principal(ctx, up(uid.PrincipalID)); err != nil || id.PrincipalID != uid.PrincipalID {
		t.Errorf("Principal(upper case) = %v, %v", id.PrincipalID, err)
	}
	stranger := must3(t)(s.PutIdentity(ctx, "demo", "stranger", "", nil))
	for _, sel := range []Selector{{ClientID: stranger.ClientID}, {PrincipalID: stranger.PrincipalID}, {ClientID: "00000000-0000-0000-0000-000000000000"}} {
		if _, err := s.ResolveIdentity(ctx, got, sel); !errors.Is(err, ErrIdentityNotAssigned) {
			t.Errorf("ResolveIdentity(%+v) err = %v, want ErrIdentityNotAssigned", sel, err)
		}
	}

	// Rotation: the old header stops working at once, the new one works.
	_, newHeader, err := s.RotateIdentityHeader(ctx, "demo", "web")
	if err != nil || newHeader == header {
		t.Fatalf("rotate: %v (same header: %v)", err, newHeader == header)
	}
	if _, err := s.AuthenticateApp(ctx, header); !errors.Is(err, ErrUnknownApp) {
		t.Errorf("old header still accepted: %v", err)
	}
	if _, err := s.AuthenticateApp(ctx, newHeader); err != nil {
		t.Errorf("new header refused: %v", err)
	}

	// Removing the user-assigned identity tells the token cache.
	app, err = s.RemoveIdentities(ctx, "demo", "web", false, []string{uid.ClientID})
	if err != nil || len(app.UserAssigned) != 0 || app.SystemPrincipalID == "" {
		t.Fatalf("RemoveIdentities = %+v, %v", app, err)
	}
	if !rec.saw(uid.PrincipalID) {
		t.Error("removing an identity reported no change")
	}
	if _, err := s.ResolveIdentity(ctx, app, Selector{ClientID: uid.ClientID}); !errors.Is(err, ErrIdentityNotAssigned) {
		t.Errorf("removed identity still resolves: %v", err)
	}
	// Removing the system identity deletes it.
	app, err = s.RemoveIdentities(ctx, "demo", "web", true, nil)
	if err != nil || app.SystemPrincipalID != "" {
		t.Fatalf("remove system: %+v, %v", app, err)
	}
	if _, err := s.store.GetIdentity(ctx, sys.PrincipalID); !lanyard.IsNotFound(err) {
		t.Errorf("system identity survived its removal: %v", err)
	}
	app, err = s.AssignIdentities(ctx, "demo", "web", true, []string{uid.ResourceID})
	if err != nil || app.SystemPrincipalID == "" || app.SystemPrincipalID == sys.PrincipalID || len(app.UserAssigned) != 1 {
		t.Fatalf("assign: %+v, %v", app, err)
	}
}

// must3 adapts a (value, bool, error) result.
func must3(t *testing.T) func(lanyard.Identity, bool, error) lanyard.Identity {
	return func(id lanyard.Identity, _ bool, err error) lanyard.Identity {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
}

func TestRecreatedAppGetsNewHeader(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	must3g(t)(s.PutGroup(ctx, "g", "", nil))
	if _, _, err := s.PutApp(ctx, "g", "app", AppSpec{SystemAssigned: true}); err != nil {
		t.Fatal(err)
	}
	_, first, _ := s.IdentityHeader(ctx, "g", "app")
	if err := s.DeleteApp(ctx, "g", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateApp(ctx, first); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("deleted app's header still accepted: %v", err)
	}
	if _, _, err := s.PutApp(ctx, "g", "app", AppSpec{SystemAssigned: true}); err != nil {
		t.Fatal(err)
	}
	_, second, _ := s.IdentityHeader(ctx, "g", "app")
	if first == second {
		t.Fatal("an app created again under the same name got its old header back")
	}
}

func must3g(t *testing.T) func(lanyard.ResourceGroup, bool, error) lanyard.ResourceGroup {
	return func(g lanyard.ResourceGroup, _ bool, err error) lanyard.ResourceGroup {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}

func TestDeleteGroupCascades(t *testing.T) {
	ctx := t.Context()
	s, rec := newService(t)
	must3g(t)(s.PutGroup(ctx, "g", "", nil))
	uid := must3(t)(s.PutIdentity(ctx, "g", "id1", "", nil))
	app, _, err := s.PutApp(ctx, "g", "app", AppSpec{SystemAssigned: true, UserAssigned: []string{"id1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{uid.PrincipalID, app.SystemPrincipalID} {
		if _, err := s.store.GetIdentity(ctx, p); !lanyard.IsNotFound(err) {
			t.Errorf("identity %s survived its group: %v", p, err)
		}
		if !rec.saw(p) {
			t.Errorf("no change reported for %s", p)
		}
	}
	if _, err := s.GetApp(ctx, "g", "app"); !lanyard.IsNotFound(err) {
		t.Errorf("app survived its group: %v", err)
	}
	if err := s.DeleteGroup(ctx, "g"); lanyard.CodeOf(err) != "ResourceGroupNotFound" {
		t.Errorf("deleting a missing group: %v", err)
	}
}

func TestValidationAndNotFound(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	for _, bad := range []string{"", "bad/name", "ends.", string(make([]byte, 91))} {
		if _, _, err := s.PutGroup(ctx, bad, "", nil); lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("PutGroup(%q) err = %v, want invalid", bad, err)
		}
	}
	if _, _, err := s.PutIdentity(ctx, "nogroup", "id1", "", nil); lanyard.CodeOf(err) != "ResourceGroupNotFound" {
		t.Errorf("identity in a missing group: %v", err)
	}
	must3g(t)(s.PutGroup(ctx, "g", "westus", nil))
	if _, _, err := s.PutGroup(ctx, "g", "eastus", nil); lanyard.CodeOf(err) != "InvalidResourceGroupLocation" {
		t.Errorf("moving a group: %v", err)
	}
	for _, bad := range []string{"ab", "-x1", "has space", string(make([]byte, 129))} {
		if _, _, err := s.PutIdentity(ctx, "g", bad, "", nil); lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("PutIdentity(%q) err = %v, want invalid", bad, err)
		}
	}
	if _, _, err := s.PutApp(ctx, "g", "app", AppSpec{UserAssigned: []string{"missing"}}); !lanyard.IsNotFound(err) {
		t.Errorf("assigning a missing identity: %v", err)
	}
	if _, err := s.GetIdentity(ctx, "g", "missing"); lanyard.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("GetIdentity missing: %v", err)
	}
	sysApp, _, err := s.PutApp(ctx, "g", "sys", AppSpec{SystemAssigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutApp(ctx, "g", "other", AppSpec{UserAssigned: []string{sysApp.SystemPrincipalID}}); lanyard.KindOf(err) != lanyard.KindInvalid {
		t.Errorf("assigning a system identity to another app: %v", err)
	}
}

func TestDisabledIdentityIsRefused(t *testing.T) {
	ctx := context.Background()
	s, rec := newService(t)
	must3g(t)(s.PutGroup(ctx, "g", "", nil))
	app, _, err := s.PutApp(ctx, "g", "app", AppSpec{SystemAssigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetIdentityEnabled(ctx, app.SystemPrincipalID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveIdentity(ctx, app, Selector{}); lanyard.KindOf(err) != lanyard.KindPermissionDenied {
		t.Errorf("disabled identity resolved: %v", err)
	}
	if !rec.saw(app.SystemPrincipalID) {
		t.Error("disabling reported no change")
	}
}

// Blob data is kept under the stored account name: deleting through a case variant of
// the name (ARM names are case-insensitive) must still name the stored one, or the data
// would survive into a re-created account of the same name.
func TestDeleteStorageAccountNamesTheStoredName(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	var deleted []string
	s.OnAccountDeleted = func(_ context.Context, name string) { deleted = append(deleted, name) }
	if _, _, err := s.PutGroup(ctx, "demo", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acct1", "acct2"} {
		if _, _, err := s.PutStorageAccount(ctx, "demo", name, "", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteStorageAccount(ctx, "DEMO", "ACCT1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "Demo"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{"acct1", "acct2"}) {
		t.Fatalf("OnAccountDeleted was told %q; want the stored names [acct1 acct2]", deleted)
	}
}
