package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
)

// fakeRoles records what would be done upstream; fail, when set, fails the next call.
type fakeRoles struct {
	mu       sync.Mutex
	roles    map[string]string // server name/role -> password
	admins   map[string]bool
	calls    []string
	fail     error
	onCreate func() // runs inside CreateRole, after it succeeded
}

func newFakeRoles() *fakeRoles {
	return &fakeRoles{roles: map[string]string{}, admins: map[string]bool{}}
}

func (f *fakeRoles) CreateRole(_ context.Context, s lanyard.PostgresServer, role, password string, admin bool) error {
	f.mu.Lock()
	f.calls = append(f.calls, "create "+s.Name+"/"+role)
	if err := f.fail; err != nil {
		f.fail = nil
		f.mu.Unlock()
		return err
	}
	if _, ok := f.roles[s.Name+"/"+role]; ok {
		f.mu.Unlock()
		return fmt.Errorf("role %q already exists", role)
	}
	f.roles[s.Name+"/"+role], f.admins[s.Name+"/"+role] = password, admin
	hook := f.onCreate
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (f *fakeRoles) DropRole(_ context.Context, s lanyard.PostgresServer, role string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "drop "+s.Name+"/"+role)
	if err := f.fail; err != nil {
		f.fail = nil
		return err
	}
	delete(f.roles, s.Name+"/"+role)
	return nil
}

func (f *fakeRoles) has(server, role string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.roles[server+"/"+role]
	return p, ok
}

type pgFixture struct {
	dir     *Service
	pg      *Postgres
	roles   *fakeRoles
	mu      sync.Mutex
	changes []PostgresChange
	port    int
}

func newPostgres(t *testing.T) *pgFixture {
	t.Helper()
	dir, _ := newService(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := &pgFixture{dir: dir, roles: newFakeRoles(), port: 16000}
	f.pg = &Postgres{Directory: dir, Sealer: sealer, Roles: f.roles, FreeAddress: func() (string, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.port++
		return fmt.Sprintf("127.0.0.1:%d", f.port), nil
	}}
	dir.OnPostgresChange = func(c PostgresChange) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changes = append(f.changes, c)
	}
	for _, g := range []string{"rg-a", "rg-b"} {
		if _, _, err := dir.PutGroup(t.Context(), g, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *pgFixture) lastChange() PostgresChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changes) == 0 {
		return PostgresChange{}
	}
	return f.changes[len(f.changes)-1]
}

func wantKind(t *testing.T, what string, err error, k lanyard.Kind, code string) {
	t.Helper()
	if lanyard.KindOf(err) != k || code != "" && lanyard.CodeOf(err) != code {
		t.Errorf("%s: %v (kind %v, code %q), want kind %v code %q", what, err, lanyard.KindOf(err), lanyard.CodeOf(err), k, code)
	}
}

