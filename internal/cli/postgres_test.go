package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/runstate"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// upstreamRoles stands in for the PostgreSQL front end's upstream: the roles created there.
type upstreamRoles struct {
	mu    sync.Mutex
	roles map[string]bool // server/role -> admin
}

func (u *upstreamRoles) CreateRole(_ context.Context, s lanyard.PostgresServer, role, _ string, admin bool) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.roles[s.Name+"/"+role] = admin
	return nil
}

func (u *upstreamRoles) DropRole(_ context.Context, s lanyard.PostgresServer, role string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.roles, s.Name+"/"+role)
	return nil
}

func (u *upstreamRoles) has(key string) (admin, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	admin, ok = u.roles[key]
	return admin, ok
}

// realAPI is the real management API (over a real store) on loopback TLS, with the
// upstream's roles faked, and a data folder whose run state points the CLI at it.
type realAPI struct {
	home  string
	dir   *directory.Service
	roles *upstreamRoles
}

func newRealAPI(t *testing.T) *realAPI {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{5}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	const tenant, sub = "72f988bf-86f1-41af-91ab-2d7cd011db47", "0b1f6471-1bf0-4dda-aec3-111122223333"
	dir := directory.New(st, lanyard.Tenant{ID: tenant, SubscriptionID: sub}, []byte("0123456789abcdef0123456789abcdef"), nil)
	roles := &upstreamRoles{roles: map[string]bool{}}
	port := 30000
	var mu sync.Mutex
	free := func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		port++
		return fmt.Sprintf("127.0.0.1:%d", port), nil
	}
	sum := sha256.Sum256([]byte("admin"))
	h := &mgmt.Handler{Directory: dir, AdminTokenHash: sum[:],
		Postgres:   &directory.Postgres{Directory: dir, Sealer: sealer, Roles: roles, FreeAddress: free},
		ServiceBus: &directory.ServiceBus{Directory: dir, FreeAddress: nextPort()}}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	a := &realAPI{home: t.TempDir(), dir: dir, roles: roles}
	ca := filepath.Join(a.home, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.home, runstate.AdminTokenFile), []byte("admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runstate.Write(a.home, runstate.State{TenantID: tenant, SubscriptionID: sub, APIURL: srv.URL, CAFile: ca}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *realAPI) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"--home", a.home}, args...), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// ok runs args, which must succeed, and decodes the JSON printed.
func (a *realAPI) ok(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := a.run(t, args...)
	if code != 0 {
		t.Fatalf("lanyard %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("lanyard %s printed no JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestPostgresCommands(t *testing.T) {
	a := newRealAPI(t)
	a.ok(t, nil, "group", "create", "-n", "demo")
	a.ok(t, nil, "group", "create", "-n", "ops")
	var id1, dba, game map[string]any
	a.ok(t, &id1, "identity", "create", "-g", "demo", "-n", "id1")
	a.ok(t, &game, "identity", "create", "-g", "demo", "-n", "gamestore03")
	a.ok(t, &dba, "identity", "create", "-g", "ops", "-n", "dba")

	var srv map[string]any
	a.ok(t, &srv, "postgres", "server", "create", "-g", "demo", "-n", "pg1", "--upstream", "postgres://lanyard_admin:hunter2@127.0.0.1:5432/app?sslmode=verify-full")
	if srv["name"] != "pg1" || srv["resourceGroup"] != "demo" || srv["listenAddress"] != "127.0.0.1:30001" || srv["upstreamAuth"] != "password" ||
		srv["upstream"] != "postgres://lanyard_admin@127.0.0.1:5432/app?sslmode=verify-full" || srv["state"] != "Ready" {
		t.Errorf("create printed %v", srv)
	}
	out, _, _ := a.run(t, "postgres", "server", "show", "-g", "demo", "-n", "pg1")
	if strings.Contains(out, "hunter2") {
		t.Errorf("show printed the upstream password: %s", out)
	}
	out, _, code := a.run(t, "postgres", "server", "create", "-g", "demo", "-n", "pg2", "--upstream", "host=127.0.0.1 user=lanyard_admin", "--listen", "127.0.0.1:30500", "--query", "listenAddress", "-o", "tsv")
	if code != 0 || out != "127.0.0.1:30500\n" {
		t.Errorf("create --query listenAddress: %d %q", code, out)
	}
	if _, errOut, code := a.run(t, "postgres", "server", "create", "-g", "demo", "-n", "pg3", "--upstream", "postgres://a@h/db", "--upstream-auth", "trust"); code == 0 || !strings.Contains(errOut, "cert or password") {
		t.Errorf("--upstream-auth trust: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "postgres", "server", "create", "-g", "ops", "-n", "pg1", "--upstream", "postgres://a@h/db"); code == 0 || !strings.Contains(errOut, "ServerNameAlreadyExists") {
		t.Errorf("a taken name: %d %s", code, errOut)
	}
	var list []map[string]any
	a.ok(t, &list, "postgres", "server", "list")
	if len(list) != 2 {
		t.Errorf("list: %v", list)
	}
	a.ok(t, &list, "postgres", "server", "list", "-g", "ops")
	if len(list) != 0 {
		t.Errorf("list -g ops: %v", list)
	}

	// An administrator by name in -g, and one of another group by resource id.
	var admin map[string]any
	a.ok(t, &admin, "postgres", "server", "ad-admin", "create", "-g", "demo", "-s", "pg1", "--identity", "id1")
	if admin["principalName"] != "id1" || admin["objectId"] != id1["principalId"] || admin["principalType"] != "ServicePrincipal" {
		t.Errorf("ad-admin create printed %v", admin)
	}
	a.ok(t, &admin, "postgres", "server", "ad-admin", "create", "-g", "demo", "-s", "pg1", "--identity", dba["id"].(string), "--display-name", "dba_admin")
	if admin["principalName"] != "dba_admin" || admin["objectId"] != dba["principalId"] {
		t.Errorf("ad-admin create by resource id printed %v", admin)
	}
	if isAdmin, ok := a.roles.has("pg1/dba_admin"); !ok || !isAdmin {
		t.Errorf("upstream role dba_admin: exists %v, admin %v", ok, isAdmin)
	}
	a.ok(t, &list, "postgres", "server", "ad-admin", "list", "-g", "demo", "-s", "pg1")
	if len(list) != 2 {
		t.Errorf("ad-admin list: %v", list)
	}
	if _, errOut, code := a.run(t, "postgres", "server", "ad-admin", "create", "-g", "demo", "-s", "pg1", "--identity", "id1", "--object-id", "x"); code == 0 || !strings.Contains(errOut, "none of the others can be") {
		t.Errorf("--identity with --object-id: %d %s", code, errOut)
	}

	// Principals: by name (as pgaadauth_create_principal), and by object id.
	var p map[string]any
	if _, errOut, code := a.run(t, "postgres", "principal", "create", "-g", "demo", "-s", "pg1", "--role", "id1"); code == 0 || !strings.Contains(errOut, "Conflict") {
		t.Errorf("binding the administrator's role again as a plain one: %d %s", code, errOut)
	}
	a.ok(t, &p, "postgres", "principal", "create", "-g", "demo", "-s", "pg1", "--role", "gamestore03")
	if p["roleName"] != "gamestore03" || p["objectId"] != game["principalId"] || p["principalType"] != "service" || p["isAdmin"] != false {
		t.Errorf("principal create printed %v", p)
	}
	oid := "0e4b9e7a-1111-4222-8333-444455556666"
	a.ok(t, &p, "postgres", "principal", "create", "-g", "demo", "-s", "pg1", "--role", "Mary@contoso.com", "--object-id", oid, "--type", "user")
	if p["roleName"] != "Mary@contoso.com" || p["objectId"] != oid || p["principalType"] != "user" {
		t.Errorf("principal create --object-id printed %v", p)
	}
	if _, ok := a.roles.has("pg1/Mary@contoso.com"); !ok {
		t.Error("the role was not created upstream")
	}
	if _, errOut, code := a.run(t, "postgres", "principal", "create", "-g", "demo", "-s", "pg1", "--role", "nobody"); code == 0 || !strings.Contains(errOut, "PrincipalNotFound") {
		t.Errorf("an unknown name: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "postgres", "principal", "create", "-g", "demo", "-s", "pg1", "--role", "x", "--object-id", oid, "--type", "robot"); code == 0 || !strings.Contains(errOut, "--type") {
		t.Errorf("--type robot: %d %s", code, errOut)
	}
	a.ok(t, &p, "postgres", "principal", "show", "-g", "demo", "-s", "pg1", "--role", "Mary@contoso.com")
	if p["objectId"] != oid {
		t.Errorf("principal show printed %v", p)
	}
	a.ok(t, &list, "postgres", "principal", "list", "-g", "demo", "-s", "pg1")
	var roles []string
	for _, p := range list {
		roles = append(roles, p["roleName"].(string))
	}
	if strings.Join(roles, ",") != "Mary@contoso.com,dba_admin,gamestore03,id1" {
		t.Errorf("principals: %v", roles)
	}

	_, errOut, code := a.run(t, "postgres", "principal", "delete", "-g", "demo", "-s", "pg1", "--role", "Mary@contoso.com")
	if code != 0 || !strings.Contains(errOut, "Deleted role") {
		t.Errorf("principal delete: %d %s", code, errOut)
	}
	if _, ok := a.roles.has("pg1/Mary@contoso.com"); ok {
		t.Error("the role is still upstream")
	}
	_, errOut, _ = a.run(t, "postgres", "principal", "delete", "-g", "demo", "-s", "pg1", "--role", "Mary@contoso.com")
	if !strings.Contains(errOut, "Nothing to delete") {
		t.Errorf("principal delete again: %s", errOut)
	}
	_, errOut, code = a.run(t, "postgres", "server", "ad-admin", "delete", "-g", "demo", "-s", "pg1", "--object-id", dba["principalId"].(string))
	if code != 0 || !strings.Contains(errOut, "Deleted administrator") {
		t.Errorf("ad-admin delete: %d %s", code, errOut)
	}
	if _, ok := a.roles.has("pg1/dba_admin"); ok {
		t.Error("the administrator's role is still upstream")
	}
	_, errOut, code = a.run(t, "postgres", "server", "delete", "-g", "demo", "-n", "pg1")
	if code != 0 || !strings.Contains(errOut, "Deleted PostgreSQL server") {
		t.Errorf("server delete: %d %s", code, errOut)
	}
	if _, errOut, code := a.run(t, "postgres", "server", "show", "-g", "demo", "-n", "pg1"); code == 0 || !strings.Contains(errOut, "ResourceNotFound") {
		t.Errorf("show after delete: %d %s", code, errOut)
	}
}

// nextPort hands out loopback addresses with successive ports, as a node's pick would.
func nextPort() func() (string, error) {
	var n atomic.Int32
	return func() (string, error) { return fmt.Sprintf("127.0.0.1:%d", 17100+n.Add(1)), nil }
}
