package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// fakePostgresRoles stands in for the front end's upstream: it records the roles that
// exist there.
type fakePostgresRoles struct {
	mu    sync.Mutex
	roles map[string]bool // server name + "/" + role -> admin
	port  int
	fail  error
}

func newFakePostgresRoles() *fakePostgresRoles {
	return &fakePostgresRoles{roles: map[string]bool{}, port: 20000}
}

func (f *fakePostgresRoles) freeAddress() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.port++
	return fmt.Sprintf("127.0.0.1:%d", f.port), nil
}

func (f *fakePostgresRoles) CreateRole(_ context.Context, s lanyard.PostgresServer, role, _ string, admin bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.roles[s.Name+"/"+role] = admin
	return nil
}

func (f *fakePostgresRoles) DropRole(_ context.Context, s lanyard.PostgresServer, role string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	delete(f.roles, s.Name+"/"+role)
	return nil
}

func (f *fakePostgresRoles) has(server, role string) (admin, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	admin, ok = f.roles[server+"/"+role]
	return admin, ok
}

func postgresPath(g, name string) string {
	return groupPath(g) + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + name
}

func TestPostgresServers(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "grp", "westeurope")
	f.mustGroup(t, "grp2", "local")
	srv := postgresPath("grp", "pg-one")

	res := f.call(t, "PUT", srv, `{"tags":{"a":"b"},"properties":{"upstream":"postgres://admin:hunter2@127.0.0.1:5432/app?sslmode=verify-full"}}`)
	expect(t, res, http.StatusCreated)
	if strings.Contains(string(res.body), "hunter2") {
		t.Fatalf("the upstream password is in the answer: %s", res.body)
	}
	m := res.object(t)
	for path, want := range map[string]string{
		"id": srv, "name": "pg-one", "type": "Microsoft.DBforPostgreSQL/flexibleServers", "location": "westeurope",
		"properties/state": "Ready", "properties/fullyQualifiedDomainName": "127.0.0.1", "properties/listenAddress": "127.0.0.1:20001",
		"properties/upstream": "postgres://admin@127.0.0.1:5432/app?sslmode=verify-full", "properties/upstreamAuth": "password",
		"properties/authConfig/activeDirectoryAuth": "Enabled", "properties/authConfig/passwordAuth": "Disabled",
		"properties/authConfig/tenantId": tenantID, "tags/a": "b",
	} {
		if got := str(m, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	expect(t, f.call(t, "PUT", srv, `{}`), http.StatusOK)
	if got := str(f.call(t, "GET", srv, "").object(t), "properties", "listenAddress"); got != "127.0.0.1:20001" {
		t.Errorf("listen address after PUT again = %q", got)
	}
	res = f.call(t, "PATCH", srv, `{"tags":{"c":"d"}}`)
	expect(t, res, http.StatusOK)
	if str(res.object(t), "tags", "c") != "d" {
		t.Errorf("PATCH tags: %s", res.body)
	}
	armError(t, f.call(t, "PATCH", postgresPath("grp", "pg-none"), `{"tags":{}}`), http.StatusNotFound, "ResourceNotFound")

	// Another group's path reaches nothing of it, and cannot take its name.
	other := postgresPath("grp2", "pg-one")
	armError(t, f.call(t, "GET", other, ""), http.StatusNotFound, "ResourceNotFound")
	armError(t, f.call(t, "PUT", other, `{"properties":{"upstream":"postgres://a@h/db"}}`), http.StatusConflict, "ServerNameAlreadyExists")
	armError(t, f.call(t, "GET", other+"/principals", ""), http.StatusNotFound, "ResourceNotFound")
	armError(t, f.call(t, "PUT", other+"/principals/r", `{"properties":{"objectId":"`+uuidA+`"}}`), http.StatusNotFound, "ResourceNotFound")
	expect(t, f.call(t, "DELETE", other, ""), http.StatusNoContent)

	armError(t, f.call(t, "PUT", postgresPath("grp", "PG"), `{"properties":{"upstream":"postgres://a@h/db"}}`), http.StatusBadRequest, "InvalidParameter")
	armError(t, f.call(t, "PUT", postgresPath("grp", "pg-two"), `{"properties":{}}`), http.StatusBadRequest, "InvalidParameter")
	armError(t, f.call(t, "PUT", postgresPath("grp", "pg-two"), `{"properties":{"upstream":"postgres://a@h/db","listenAddress":"127.0.0.1:20001"}}`), http.StatusConflict, "ListenAddressInUse")
	armError(t, f.call(t, "PUT", postgresPath("nogroup", "pg-two"), `{"properties":{"upstream":"postgres://a@h/db"}}`), http.StatusNotFound, "ResourceGroupNotFound")
	res = f.call(t, "PUT", postgresPath("grp2", "pg-two"), `{"properties":{"upstream":"host=h user=a","listenAddress":"127.0.0.1:20500"}}`)
	expect(t, res, http.StatusCreated)
	if m := res.object(t); str(m, "properties", "upstreamAuth") != "cert" || str(m, "properties", "listenAddress") != "127.0.0.1:20500" {
		t.Errorf("cert server: %s", res.body)
	}

	sub := "/subscriptions/" + subID + "/providers/Microsoft.DBforPostgreSQL/flexibleServers"
	if l := f.call(t, "GET", sub, "").list(t); len(l) != 2 {
		t.Errorf("subscription list: %d servers", len(l))
	}
	res = f.call(t, "GET", sub+"?$top=1", "")
	if l := res.list(t); len(l) != 1 || str(res.object(t), "nextLink") == "" {
		t.Errorf("first page: %s", res.body)
	} else {
		next, _ := url.Parse(str(res.object(t), "nextLink"))
		res = f.request(t, "GET", next.RequestURI(), "", nil)
		if l := res.list(t); len(l) != 1 || str(l[0], "name") == "pg-one" {
			t.Errorf("second page: %s", res.body)
		}
	}
	if l := f.call(t, "GET", groupPath("grp2")+"/providers/Microsoft.DBforPostgreSQL/flexibleServers", "").list(t); len(l) != 1 || str(l[0], "name") != "pg-two" {
		t.Errorf("group list: %v", l)
	}
	armError(t, f.call(t, "GET", groupPath("nogroup")+"/providers/Microsoft.DBforPostgreSQL/flexibleServers", ""), http.StatusNotFound, "ResourceGroupNotFound")

	expect(t, f.call(t, "DELETE", srv, ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", srv, ""), http.StatusNoContent)
	armError(t, f.call(t, "GET", srv, ""), http.StatusNotFound, "ResourceNotFound")
}

const uuidA = "5d0c3a7e-0000-4000-8000-0000000000aa"

func TestPostgresAdministratorsAndPrincipals(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "grp", "local")
	f.mustGroup(t, "grp2", "local")
	srv := postgresPath("grp", "pg-one")
	expect(t, f.call(t, "PUT", srv, `{"properties":{"upstream":"postgres://admin@127.0.0.1/app"}}`), http.StatusCreated)
	// An identity of another group may be bound: it is granted, not the caller.
	dba := str(f.mustIdentity(t, "grp2", "dba"), "properties", "principalId")

	admins := srv + "/administrators"
	res := f.call(t, "PUT", admins+"/"+dba, `{"properties":{"principalType":"ServicePrincipal","tenantId":"`+tenantID+`"}}`)
	expect(t, res, http.StatusCreated)
	m := res.object(t)
	for path, want := range map[string]string{
		"id": admins + "/" + dba, "name": dba, "type": "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
		"properties/principalType": "ServicePrincipal", "properties/principalName": "dba", "properties/objectId": dba, "properties/tenantId": tenantID,
	} {
		if got := str(m, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if admin, ok := f.pg.has("pg-one", "dba"); !ok || !admin {
		t.Errorf("upstream role dba: exists %v, admin %v", ok, admin)
	}
	expect(t, f.call(t, "PUT", admins+"/"+dba, `{}`), http.StatusOK)
	armError(t, f.call(t, "PUT", admins+"/"+dba, `{"properties":{"principalName":"someone-else"}}`), http.StatusConflict, "Conflict")
	armError(t, f.call(t, "PUT", admins+"/"+uuidA, `{}`), http.StatusNotFound, "PrincipalNotFound")
	armError(t, f.call(t, "PUT", admins+"/not-a-guid", `{}`), http.StatusBadRequest, "InvalidParameter")
	armError(t, f.call(t, "PUT", admins+"/"+dba, `{"properties":{"principalType":"User"}}`), http.StatusBadRequest, "InvalidParameter")
	armError(t, f.call(t, "PUT", admins+"/"+dba, `{"properties":{"tenantId":"`+uuidA+`"}}`), http.StatusBadRequest, "InvalidParameter")
	if l := f.call(t, "GET", admins, "").list(t); len(l) != 1 || str(l[0], "name") != dba {
		t.Errorf("administrators: %v", l)
	}
	expect(t, f.call(t, "GET", admins+"/"+strings.ToUpper(dba), ""), http.StatusOK)

	// Principals: by object id, and by name (an identity Lanyard knows).
	app := str(f.mustIdentity(t, "grp", "gamestore03"), "properties", "principalId")
	principals := srv + "/principals"
	res = f.call(t, "PUT", principals+"/gamestore03", `{}`)
	expect(t, res, http.StatusCreated)
	m = res.object(t)
	for path, want := range map[string]string{
		"id": principals + "/gamestore03", "name": "gamestore03", "type": "Microsoft.DBforPostgreSQL/flexibleServers/principals",
		"properties/roleName": "gamestore03", "properties/objectId": app, "properties/principalType": "service",
	} {
		if got := str(m, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if get(m, "properties", "isAdmin") != false {
		t.Errorf("isAdmin: %s", res.body)
	}
	expect(t, f.call(t, "PUT", principals+"/gamestore03", `{}`), http.StatusOK) // the same binding again
	armError(t, f.call(t, "PUT", principals+"/gamestore03", `{"properties":{"objectId":"`+uuidA+`"}}`), http.StatusConflict, "Conflict")
	expect(t, f.call(t, "PUT", principals+"/Accounting", `{"properties":{"objectId":"`+uuidA+`","principalType":"user"}}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", principals+"/accounting", `{"properties":{"objectId":"`+uuidA+`","principalType":"group"}}`), http.StatusCreated)
	armError(t, f.call(t, "PUT", principals+"/nobody", `{}`), http.StatusNotFound, "PrincipalNotFound")
	armError(t, f.call(t, "PUT", principals+"/x", `{"properties":{"objectId":"`+uuidA+`","principalType":"robot"}}`), http.StatusBadRequest, "InvalidParameter")
	f.pg.mu.Lock()
	f.pg.fail = fmt.Errorf("connection refused")
	f.pg.mu.Unlock()
	armError(t, f.call(t, "PUT", principals+"/refused", `{"properties":{"objectId":"`+uuidA+`"}}`), http.StatusServiceUnavailable, "UpstreamFailed")
	f.pg.mu.Lock()
	f.pg.fail = nil
	f.pg.mu.Unlock()
	armError(t, f.call(t, "GET", principals+"/refused", ""), http.StatusNotFound, "ResourceNotFound")

	res = f.call(t, "GET", principals, "")
	l := res.list(t)
	var roles []string
	for _, p := range l {
		roles = append(roles, str(p, "name"))
	}
	if strings.Join(roles, ",") != "Accounting,accounting,dba,gamestore03" {
		t.Errorf("principals = %v", roles)
	}
	// Pages of one walk every role once, the two that differ in case included.
	var paged []string
	for next := principals + "?$top=1&api-version=" + apiVer; next != ""; {
		res := f.request(t, "GET", next, "", nil)
		expect(t, res, http.StatusOK)
		for _, p := range res.list(t) {
			paged = append(paged, str(p, "name"))
		}
		next = ""
		if link := str(res.object(t), "nextLink"); link != "" {
			u, _ := url.Parse(link)
			next = u.RequestURI()
		}
	}
	if strings.Join(paged, ",") != strings.Join(roles, ",") {
		t.Errorf("paged principals = %v", paged)
	}

	expect(t, f.call(t, "DELETE", principals+"/Accounting", ""), http.StatusOK)
	if _, ok := f.pg.has("pg-one", "Accounting"); ok {
		t.Error("the role is still upstream")
	}
	expect(t, f.call(t, "GET", principals+"/accounting", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", principals+"/Accounting", ""), http.StatusNoContent)

	expect(t, f.call(t, "DELETE", admins+"/"+dba, ""), http.StatusOK)
	if _, ok := f.pg.has("pg-one", "dba"); ok {
		t.Error("the administrator's role is still upstream")
	}
	expect(t, f.call(t, "DELETE", admins+"/"+dba, ""), http.StatusNoContent)
	if l := f.call(t, "GET", admins, "").list(t); len(l) != 0 {
		t.Errorf("administrators after delete: %v", l)
	}

	// Without a front end the API still reads, and refuses what needs the upstream.
	f.h.Postgres.Roles = nil
	expect(t, f.call(t, "GET", principals, ""), http.StatusOK)
	armError(t, f.call(t, "PUT", principals+"/late", `{"properties":{"objectId":"`+uuidA+`"}}`), http.StatusServiceUnavailable, "ServiceUnavailable")
}

func TestPostgresWithoutService(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "grp", "local")
	f.h.Postgres = nil
	armError(t, f.call(t, "GET", postgresPath("grp", "pg-one"), ""), http.StatusServiceUnavailable, "ServiceUnavailable")
}

// TestPostgresNeighbouringGroup attacks as a Contributor of group grp2 a server of group
// grp: through grp2's paths it does not exist, through grp's the caller is refused, and
// nothing is bound upstream either way. A Contributor of grp2 may bind its own server's
// roles to identities of any group: that grants the identity a login to a server the
// caller already controls, nothing to the caller.
func TestPostgresNeighbouringGroup(t *testing.T) {
	m := newMatrixFixture(t)
	m.mustGroup(t, "grp", "local")
	m.mustGroup(t, "grp2", "local")
	victim := postgresPath("grp", "pgvictim")
	expect(t, m.call(t, "PUT", victim, `{"properties":{"upstream":"postgres://admin@127.0.0.1/db"}}`), http.StatusCreated)
	m.mustIdentity(t, "grp", "victimapp")
	contributor := m.caller(t, grant{"*", groupPath("grp2")})
	send := func(method, path, body string) response {
		return m.request(t, method, path+"?api-version="+apiVer, body, contributor)
	}
	via := postgresPath("grp2", "pgvictim")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", via, ""},
		{"PATCH", via, `{"tags":{"x":"y"}}`},
		{"GET", via + "/principals", ""},
		{"PUT", via + "/principals/attacker", `{"properties":{"objectId":"` + uuidA + `"}}`},
		{"DELETE", via + "/principals/victimapp", ""},
		{"GET", via + "/administrators", ""},
	} {
		res := send(tc.method, tc.path, tc.body)
		if tc.method == "DELETE" {
			expect(t, res, http.StatusNoContent)
			continue
		}
		armError(t, res, http.StatusNotFound, "ResourceNotFound")
	}
	// The victim's name cannot be taken over from grp2 either (names are global, as on Azure).
	armError(t, send("PUT", via, `{"properties":{"upstream":"postgres://evil@127.0.0.1/db"}}`), http.StatusConflict, "ServerNameAlreadyExists")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", victim, ""},
		{"PUT", victim + "/principals/attacker", `{"properties":{"objectId":"` + uuidA + `"}}`},
		{"GET", victim + "/principals", ""},
		{"DELETE", victim, ""},
	} {
		armError(t, send(tc.method, tc.path, tc.body), http.StatusForbidden, "AuthorizationFailed")
	}
	if _, ok := m.pg.has("pgvictim", "attacker"); ok {
		t.Error("an attacker's role was created upstream")
	}
	// Its own server may bind an identity of grp.
	own := postgresPath("grp2", "pgown")
	expect(t, send("PUT", own, `{"properties":{"upstream":"postgres://admin@127.0.0.1/db"}}`), http.StatusCreated)
	res := send("PUT", own+"/principals/victimapp", `{}`)
	expect(t, res, http.StatusCreated)
	if str(res.object(t), "properties", "objectId") != m.principalID(t, "grp", "victimapp") {
		t.Errorf("binding: %s", res.body)
	}
}