func TestPostgresServers(t *testing.T) {
	ctx := t.Context()
	f := newPostgres(t)

	for _, bad := range []string{"ab", "-abc", "abc-", "Abc", "a_b", strings.Repeat("a", 64)} {
		_, _, err := f.pg.PutServer(ctx, "rg-a", bad, PostgresServerSpec{Upstream: "postgres://admin@127.0.0.1/db"})
		wantKind(t, "PutServer "+bad, err, lanyard.KindInvalid, "InvalidParameter")
	}
	_, _, err := f.pg.PutServer(ctx, "rg-a", "pg1", PostgresServerSpec{})
	wantKind(t, "PutServer without an upstream", err, lanyard.KindInvalid, "InvalidParameter")
	_, _, err = f.pg.PutServer(ctx, "rg-none", "pg1", PostgresServerSpec{Upstream: "postgres://admin@127.0.0.1/db"})
	wantKind(t, "PutServer in a missing group", err, lanyard.KindNotFound, "ResourceGroupNotFound")

	// A URL with a password: the password is sealed, never kept in the clear.
	srv, created, err := f.pg.PutServer(ctx, "rg-a", "pg1", PostgresServerSpec{Upstream: "postgres://admin:s3cret@127.0.0.1:5432/app?sslmode=verify-full"})
	if err != nil || !created {
		t.Fatalf("PutServer: %v, created %v", err, created)
	}
	if srv.Upstream != "postgres://admin@127.0.0.1:5432/app?sslmode=verify-full" || srv.UpstreamAuth != lanyard.UpstreamPassword || srv.Listen != "127.0.0.1:16001" {
		t.Errorf("server = %+v", srv)
	}
	if srv.ResourceID != "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1" {
		t.Errorf("resource id %s", srv.ResourceID)
	}
	if bytes.Contains(srv.SealedUpstreamPassword, []byte("s3cret")) {
		t.Error("the password is stored in the clear")
	}
	if pw, err := f.pg.Unseal(ctx, srv.SealedUpstreamPassword); err != nil || string(pw) != "s3cret" {
		t.Errorf("Unseal = %q, %v", pw, err)
	}
	if c := f.lastChange(); len(c.Servers) != 1 || c.Servers[0] != srv.ResourceID {
		t.Errorf("change = %+v", c)
	}

	// Keyword/value without a password: cert; an explicit listen address.
	srv2, _, err := f.pg.PutServer(ctx, "rg-b", "pg2", PostgresServerSpec{Upstream: "host=127.0.0.1 user=admin dbname='my db'", Listen: "127.0.0.1:16500"})
	if err != nil {
		t.Fatal(err)
	}
	if srv2.Upstream != "host=127.0.0.1 user=admin dbname='my db'" || srv2.UpstreamAuth != lanyard.UpstreamCert || srv2.SealedUpstreamPassword != nil || srv2.Listen != "127.0.0.1:16500" {
		t.Errorf("server 2 = %+v", srv2)
	}
	// A password with cert chosen: the admin logs in with the password, roles with certs.
	srv3, _, err := f.pg.PutServer(ctx, "rg-b", "pg3", PostgresServerSpec{Upstream: "host=h user=admin password='x y'", UpstreamAuth: lanyard.UpstreamCert})
	if err != nil || srv3.UpstreamAuth != lanyard.UpstreamCert || srv3.Upstream != "host=h user=admin" || srv3.SealedUpstreamPassword == nil {
		t.Errorf("server 3 = %+v, %v", srv3, err)
	}

	_, _, err = f.pg.PutServer(ctx, "rg-b", "pg1", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	wantKind(t, "PutServer with a name taken in another group", err, lanyard.KindConflict, "ServerNameAlreadyExists")
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pg4", PostgresServerSpec{Upstream: "postgres://admin@h/db", Listen: "127.0.0.1:16500"})
	wantKind(t, "PutServer on a taken listen address", err, lanyard.KindConflict, "ListenAddressInUse")
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pg4", PostgresServerSpec{Upstream: "postgres://admin@h/db", Listen: "nope"})
	wantKind(t, "PutServer on a bad listen address", err, lanyard.KindInvalid, "InvalidParameter")
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pg4", PostgresServerSpec{Upstream: "postgres://h/db"})
	wantKind(t, "PutServer without an upstream user", err, lanyard.KindInvalid, "InvalidParameter")
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pg4", PostgresServerSpec{Upstream: "postgres://a@h/db", UpstreamAuth: "trust"})
	wantKind(t, "PutServer with a bad upstream auth", err, lanyard.KindInvalid, "InvalidParameter")

	// Another group's path does not reach it.
	_, err = f.pg.GetServer(ctx, "rg-b", "pg1")
	wantKind(t, "GetServer through another group", err, lanyard.KindNotFound, "ResourceNotFound")
	wantKind(t, "DeleteServer through another group", f.pg.DeleteServer(ctx, "rg-b", "pg1"), lanyard.KindNotFound, "ResourceNotFound")

	// PUT again keeps the listen address and updates tags.
	again, created, err := f.pg.PutServer(ctx, "RG-A", "pg1", PostgresServerSpec{Tags: map[string]string{"a": "b"}})
	if err != nil || created || again.Listen != srv.Listen || again.Tags["a"] != "b" || again.UpstreamAuth != lanyard.UpstreamPassword {
		t.Errorf("PutServer again = %+v, created %v, %v", again, created, err)
	}
	tagged, err := f.pg.UpdateServerTags(ctx, "rg-a", "pg1", map[string]string{"c": "d"})
	if err != nil || tagged.Tags["c"] != "d" || len(tagged.Tags) != 1 {
		t.Errorf("UpdateServerTags = %+v, %v", tagged, err)
	}

	page, err := f.pg.ListServersPage(ctx, "rg-b", "", 10)
	if err != nil || len(page) != 2 {
		t.Errorf("ListServersPage(rg-b) = %d, %v", len(page), err)
	}
	_, err = f.pg.ListServersPage(ctx, "rg-none", "", 10)
	wantKind(t, "ListServersPage of a missing group", err, lanyard.KindNotFound, "")
	all, err := f.pg.ListServers(ctx)
	if err != nil || len(all) != 3 {
		t.Errorf("ListServers = %d, %v", len(all), err)
	}
}

func TestPostgresPrincipals(t *testing.T) {
	ctx := t.Context()
	f := newPostgres(t)
	cert, _, err := f.pg.PutServer(ctx, "rg-a", "pgcert", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	pw, _, err := f.pg.PutServer(ctx, "rg-a", "pgpass", PostgresServerSpec{Upstream: "postgres://admin:pw@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	ua, _, err := f.dir.PutIdentity(ctx, "rg-b", "gamestore03", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := f.dir.PutApp(ctx, "rg-a", "webapp", AppSpec{SystemAssigned: true})
	if err != nil {
		t.Fatal(err)
	}

	// By name: a user-assigned identity of another group, an app's system identity.
	b, err := f.pg.CreatePrincipal(ctx, cert.ResourceID, "gamestore03", "", "", false)
	if err != nil || b.ObjectID != ua.PrincipalID || b.Type != lanyard.PostgresService || b.Admin || b.SealedPassword != nil {
		t.Fatalf("CreatePrincipal by name = %+v, %v", b, err)
	}
	if p, ok := f.roles.has("pgcert", "gamestore03"); !ok || p != "" {
		t.Errorf("upstream role: %v, password %q; want one without a password", ok, p)
	}
	b, err = f.pg.CreatePrincipal(ctx, cert.ResourceID, "webapp", "", "", false)
	if err != nil || b.ObjectID != app.SystemPrincipalID {
		t.Errorf("CreatePrincipal of an app's name = %+v, %v", b, err)
	}
	_, err = f.pg.CreatePrincipal(ctx, cert.ResourceID, "nobody", "", "", false)
	wantKind(t, "CreatePrincipal of an unknown name", err, lanyard.KindNotFound, "PrincipalNotFound")
	if _, _, err := f.dir.PutIdentity(ctx, "rg-a", "gamestore03", "", nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.pg.CreatePrincipal(ctx, pw.ResourceID, "gamestore03", "", "", false)
	wantKind(t, "CreatePrincipal of an ambiguous name", err, lanyard.KindInvalid, "AmbiguousPrincipal")
	if _, ok := f.roles.has("pgpass", "gamestore03"); ok {
		t.Error("a refused principal's role was created upstream")
	}

	// By object id, in password mode: the role's password is random and sealed.
	oid := "0E4B9E7A-1111-4222-8333-444455556666"
	b, err = f.pg.CreatePrincipal(ctx, pw.ResourceID, "accounting_application", oid, lanyard.PostgresService, false)
	if err != nil || b.ObjectID != strings.ToLower(oid) {
		t.Fatalf("CreatePrincipal by oid = %+v, %v", b, err)
	}
	clear, ok := f.roles.has("pgpass", "accounting_application")
	if !ok || len(clear) < 40 {
		t.Fatalf("upstream password %q", clear)
	}
	if opened, err := f.pg.Unseal(ctx, b.SealedPassword); err != nil || string(opened) != clear {
		t.Errorf("Unseal(role password) = %q, %v; want what the upstream got", opened, err)
	}
	got, err := f.pg.GetPrincipal(ctx, strings.ToUpper(pw.ResourceID), "accounting_application")
	if err != nil || got.ObjectID != b.ObjectID || !bytes.Equal(got.SealedPassword, b.SealedPassword) {
		t.Errorf("GetPrincipal = %+v, %v", got, err)
	}
	_, err = f.pg.GetPrincipal(ctx, pw.ResourceID, "Accounting_Application")
	wantKind(t, "GetPrincipal in another case", err, lanyard.KindNotFound, "ResourceNotFound")
	_, err = f.pg.GetPrincipal(ctx, pw.ResourceID+"x", "accounting_application")
	wantKind(t, "GetPrincipal on a missing server", err, lanyard.KindNotFound, "ResourceNotFound")

	for _, tc := range []struct{ role, oid, typ string }{
		{"", oid, "service"}, {strings.Repeat("r", 64), oid, "service"}, {"r", "not-a-guid", "service"}, {"r", oid, "robot"},
	} {
		_, err := f.pg.CreatePrincipal(ctx, pw.ResourceID, tc.role, tc.oid, lanyard.PostgresPrincipalType(tc.typ), false)
		wantKind(t, fmt.Sprintf("CreatePrincipal(%q, %q, %q)", tc.role, tc.oid, tc.typ), err, lanyard.KindInvalid, "")
	}

	// A bound role is refused before the upstream is asked (a drop after would hit the
	// bound principal's role).
	calls := len(f.roles.calls)
	_, err = f.pg.CreatePrincipal(ctx, pw.ResourceID, "accounting_application", "11111111-1111-4111-8111-111111111111", "", false)
	wantKind(t, "CreatePrincipal of a bound role", err, lanyard.KindConflict, "Conflict")
	if len(f.roles.calls) != calls {
		t.Errorf("the upstream was asked: %v", f.roles.calls[calls:])
	}

	// A failed CREATE ROLE leaves no binding.
	f.roles.fail = errors.New("connection refused")
	_, err = f.pg.CreatePrincipal(ctx, pw.ResourceID, "refused", oid, "", false)
	wantKind(t, "CreatePrincipal when the upstream fails", err, lanyard.KindUnavailable, "UpstreamFailed")
	_, err = f.pg.GetPrincipal(ctx, pw.ResourceID, "refused")
	wantKind(t, "binding after a failed CREATE ROLE", err, lanyard.KindNotFound, "")

	// A binding that fails to store (another node bound the role meanwhile) drops the
	// role it created.
	f.roles.onCreate = func() {
		_ = f.pg.store().CreatePostgresPrincipal(context.Background(), lanyard.PostgresPrincipal{ServerID: pw.ResourceID, Role: "raced", ObjectID: oid, Type: lanyard.PostgresService})
	}
	_, err = f.pg.CreatePrincipal(ctx, pw.ResourceID, "raced", "22222222-2222-4222-8222-222222222222", "", false)
	f.roles.onCreate = nil
	wantKind(t, "CreatePrincipal losing a race", err, lanyard.KindConflict, "")
	if _, ok := f.roles.has("pgpass", "raced"); ok {
		t.Error("the role created upstream was not dropped after the binding failed")
	}

	// The upstream authentication of a server with bound roles stays as it is.
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pgpass", PostgresServerSpec{UpstreamAuth: lanyard.UpstreamCert})
	wantKind(t, "PutServer switching a server with roles to cert", err, lanyard.KindConflict, "Conflict")
	_, _, err = f.pg.PutServer(ctx, "rg-a", "pgpass", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	wantKind(t, "PutServer with an upstream that implies cert", err, lanyard.KindConflict, "Conflict")
	if again, _, err := f.pg.PutServer(ctx, "rg-a", "pgpass", PostgresServerSpec{Upstream: "postgres://admin:new@h2/db"}); err != nil || again.Upstream != "postgres://admin@h2/db" {
		t.Errorf("PutServer with a new upstream in the same mode = %+v, %v", again, err)
	} else if pw, err := f.pg.Unseal(ctx, again.SealedUpstreamPassword); err != nil || string(pw) != "new" {
		t.Errorf("the new upstream password: %q, %v", pw, err)
	}

	list, err := f.pg.ListPrincipals(ctx, pw.ResourceID)
	if err != nil || len(list) != 2 {
		t.Errorf("ListPrincipals = %+v, %v", list, err)
	}

	// A failed DROP ROLE keeps the binding (as PostgreSQL keeps the role).
	f.roles.fail = errors.New("role owns objects")
	err = f.pg.DropPrincipal(ctx, pw.ResourceID, "accounting_application")
	wantKind(t, "DropPrincipal when the upstream refuses", err, lanyard.KindUnavailable, "UpstreamFailed")
	if _, err := f.pg.GetPrincipal(ctx, pw.ResourceID, "accounting_application"); err != nil {
		t.Errorf("binding after a refused drop: %v", err)
	}
	if err := f.pg.DropPrincipal(ctx, pw.ResourceID, "accounting_application"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.roles.has("pgpass", "accounting_application"); ok {
		t.Error("the role is still upstream")
	}
	if c := f.lastChange(); len(c.Dropped) != 1 || c.Dropped[0].Role != "accounting_application" {
		t.Errorf("change after drop = %+v", c)
	}
	wantKind(t, "DropPrincipal twice", f.pg.DropPrincipal(ctx, pw.ResourceID, "accounting_application"), lanyard.KindNotFound, "ResourceNotFound")

	// Without a front end, changes upstream are refused, reads still work.
	f.pg.Roles = nil
	_, err = f.pg.CreatePrincipal(ctx, cert.ResourceID, "x", oid, "", false)
	wantKind(t, "CreatePrincipal without a front end", err, lanyard.KindUnavailable, "ServiceUnavailable")
	wantKind(t, "DropPrincipal without a front end", f.pg.DropPrincipal(ctx, cert.ResourceID, "webapp"), lanyard.KindUnavailable, "ServiceUnavailable")
	if _, err := f.pg.ListPrincipals(ctx, cert.ResourceID); err != nil {
		t.Errorf("ListPrincipals without a front end: %v", err)
	}
}

func TestPostgresAdmins(t *testing.T) {
	ctx := t.Context()
	f := newPostgres(t)
	srv, _, err := f.pg.PutServer(ctx, "rg-a", "pgsrv", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := f.dir.PutIdentity(ctx, "rg-b", "dba", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, created, err := f.pg.PutAdmin(ctx, srv.ResourceID, strings.ToUpper(id.PrincipalID), "")
	if err != nil || !created || a.Role != "dba" || !a.Admin || a.ObjectID != id.PrincipalID || a.Type != lanyard.PostgresService {
		t.Fatalf("PutAdmin = %+v, %v, %v", a, created, err)
	}
	f.roles.mu.Lock()
	isAdmin := f.roles.admins["pgsrv/dba"]
	f.roles.mu.Unlock()
	if !isAdmin {
		t.Error("the role was not created as an administrator")
	}
	if again, created, err := f.pg.PutAdmin(ctx, srv.ResourceID, id.PrincipalID, "dba"); err != nil || created || again.Role != "dba" {
		t.Errorf("PutAdmin again = %+v, %v, %v", again, created, err)
	}
	_, _, err = f.pg.PutAdmin(ctx, srv.ResourceID, id.PrincipalID, "other")
	wantKind(t, "PutAdmin under another role", err, lanyard.KindConflict, "Conflict")
	_, _, err = f.pg.PutAdmin(ctx, srv.ResourceID, "33333333-3333-4333-8333-333333333333", "")
	wantKind(t, "PutAdmin of an unknown principal", err, lanyard.KindNotFound, "PrincipalNotFound")
	if _, err := f.pg.CreatePrincipal(ctx, srv.ResourceID, "plain", "44444444-4444-4444-8444-444444444444", lanyard.PostgresUser, false); err != nil {
		t.Fatal(err)
	}
	admins, err := f.pg.ListAdmins(ctx, srv.ResourceID)
	if err != nil || len(admins) != 1 || admins[0].Role != "dba" {
		t.Errorf("ListAdmins = %+v, %v", admins, err)
	}
	if _, err := f.pg.GetAdmin(ctx, srv.ResourceID, id.PrincipalID); err != nil {
		t.Errorf("GetAdmin: %v", err)
	}
	_, err = f.pg.GetAdmin(ctx, srv.ResourceID, "44444444-4444-4444-8444-444444444444")
	wantKind(t, "GetAdmin of a plain principal", err, lanyard.KindNotFound, "ResourceNotFound")
	if err := f.pg.DeleteAdmin(ctx, srv.ResourceID, id.PrincipalID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.roles.has("pgsrv", "dba"); ok {
		t.Error("DeleteAdmin left the role upstream")
	}
	wantKind(t, "DeleteAdmin twice", f.pg.DeleteAdmin(ctx, srv.ResourceID, id.PrincipalID), lanyard.KindNotFound, "ResourceNotFound")
}

func TestPostgresServersGoWithTheirGroup(t *testing.T) {
	ctx := t.Context()
	f := newPostgres(t)
	srv, _, err := f.pg.PutServer(ctx, "rg-a", "pgsrv", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.pg.PutServer(ctx, "rg-b", "pgb", PostgresServerSpec{Upstream: "postgres://admin@h/db"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pg.CreatePrincipal(ctx, srv.ResourceID, "r", "44444444-4444-4444-8444-444444444444", "", false); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.DeleteGroup(ctx, "rg-a"); err != nil {
		t.Fatal(err)
	}
	c := f.lastChange()
	if len(c.Servers) != 1 || c.Servers[0] != srv.ResourceID || len(c.Dropped) != 1 || c.Dropped[0].Role != "r" {
		t.Errorf("change = %+v", c)
	}
	all, err := f.pg.ListServers(ctx)
	if err != nil || len(all) != 1 || all[0].ResourceID != other.ResourceID {
		t.Errorf("servers after the group's delete = %+v, %v", all, err)
	}
	// Nothing is dropped upstream: the roles are the user's.
	if _, ok := f.roles.has("pgsrv", "r"); !ok {
		t.Error("deleting the group dropped a role upstream")
	}
	if err := f.pg.DeleteServer(ctx, "rg-b", "pgb"); err != nil {
		t.Fatal(err)
	}
	if c := f.lastChange(); len(c.Servers) != 1 || c.Servers[0] != other.ResourceID {
		t.Errorf("change after DeleteServer = %+v", c)
	}
}

func TestSplitUpstream(t *testing.T) {
	for _, tc := range []struct{ in, out, user, password string }{
		{"postgres://u:p@h:5432/db?sslmode=require", "postgres://u@h:5432/db?sslmode=require", "u", "p"},
		{"postgresql://u@h/db", "postgresql://u@h/db", "u", ""},
		{"postgres://h/db?user=u&password=p%20q&sslmode=verify-full", "postgres://h/db?sslmode=verify-full&user=u", "u", "p q"},
		{"postgres://u:p%40ss@h/db", "postgres://u@h/db", "u", "p@ss"},
		{"host=h user=u password=secret dbname=db", "host=h user=u dbname=db", "u", "secret"},
		{"  host = h   user='u x'  password='it\\'s' ", "host=h user='u x'", "u x", "it's"},
		{"user=u password=", "user=u", "u", ""},
	} {
		d, err := splitUpstream(tc.in)
		if err != nil || d.withoutSecret != tc.out || d.user != tc.user || d.password != tc.password {
			t.Errorf("splitUpstream(%q) = %+v, %v; want %q user %q password %q", tc.in, d, err, tc.out, tc.user, tc.password)
		}
	}
	for _, bad := range []string{"", "postgres://h/db", "host=h", "user", "user='u", "=x", "postgres://u@h/db#frag", "host=h\x00 user=u", strings.Repeat("x", 3000)} {
		if d, err := splitUpstream(bad); lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("splitUpstream(%q) = %+v, %v; want Invalid", bad, d, err)
		}
	}
}

// FuzzSplitUpstream: never a panic, and the password never survives in what is kept.
func FuzzSplitUpstream(f *testing.F) {
	for _, s := range []string{"postgres://u:p@h/db?password=x", "host=h user=u password='a b'", "user=u password=\\ x", "postgresql://u@[::1]:5432/db"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := splitUpstream(s)
		if err != nil {
			return
		}
		if d.password != "" && len(d.password) >= 4 && strings.Contains(d.withoutSecret, d.password) && !strings.Contains(s, d.password+d.password) {
			// The password may coincide with another part of the string; only a kept
			// password key or userinfo is a leak.
			if strings.Contains(d.withoutSecret, "password=") || strings.Contains(d.withoutSecret, ":"+d.password+"@") {
				t.Errorf("splitUpstream(%q) kept the password: %q", s, d.withoutSecret)
			}
		}
		again, err := splitUpstream(d.withoutSecret)
		if err != nil || again.user != d.user || again.password != "" {
			t.Errorf("splitUpstream(%q) = %q, which reparses as %+v, %v", s, d.withoutSecret, again, err)
		}
	})
}
