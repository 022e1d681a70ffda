package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/token"
)

// grant is one permission a request needs: action at scope.
type grant struct{ action, scope string }

// permissionCase is one route and method of the management API with every permission it
// needs: the first at the scope the request addresses, the others at linked scopes (an
// identity bound, a role's assignable scopes). No grants means the local admin only.
type permissionCase struct {
	name, method, path, body string
	needs                    []grant
	// linkedCode is the error a caller lacking only a linked permission gets.
	linkedCode string
	// reachable rows need no permission: any caller is answered, with what needs names
	// leaving the answer empty when missing (ARM's subscription list).
	reachable bool
	// refusal is the 403 code a caller holding every permission still gets: the
	// operation is authorized, then refused for what it asks (ListKeys of an account
	// without keys).
	refusal string
}

const (
	readerRole   = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ownerRole    = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	targetRole   = "5d0c3a7e-0000-4000-8000-00000000a001" // a custom role of group g
	subRole      = "5d0c3a7e-0000-4000-8000-00000000a002" // a custom role of the subscription
	fixtureGrant = "5d0c3a7e-0000-4000-8000-00000000b001" // an assignment at group g
	credential   = "fic"
)

func accountPath(g, name string) string {
	return groupPath(g) + "/providers/Microsoft.Storage/storageAccounts/" + name
}

func authzPath(scope, rest string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/" + rest
}

// permissionMatrix is the one table of what each management route needs. Every route and
// method of the router must have a row (TestPermissionMatrixCoversEveryRoute).
func permissionMatrix() []permissionCase {
	sub := "/subscriptions/" + subID
	g := groupPath("grp")
	id := identityPath("grp", "ida")
	fc := credentialPath("grp", "ida", credential)
	web := appPath("grp", "web")
	acct := accountPath("grp", "acct")
	pg := postgresPath("grp", "pgs")
	pgAdmin := pg + "/administrators/{{ida}}"
	pgRole := pg + "/principals/role1"
	svc := acct + "/blobServices/default"
	ctr := svc + "/containers/data"
	sbns := serviceBusPath("grp", "sbnsaa")
	sbq, sbt := sbns+"/queues/q", sbns+"/topics/t"
	sbs := sbt + "/subscriptions/s"
	sbr := sbs + "/rules/r"
	const (
		groupT = "Microsoft.Resources/subscriptions/resourceGroups"
		idT    = lanyard.TypeUserAssignedIdentity
		fcT    = lanyard.TypeFederatedCredential
		siteT  = lanyard.TypeApp
		acctT  = lanyard.TypeStorageAccount
		pgT    = lanyard.TypePostgresServer
		pgAdmT = lanyard.TypePostgresServer + "/administrators"
		sbNsT  = lanyard.TypeServiceBusNamespace
		sbQT   = lanyard.TypeServiceBusQueue
		sbTT   = lanyard.TypeServiceBusTopic
		sbST   = lanyard.TypeServiceBusSubscription
		sbRT   = lanyard.TypeServiceBusRule
		svcT   = acctT + "/blobServices"
		ctrT   = svcT + "/containers"
		defT   = "Microsoft.Authorization/roleDefinitions"
		asgT   = "Microsoft.Authorization/roleAssignments"
	)
	binds := func(ids ...string) string {
		var parts []string
		for _, i := range ids {
			parts = append(parts, `"`+i+`":{}`)
		}
		return `{"identity":{"type":"UserAssigned","userAssignedIdentities":{` + strings.Join(parts, ",") + `}}}`
	}
	role := func(name string, scopes ...string) string {
		return `{"properties":{"roleName":"` + name + `","permissions":[{"actions":["Microsoft.Storage/*/read"]}],"assignableScopes":["` + strings.Join(scopes, `","`) + `"]}}`
	}
	one := func(action, scope string) []grant { return []grant{{action, scope}} }
	admin := func(name, method, path, body string) permissionCase {
		return permissionCase{name: name, method: method, path: path, body: body}
	}
	c := func(name, method, path, body string, needs []grant) permissionCase {
		return permissionCase{name: name, method: method, path: path, body: body, needs: needs}
	}
	linked := func(name, method, path, body, code string, needs ...grant) permissionCase {
		return permissionCase{name: name, method: method, path: path, body: body, needs: needs, linkedCode: code}
	}
	return []permissionCase{
		{name: "list subscriptions", method: "GET", path: "/subscriptions", reachable: true, needs: one("Microsoft.Resources/subscriptions/read", sub+"/resourceGroups/grp")},
		c("get subscription", "GET", sub, "", one("Microsoft.Resources/subscriptions/read", sub)),
		c("list groups", "GET", sub+"/resourceGroups", "", one(groupT+"/read", sub)),
		c("create group", "PUT", g, `{"location":"local"}`, one(groupT+"/write", g)),
		c("patch group", "PATCH", g, `{"tags":{"a":"b"}}`, one(groupT+"/write", g)),
		c("get group", "GET", g, "", one(groupT+"/read", g)),
		c("delete group", "DELETE", g, "", one(groupT+"/delete", g)),

		c("list identities of the subscription", "GET", sub+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "", one(idT+"/read", sub)),
		c("list identities of a group", "GET", g+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "", one(idT+"/read", g)),
		c("create identity", "PUT", id, `{}`, one(idT+"/write", id)),
		c("patch identity", "PATCH", id, `{"tags":{"a":"b"}}`, one(idT+"/write", id)),
		c("get identity", "GET", id, "", one(idT+"/read", id)),
		c("delete identity", "DELETE", id, "", one(idT+"/delete", id)),
		c("list federated credentials", "GET", id+"/federatedIdentityCredentials", "", one(fcT+"/read", id)),
		c("create federated credential", "PUT", fc, `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:o/r:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"]}}`, one(fcT+"/write", fc)),
		c("get federated credential", "GET", fc, "", one(fcT+"/read", fc)),
		c("delete federated credential", "DELETE", fc, "", one(fcT+"/delete", fc)),

		c("list apps of the subscription", "GET", sub+"/providers/Microsoft.Web/sites", "", one(siteT+"/read", sub)),
		c("list apps of a group", "GET", g+"/providers/Microsoft.Web/sites", "", one(siteT+"/read", g)),
		c("create app", "PUT", web, `{}`, one(siteT+"/write", web)),
		linked("create app binding an identity", "PUT", web, binds(id), "LinkedAuthorizationFailed",
			grant{siteT + "/write", web}, grant{assignIdentityAction, id}),
		linked("create app binding an identity of another group", "PUT", web, binds(identityPath("grp2", "ida")), "LinkedAuthorizationFailed",
			grant{siteT + "/write", web}, grant{assignIdentityAction, identityPath("grp2", "ida")}),
		linked("create app binding a missing identity", "PUT", web, binds(identityPath("grp2", "nobody")), "LinkedAuthorizationFailed",
			grant{siteT + "/write", web}, grant{assignIdentityAction, identityPath("grp2", "nobody")}),
		c("patch app", "PATCH", web, `{"tags":{"a":"b"}}`, one(siteT+"/write", web)),
		linked("patch app binding identities", "PATCH", web, binds(id, identityPath("grp", "ida2")), "LinkedAuthorizationFailed",
			grant{siteT + "/write", web}, grant{assignIdentityAction, id}, grant{assignIdentityAction, identityPath("grp", "ida2")}),
		c("get app", "GET", web, "", one(siteT+"/read", web)),
		c("delete app", "DELETE", web, "", one(siteT+"/delete", web)),
		c("app environment", "POST", web+"/listIdentityEnvironment", "", one(siteT+"/listIdentityEnvironment/action", web)),
		c("rotate identity header", "POST", web+"/rotateIdentityHeader", "", one(siteT+"/rotateIdentityHeader/action", web)),

		c("list accounts of the subscription", "GET", sub+"/providers/Microsoft.Storage/storageAccounts", "", one(acctT+"/read", sub)),
		c("list accounts of a group", "GET", g+"/providers/Microsoft.Storage/storageAccounts", "", one(acctT+"/read", g)),
		c("create account", "PUT", acct, `{}`, one(acctT+"/write", acct)),
		c("patch account", "PATCH", acct, `{"tags":{"a":"b"}}`, one(acctT+"/write", acct)),
		c("get account", "GET", acct, "", one(acctT+"/read", acct)),
		c("delete account", "DELETE", acct, "", one(acctT+"/delete", acct)),
		{name: "list account keys", method: "POST", path: acct + "/listKeys", needs: one(acctT+"/listKeys/action", acct), refusal: "KeyBasedAuthenticationNotPermitted"},
		c("revoke user delegation keys", "POST", acct+"/revokeUserDelegationKeys", "", one(acctT+"/revokeUserDelegationKeys/action", acct)),
		c("check account name", "POST", sub+"/providers/Microsoft.Storage/checkNameAvailability", `{"name":"free1","type":"Microsoft.Storage/storageAccounts"}`, one("Microsoft.Storage/checkNameAvailability/read", sub)),
		c("list blob services", "GET", acct+"/blobServices", "", one(svcT+"/read", acct)),
		c("get blob service", "GET", svc, "", one(svcT+"/read", svc)),
		c("set blob service", "PUT", svc, `{"properties":{"deleteRetentionPolicy":{"enabled":false}}}`, one(svcT+"/write", svc)),
		c("patch blob service", "PATCH", svc, `{"properties":{"isVersioningEnabled":true,"deleteRetentionPolicy":{"enabled":true,"days":7}}}`, one(svcT+"/write", svc)),
		c("list containers", "GET", svc+"/containers", "", one(ctrT+"/read", svc)),
		c("create container", "PUT", ctr, `{"properties":{"metadata":{"a":"b"}}}`, one(ctrT+"/write", ctr)),
		c("patch container", "PATCH", ctr, `{"properties":{"metadata":{"a":"c"}}}`, one(ctrT+"/write", ctr)),
		c("get container", "GET", ctr, "", one(ctrT+"/read", ctr)),
		c("delete container", "DELETE", ctr, "", one(ctrT+"/delete", ctr)),

		c("list resources of the subscription", "GET", sub+"/resources", "", one("Microsoft.Resources/subscriptions/resources/read", sub)),
		c("list resources of a group", "GET", g+"/resources", "", one("Microsoft.Resources/subscriptions/resourceGroups/resources/read", g)),

		c("list postgres servers of the subscription", "GET", sub+"/providers/Microsoft.DBforPostgreSQL/flexibleServers", "", one(pgT+"/read", sub)),
		c("list postgres servers of a group", "GET", g+"/providers/Microsoft.DBforPostgreSQL/flexibleServers", "", one(pgT+"/read", g)),
		c("create postgres server", "PUT", postgresPath("grp", "pgnew"), `{"properties":{"upstream":"postgres://admin@127.0.0.1/db"}}`, one(pgT+"/write", postgresPath("grp", "pgnew"))),
		c("update postgres server", "PUT", pg, `{"tags":{"a":"b"}}`, one(pgT+"/write", pg)),
		c("patch postgres server", "PATCH", pg, `{"tags":{"a":"b"}}`, one(pgT+"/write", pg)),
		c("get postgres server", "GET", pg, "", one(pgT+"/read", pg)),
		c("delete postgres server", "DELETE", pg, "", one(pgT+"/delete", pg)),
		// An administrator's permissions are held at the server (or above): the rows' path
		// names the administrator by an object id the fixture makes.
		c("list postgres administrators", "GET", pg+"/administrators", "", one(pgAdmT+"/read", pg)),
		c("create postgres administrator", "PUT", pgAdmin, `{"properties":{"principalType":"ServicePrincipal"}}`, one(pgAdmT+"/write", pg)),
		c("get postgres administrator", "GET", pgAdmin, "", one(pgAdmT+"/read", pg)),
		c("delete postgres administrator", "DELETE", pgAdmin, "", one(pgAdmT+"/delete", pg)),
		// Principals: reading needs the server's read, binding and dropping an
		// administrator's write.
		c("list postgres principals", "GET", pg+"/principals", "", one(pgT+"/read", pg)),
		c("create postgres principal", "PUT", pg+"/principals/rolenew", `{"properties":{"objectId":"`+uuidA+`"}}`, one(pgAdmT+"/write", pg+"/principals/rolenew")),
		c("create postgres principal for an identity of another group", "PUT", pg+"/principals/idother", ``, one(pgAdmT+"/write", pg+"/principals/idother")),
		c("get postgres principal", "GET", pgRole, "", one(pgT+"/read", pgRole)),
		c("delete postgres principal", "DELETE", pgRole, "", one(pgAdmT+"/write", pgRole)),

		c("list service bus namespaces of the subscription", "GET", sub+"/providers/Microsoft.ServiceBus/namespaces", "", one(sbNsT+"/read", sub)),
		c("list service bus namespaces of a group", "GET", g+"/providers/Microsoft.ServiceBus/namespaces", "", one(sbNsT+"/read", g)),
		c("check service bus namespace name", "POST", sub+"/providers/Microsoft.ServiceBus/checkNameAvailability", `{"name":"sbnsfree"}`, one("Microsoft.ServiceBus/checkNameAvailability/action", sub)),
		c("create service bus namespace", "PUT", serviceBusPath("grp", "sbnsnew"), `{"sku":{"name":"Standard"}}`, one(sbNsT+"/write", serviceBusPath("grp", "sbnsnew"))),
		c("update service bus namespace", "PUT", sbns, `{"tags":{"a":"b"}}`, one(sbNsT+"/write", sbns)),
		c("patch service bus namespace", "PATCH", sbns, `{"tags":{"a":"b"}}`, one(sbNsT+"/write", sbns)),
		c("get service bus namespace", "GET", sbns, "", one(sbNsT+"/read", sbns)),
		c("delete service bus namespace", "DELETE", sbns, "", one(sbNsT+"/delete", sbns)),
		c("list service bus queues", "GET", sbns+"/queues", "", one(sbQT+"/read", sbns)),
		c("create service bus queue", "PUT", sbns+"/queues/qnew", `{"properties":{"lockDuration":"PT30S"}}`, one(sbQT+"/write", sbns+"/queues/qnew")),
		c("get service bus queue", "GET", sbq, "", one(sbQT+"/read", sbq)),
		c("delete service bus queue", "DELETE", sbq, "", one(sbQT+"/delete", sbq)),
		c("list service bus topics", "GET", sbns+"/topics", "", one(sbTT+"/read", sbns)),
		c("create service bus topic", "PUT", sbns+"/topics/tnew", `{}`, one(sbTT+"/write", sbns+"/topics/tnew")),
		c("get service bus topic", "GET", sbt, "", one(sbTT+"/read", sbt)),
		c("delete service bus topic", "DELETE", sbt, "", one(sbTT+"/delete", sbt)),
		c("list service bus subscriptions", "GET", sbt+"/subscriptions", "", one(sbST+"/read", sbt)),
		c("create service bus subscription", "PUT", sbt+"/subscriptions/snew", `{"properties":{"maxDeliveryCount":3}}`, one(sbST+"/write", sbt+"/subscriptions/snew")),
		c("get service bus subscription", "GET", sbs, "", one(sbST+"/read", sbs)),
		c("delete service bus subscription", "DELETE", sbs, "", one(sbST+"/delete", sbs)),
		c("list service bus rules", "GET", sbs+"/rules", "", one(sbRT+"/read", sbs)),
		c("create service bus rule", "PUT", sbs+"/rules/rnew", `{"properties":{"filterType":"SqlFilter","sqlFilter":{"sqlExpression":"a = 1"}}}`, one(sbRT+"/write", sbs+"/rules/rnew")),
		c("get service bus rule", "GET", sbr, "", one(sbRT+"/read", sbr)),
		c("delete service bus rule", "DELETE", sbr, "", one(sbRT+"/delete", sbr)),

		c("list role definitions", "GET", authzPath(g, "roleDefinitions"), "", one(defT+"/read", g)),
		c("get role definition", "GET", authzPath(g, "roleDefinitions/"+targetRole), "", one(defT+"/read", g)),
		c("create role definition", "PUT", authzPath(g, "roleDefinitions/"+uuid.NewString()), role(g), one(defT+"/write", g)),
		c("update role definition", "PUT", authzPath(g, "roleDefinitions/"+targetRole), role(g), one(defT+"/write", g)),
		linked("widen a role definition", "PUT", authzPath(g, "roleDefinitions/"+targetRole), role("Target", g, groupPath("grp2")), "AuthorizationFailed",
			grant{defT + "/write", g}, grant{defT + "/write", groupPath("grp2")}),
		linked("rewrite a subscription's role definition through an account", "PUT", authzPath(acct, "roleDefinitions/"+subRole), role("Sub", acct), "AuthorizationFailed",
			grant{defT + "/write", acct}, grant{defT + "/write", sub}),
		c("delete role definition", "DELETE", authzPath(g, "roleDefinitions/"+targetRole), "", one(defT+"/delete", g)),
		linked("delete a subscription's role definition through an account", "DELETE", authzPath(acct, "roleDefinitions/"+subRole), "", "AuthorizationFailed",
			grant{defT + "/delete", acct}, grant{defT + "/delete", sub}),

		c("list role assignments", "GET", authzPath(g, "roleAssignments"), "", one(asgT+"/read", g)),
		c("get role assignment", "GET", authzPath(g, "roleAssignments/"+fixtureGrant), "", one(asgT+"/read", g)),
		c("create role assignment", "PUT", authzPath(g, "roleAssignments/"+uuid.NewString()), "{{assignment}}", one(asgT+"/write", g)),
		c("delete role assignment", "DELETE", authzPath(g, "roleAssignments/"+fixtureGrant), "", one(asgT+"/delete", g)),

		admin("list signing keys", "GET", KeysPath, ""),
		admin("rotate signing key", "POST", KeysPath+"/rotate", ""),
		admin("check access", "POST", CheckAccessPath, `{"principalId":"`+uuid.NewString()+`","action":"a/b/read","scope":"`+sub+`"}`),
		admin("get principal", "GET", PrincipalsPath+"/"+uuid.NewString(), ""),
		admin("patch principal", "PATCH", PrincipalsPath+"/"+uuid.NewString(), `{"properties":{"enabled":true}}`),
		admin("revoke", "POST", RevocationsPath, `{}`),
		admin("list revocations", "GET", RevocationsPath, ""),
		admin("list audit events", "GET", AuditEventsPath, ""),
		admin("verify audit trail", "POST", AuditEventsPath+"/verify", ""),
		admin("get audit event", "GET", AuditEventsPath+"/"+uuid.NewString(), ""),
		admin("explain audit event", "GET", AuditEventsPath+"/"+uuid.NewString()+"/explain", ""),
	}
}

// sibling is the scope beside scope (its last name with "2" appended), or "" where there
// is none within the subscription.
func sibling(scope string) string {
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	if len(segs) < 4 { // the root or the subscription
		return ""
	}
	segs[len(segs)-1] += "2"
	return "/" + strings.Join(segs, "/")
}

// child is a scope below scope.
func child(scope string) string {
	switch segs := strings.Split(strings.Trim(scope, "/"), "/"); {
	case scope == "/":
		return "/subscriptions/" + subID
	case len(segs) == 2:
		return scope + "/resourceGroups/grp"
	case len(segs) == 4:
		return scope + "/providers/Microsoft.Web/sites/web"
	default:
		return scope + "/children/c"
	}
}

// matrixFixture is the management API with token callers authorized by RBAC, as served.
type matrixFixture struct {
	*fixture
	acc    *access.Service
	issuer *token.Issuer
	roles  map[string]string // action -> custom role granting only it
	n      int
}

const matrixIssuer = "https://127.0.0.1:1/" + tenantID + "/"

func newMatrixFixture(t *testing.T) *matrixFixture {
	t.Helper()
	f := newFixture(t)
	acc, err := access.New(t.Context(), f.st, lanyard.Tenant{ID: tenantID, SubscriptionID: subID})
	if err != nil {
		t.Fatal(err)
	}
	f.h.Access = acc
	f.dir.OnAssignmentsRemoved = acc.ForgetAssignments
	f.h.Federation = &federation.Credentials{Store: f.st, Identities: f.dir}
	f.h.Tokens = &token.Verifier{Keys: f.kr, Issuers: []string{matrixIssuer}, Audiences: []string{"https://management.azure.com"}, MatchAudience: token.SameResource}
	m := &matrixFixture{fixture: f, acc: acc, issuer: &token.Issuer{Keys: f.kr}, roles: map[string]string{}}
	m.mustGroup(t, "callers", "local")
	return m
}

// seed (re)creates what the matrix's requests address; earlier rows may have changed or
// deleted it.
func (m *matrixFixture) seed(t *testing.T) {
	t.Helper()
	ok := func(res response, what string) {
		t.Helper()
		if res.status >= 300 && res.status != http.StatusConflict {
			t.Fatalf("seed %s: %d %s", what, res.status, res.body)
		}
	}
	for _, g := range []string{"grp", "grp2"} {
		m.mustGroup(t, g, "local")
		for _, id := range []string{"ida", "ida2"} {
			m.mustIdentity(t, g, id)
		}
	}
	for _, app := range []string{"web", "web2"} {
		ok(m.call(t, "PUT", appPath("grp", app), `{}`), app)
	}
	for _, acct := range []string{"acct", "acct2"} {
		ok(m.call(t, "PUT", accountPath("grp", acct), `{}`), acct)
	}
	m.mustIdentity(t, "grp2", "idother") // bound by name from grp's server
	for _, srv := range []string{"pgs", "pgs2"} {
		ok(m.call(t, "PUT", postgresPath("grp", srv), `{"properties":{"upstream":"postgres://admin@127.0.0.1/db"}}`), srv)
		ok(m.call(t, "PUT", postgresPath("grp", srv)+"/administrators/"+m.principalID(t, "grp", "ida"), `{}`), srv+" administrator")
		ok(m.call(t, "PUT", postgresPath("grp", srv)+"/principals/role1", `{"properties":{"objectId":"`+uuidA+`"}}`), srv+" principal")
	}
	for _, ns := range []string{"sbnsaa", "sbnsaa2"} {
		p := serviceBusPath("grp", ns)
		ok(m.call(t, "PUT", p, `{}`), ns)
		for _, e := range []string{"q", "q2"} {
			ok(m.call(t, "PUT", p+"/queues/"+e, `{}`), ns+" queue "+e)
		}
		for _, e := range []string{"t", "t2"} {
			ok(m.call(t, "PUT", p+"/topics/"+e, `{}`), ns+" topic "+e)
		}
		for _, e := range []string{"s", "s2"} {
			ok(m.call(t, "PUT", p+"/topics/t/subscriptions/"+e, `{}`), ns+" subscription "+e)
		}
		for _, e := range []string{"r", "r2"} {
			ok(m.call(t, "PUT", p+"/topics/t/subscriptions/s/rules/"+e, `{"properties":{"sqlFilter":{"sqlExpression":"1=1"}}}`), ns+" rule "+e)
		}
	}
	for _, c := range []string{"data", "data2"} {
		ok(m.call(t, "PUT", accountPath("grp", "acct")+"/blobServices/default/containers/"+c, `{}`), c)
	}
	for _, fc := range []string{credential, credential + "2"} {
		ok(m.call(t, "PUT", credentialPath("grp", "ida", fc), `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"s","audiences":["api://AzureADTokenExchange"]}}`), fc)
	}
	sub := "/subscriptions/" + subID
	ok(m.call(t, "PUT", authzPath(groupPath("grp"), "roleDefinitions/"+targetRole), `{"properties":{"roleName":"Target","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+groupPath("grp")+`"]}}`), "target role")
	ok(m.call(t, "PUT", authzPath(sub, "roleDefinitions/"+subRole), `{"properties":{"roleName":"Sub","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+sub+`"]}}`), "subscription role")
	ok(m.call(t, "PUT", authzPath(groupPath("grp"), "roleAssignments/"+fixtureGrant), m.assignmentBody(t)), "assignment")
}

func (m *matrixFixture) principalID(t *testing.T, group, name string) string {
	t.Helper()
	return str(m.call(t, "GET", identityPath(group, name), "").object(t), "properties", "principalId")
}

func (m *matrixFixture) assignmentBody(t *testing.T) string {
	t.Helper()
	p := str(m.call(t, "GET", identityPath("grp", "ida"), "").object(t), "properties", "principalId")
	return `{"properties":{"roleDefinitionId":"` + readerRole + `","principalId":"` + p + `"}}`
}

// caller makes a principal holding exactly grants and returns its request headers.
func (m *matrixFixture) caller(t *testing.T, grants ...grant) map[string]string {
	t.Helper()
	id := m.principal(t)
	for _, g := range grants {
		role := readerRole // the only scope a custom role cannot be assignable at is the root
		if g.scope != "/" {
			role = m.roleFor(t, g.action)
		} else if !strings.HasSuffix(g.action, "/read") {
			t.Fatalf("no role grants only %s at the root", g.action)
		}
		a := lanyard.RoleAssignment{Scope: g.scope, RoleDefinitionID: role, PrincipalID: id.PrincipalID}
		if _, err := m.acc.CreateRoleAssignment(t.Context(), a, func(context.Context, string) error { return nil }); err != nil {
			t.Fatalf("grant %s at %s: %v", g.action, g.scope, err)
		}
	}
	return m.headerFor(t, id)
}

// principal makes a new identity to call as.
func (m *matrixFixture) principal(t *testing.T) lanyard.Identity {
	t.Helper()
	m.n++
	id, _, err := m.dir.PutIdentity(t.Context(), "callers", fmt.Sprintf("caller%d", m.n), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// headerFor is the Authorization header of a management token of id.
func (m *matrixFixture) headerFor(t *testing.T, id lanyard.Identity) map[string]string {
	t.Helper()
	tok, err := m.issuer.Issue(token.Request{TenantID: tenantID, IssuerURL: matrixIssuer, Audience: "https://management.azure.com/", Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Authorization": "Bearer " + tok.Raw}
}

func (m *matrixFixture) roleFor(t *testing.T, action string) string {
	t.Helper()
	if id, ok := m.roles[action]; ok {
		return id
	}
	d := lanyard.RoleDefinition{ID: uuid.NewString(), Name: "Only " + action,
		Permissions: []lanyard.Permission{{Actions: []string{action}}}, AssignableScopes: []string{"/subscriptions/" + subID}}
	if _, _, err := m.acc.PutRoleDefinition(t.Context(), "/", d, func(string, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	m.roles[action] = d.ID
	return d.ID
}

func (m *matrixFixture) send(t *testing.T, pc permissionCase, header map[string]string) response {
	t.Helper()
	body := pc.body
	if body == "{{assignment}}" {
		body = m.assignmentBody(t)
	}
	path := strings.ReplaceAll(pc.path, "{{ida}}", m.principalID(t, "grp", "ida"))
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return m.request(t, pc.method, path+sep+"api-version="+apiVer, body, header)
}

// TestPermissionMatrix tries every row as callers holding what it needs at the right
// scopes, with one permission moved to a sibling scope, to a child scope, or missing, and
// with nothing at all: only the first may act.
func TestPermissionMatrix(t *testing.T) {
	m := newMatrixFixture(t)
	for _, pc := range permissionMatrix() {
		t.Run(pc.name, func(t *testing.T) {
			m.seed(t)
			denied := func(variant string, header map[string]string, code string) {
				t.Helper()
				res := m.send(t, pc, header)
				if res.status != http.StatusForbidden {
					t.Errorf("%s: %s %s answered %d, want 403: %s", variant, pc.method, pc.path, res.status, res.body)
					return
				}
				armError(t, res, http.StatusForbidden, code)
			}
			if pc.reachable {
				// Any caller is answered; only one with a role in the subscription sees it.
				for _, tc := range []struct {
					who    string
					header map[string]string
					want   int
				}{
					{"no role", m.caller(t), 0},
					{"a role in the subscription", m.caller(t, pc.needs...), 1},
				} {
					res := m.send(t, pc, tc.header)
					if res.status != http.StatusOK || len(res.list(t)) != tc.want {
						t.Errorf("%s: %d with %s, want 200 and %d items", tc.who, res.status, res.body, tc.want)
					}
				}
				return
			}
			if len(pc.needs) == 0 {
				denied("an Owner of the subscription", m.caller(t, grant{"*", "/subscriptions/" + subID}), "AuthorizationFailed")
				if res := m.send(t, pc, nil); res.status == http.StatusForbidden || res.status == http.StatusUnauthorized {
					t.Errorf("the admin: %d %s", res.status, res.body)
				}
				return
			}
			denied("no role", m.caller(t), "AuthorizationFailed")
			for i, g := range pc.needs {
				code := "AuthorizationFailed"
				if i > 0 {
					code = pc.linkedCode
				}
				others := append(append([]grant{}, pc.needs[:i]...), pc.needs[i+1:]...)
				if holds(others, g) {
					continue // another permission the request needs covers this one
				}
				denied(fmt.Sprintf("without %s at %s", g.action, g.scope), m.caller(t, others...), code)
				for _, moved := range []struct{ where, scope string }{{"sibling", sibling(g.scope)}, {"child", child(g.scope)}} {
					if moved.scope == "" || slices.Contains(others, grant{g.action, moved.scope}) {
						continue
					}
					denied(fmt.Sprintf("%s at the %s %s", g.action, moved.where, moved.scope), m.caller(t, append(others, grant{g.action, moved.scope})...), code)
				}
			}
			res := m.send(t, pc, m.caller(t, pc.needs...))
			if pc.refusal != "" {
				armError(t, res, http.StatusForbidden, pc.refusal)
				return
			}
			if res.status == http.StatusForbidden || res.status == http.StatusUnauthorized || res.status >= 500 {
				t.Errorf("with every permission: %s %s answered %d: %s", pc.method, pc.path, res.status, res.body)
			}
		})
	}
}

// holds reports whether grants already allow g.
func holds(grants []grant, g grant) bool {
	return slices.ContainsFunc(grants, func(h grant) bool { return h.action == g.action && rbac.ScopeCovers(h.scope, g.scope) })
}

// TestPermissionMatrixCoversEveryRoute checks the router against the table: a route or
// method without a row fails here.
func TestPermissionMatrixCoversEveryRoute(t *testing.T) {
	f := newFixture(t)
	rows := permissionMatrix()
	covered := func(match func(segs []string) bool, method string) bool {
		for _, pc := range rows {
			path, _, _ := strings.Cut(pc.path, "?")
			if pc.method == method && match(strings.Split(strings.Trim(path, "/"), "/")) {
				return true
			}
		}
		return false
	}
	for _, rt := range f.h.table() {
		for method := range rt.methods {
			if !covered(func(segs []string) bool { _, ok := rt.match(segs); return ok }, method) {
				t.Errorf("%s /%s has no row in the permission matrix", method, strings.Join(rt.pattern, "/"))
			}
		}
	}
	for _, rt := range f.h.extensionRoutes() {
		for method := range rt.methods {
			match := func(segs []string) bool {
				_, rest, ok := authorizationPath(segs)
				return ok && strings.EqualFold(rest[0], rt.kind) && (len(rest) == 2) == rt.item
			}
			if !covered(match, method) {
				t.Errorf("%s {scope}/providers/%s/%s (item %v) has no row in the permission matrix", method, authzNamespace, rt.kind, rt.item)
			}
		}
	}
}
