package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func newPostgresServer(group, name string, port int) lanyard.PostgresServer {
	return lanyard.PostgresServer{
		ResourceID:             lanyard.ResourceIDOf(subscription, group, lanyard.TypePostgresServer, name),
		ResourceGroup:          group,
		Name:                   name,
		Location:               "northeurope",
		Tags:                   map[string]string{"db": "pg", "name": name},
		Listen:                 fmt.Sprintf("127.0.0.1:%d", port),
		Upstream:               "postgres://lanyard_admin@127.0.0.1:5432/app?sslmode=verify-full",
		UpstreamAuth:           lanyard.UpstreamPassword,
		SealedUpstreamPassword: randomBytes(60),
		CreatedAt:              at(12 * time.Minute),
		UpdatedAt:              at(13 * time.Minute),
	}
}

func normPostgresServer(p lanyard.PostgresServer) lanyard.PostgresServer {
	if len(p.Tags) == 0 {
		p.Tags = nil
	}
	if len(p.SealedUpstreamPassword) == 0 {
		p.SealedUpstreamPassword = nil
	}
	return p
}

func normPostgresPrincipal(p lanyard.PostgresPrincipal) lanyard.PostgresPrincipal {
	if len(p.SealedPassword) == 0 {
		p.SealedPassword = nil
	}
	return p
}

func postgresServerID(p lanyard.PostgresServer) string { return strings.ToLower(p.ResourceID) }
func postgresRole(p lanyard.PostgresPrincipal) string  { return p.Role }

func testPostgresServers(t *testing.T, s store.Store) {
	ctx := t.Context()

	a := newPostgresServer("rg-One", "pg-alpha", 6001)
	b := newPostgresServer("RG-two", "pg-beta", 6002)
	b.UpstreamAuth, b.SealedUpstreamPassword, b.Tags = lanyard.UpstreamCert, nil, nil
	for _, p := range []lanyard.PostgresServer{a, b} {
		must(t, "CreatePostgresServer "+p.Name, s.CreatePostgresServer(ctx, p))
	}
	for _, id := range []string{a.ResourceID, strings.ToUpper(a.ResourceID)} {
		got, err := s.GetPostgresServer(ctx, id)
		must(t, "GetPostgresServer", err)
		same(t, "GetPostgresServer "+id, got, a, normPostgresServer)
	}
	got, err := s.GetPostgresServer(ctx, b.ResourceID)
	must(t, "GetPostgresServer b", err)
	same(t, "GetPostgresServer b", got, b, normPostgresServer)
	// The name alone does not find it in another group.
	_, err = s.GetPostgresServer(ctx, lanyard.ResourceIDOf(subscription, "rg-One", lanyard.TypePostgresServer, "pg-beta"))
	wantNotFound(t, "GetPostgresServer in another group", err)

	dupName := newPostgresServer("rg-Three", "PG-ALPHA", 6003)
	wantCode(t, "CreatePostgresServer with a name taken in another group", s.CreatePostgresServer(ctx, dupName), lanyard.KindConflict, "ServerNameAlreadyExists")
	dupListen := newPostgresServer("rg-One", "pg-gamma", 6002)
	wantCode(t, "CreatePostgresServer with a listen address taken", s.CreatePostgresServer(ctx, dupListen), lanyard.KindConflict, "ListenAddressInUse")

	all, err := s.ListPostgresServers(ctx)
	must(t, "ListPostgresServers", err)
	sameSet(t, "ListPostgresServers", all, []lanyard.PostgresServer{a, b}, normPostgresServer, postgresServerID)

	// Update keeps the listen address unique and cannot rename.
	_, err = s.UpdatePostgresServer(ctx, a.ResourceID, func(p lanyard.PostgresServer) (lanyard.PostgresServer, error) {
		p.Listen = b.Listen
		return p, nil
	})
	wantCode(t, "UpdatePostgresServer onto a taken listen address", err, lanyard.KindConflict, "ListenAddressInUse")
	if _, err := s.UpdatePostgresServer(ctx, a.ResourceID, func(p lanyard.PostgresServer) (lanyard.PostgresServer, error) {
		p.Name = "pg-renamed"
		return p, nil
	}); err == nil {
		t.Error("UpdatePostgresServer renamed the server")
	}
	updated, err := s.UpdatePostgresServer(ctx, strings.ToUpper(a.ResourceID), func(p lanyard.PostgresServer) (lanyard.PostgresServer, error) {
		p.Tags = map[string]string{"new": "tag"}
		p.Listen = "127.0.0.1:6009"
		p.UpdatedAt = at(time.Hour)
		return p, nil
	})
	must(t, "UpdatePostgresServer", err)
	a.Tags, a.Listen, a.UpdatedAt = map[string]string{"new": "tag"}, "127.0.0.1:6009", at(time.Hour)
	same(t, "UpdatePostgresServer", updated, a, normPostgresServer)
	// The old address is free again.
	c := newPostgresServer("rg-One", "pg-gamma", 6001)
	must(t, "CreatePostgresServer on a freed address", s.CreatePostgresServer(ctx, c))
	_, err = s.UpdatePostgresServer(ctx, lanyard.ResourceIDOf(subscription, "rg-One", lanyard.TypePostgresServer, "missing"),
		func(p lanyard.PostgresServer) (lanyard.PostgresServer, error) { return p, nil })
	wantNotFound(t, "UpdatePostgresServer of a missing server", err)

	// Principals.
	admin := lanyard.PostgresPrincipal{ServerID: a.ResourceID, Role: "app-admins", ObjectID: guid(), Type: lanyard.PostgresService,
		Admin: true, SealedPassword: randomBytes(48), CreatedAt: at(14 * time.Minute)}
	user := lanyard.PostgresPrincipal{ServerID: a.ResourceID, Role: "Mary@contoso.com", ObjectID: guid(), Type: lanyard.PostgresUser, CreatedAt: at(15 * time.Minute)}
	lower := user // the same role in another case is another role
	lower.Role, lower.ObjectID = "mary@contoso.com", guid()
	for _, p := range []lanyard.PostgresPrincipal{admin, user, lower} {
		must(t, "CreatePostgresPrincipal "+p.Role, s.CreatePostgresPrincipal(ctx, p))
	}
	onB := user // the same role on another server
	onB.ServerID = b.ResourceID
	must(t, "CreatePostgresPrincipal on another server", s.CreatePostgresPrincipal(ctx, onB))

	dup := user
	dup.ObjectID = guid()
	wantConflict(t, "CreatePostgresPrincipal of a bound role", s.CreatePostgresPrincipal(ctx, dup))
	twice := admin
	twice.Role, twice.ObjectID = "other-admin-role", strings.ToUpper(admin.ObjectID)
	wantConflict(t, "CreatePostgresPrincipal of an administrator twice", s.CreatePostgresPrincipal(ctx, twice))
	twice.Admin = false // the same object id may hold other, non-admin roles
	must(t, "CreatePostgresPrincipal of an admin's object id as a plain role", s.CreatePostgresPrincipal(ctx, twice))
	missing := user
	missing.ServerID = lanyard.ResourceIDOf(subscription, "rg-One", lanyard.TypePostgresServer, "missing")
	wantNotFound(t, "CreatePostgresPrincipal on a missing server", s.CreatePostgresPrincipal(ctx, missing))

	gotP, err := s.GetPostgresPrincipal(ctx, strings.ToUpper(a.ResourceID), "app-admins")
	must(t, "GetPostgresPrincipal", err)
	same(t, "GetPostgresPrincipal", gotP, admin, normPostgresPrincipal)
	gotP, err = s.GetPostgresPrincipal(ctx, a.ResourceID, "mary@contoso.com")
	must(t, "GetPostgresPrincipal lower", err)
	same(t, "GetPostgresPrincipal lower", gotP, lower, normPostgresPrincipal)
	_, err = s.GetPostgresPrincipal(ctx, a.ResourceID, "APP-ADMINS")
	wantNotFound(t, "GetPostgresPrincipal in another case", err)
	_, err = s.GetPostgresPrincipal(ctx, c.ResourceID, "app-admins")
	wantNotFound(t, "GetPostgresPrincipal on another server", err)

	list, err := s.ListPostgresPrincipals(ctx, a.ResourceID)
	must(t, "ListPostgresPrincipals", err)
	sameSet(t, "ListPostgresPrincipals", list, []lanyard.PostgresPrincipal{admin, user, lower, twice}, normPostgresPrincipal, postgresRole)
	for i := 1; i < len(list); i++ {
		if list[i-1].Role >= list[i].Role {
			t.Errorf("ListPostgresPrincipals not ordered bytewise by role: %q before %q", list[i-1].Role, list[i].Role)
		}
	}
	if list, err := s.ListPostgresPrincipals(ctx, missing.ServerID); err != nil || len(list) != 0 {
		t.Errorf("ListPostgresPrincipals of a missing server = %v, %v; want none", list, err)
	}

	wantNotFound(t, "DeletePostgresPrincipal in another case", s.DeletePostgresPrincipal(ctx, a.ResourceID, "MARY@CONTOSO.COM"))
	must(t, "DeletePostgresPrincipal", s.DeletePostgresPrincipal(ctx, a.ResourceID, "Mary@contoso.com"))
	wantNotFound(t, "DeletePostgresPrincipal twice", s.DeletePostgresPrincipal(ctx, a.ResourceID, "Mary@contoso.com"))
	if _, err := s.GetPostgresPrincipal(ctx, a.ResourceID, "mary@contoso.com"); err != nil {
		t.Errorf("the other case's role went with it: %v", err)
	}

	// Deleting a server deletes its principals; a server re-created under its id has none.
	must(t, "DeletePostgresServer", s.DeletePostgresServer(ctx, strings.ToUpper(a.ResourceID)))
	wantNotFound(t, "DeletePostgresServer twice", s.DeletePostgresServer(ctx, a.ResourceID))
	_, err = s.GetPostgresServer(ctx, a.ResourceID)
	wantNotFound(t, "GetPostgresServer after delete", err)
	_, err = s.GetPostgresPrincipal(ctx, a.ResourceID, "app-admins")
	wantNotFound(t, "GetPostgresPrincipal after the server's delete", err)
	a.Listen = "127.0.0.1:6010"
	must(t, "CreatePostgresServer again", s.CreatePostgresServer(ctx, a))
	if list, err := s.ListPostgresPrincipals(ctx, a.ResourceID); err != nil || len(list) != 0 {
		t.Errorf("ListPostgresPrincipals of a re-created server = %v, %v; want none", list, err)
	}
	if list, err := s.ListPostgresPrincipals(ctx, b.ResourceID); err != nil || len(list) != 1 {
		t.Errorf("ListPostgresPrincipals of the other server = %v, %v; want its one", list, err)
	}

	// In a transaction, a rolled-back create leaves nothing.
	d := newPostgresServer("rg-One", "pg-delta", 6011)
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreatePostgresServer(ctx, d); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("InTx: want the function's error")
	}
	_, err = s.GetPostgresServer(ctx, d.ResourceID)
	wantNotFound(t, "GetPostgresServer after a rolled-back create", err)
}

func testPostgresServerPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []lanyard.PostgresServer
	for i := range 22 {
		p := newPostgresServer(pageGroups[i%len(pageGroups)], mixedCase(fmt.Sprintf("pg%02d", i), i/3), 7000+i)
		must(t, "CreatePostgresServer", s.CreatePostgresServer(ctx, p))
		all = append(all, p)
	}
	p := pages[lanyard.PostgresServer]{
		name: "ListPostgresServersPage",
		list: func(group, after string, limit int) ([]lanyard.PostgresServer, error) {
			return s.ListPostgresServersPage(ctx, group, after, limit)
		},
		key:  func(p lanyard.PostgresServer) string { return p.ResourceID },
		id:   postgresServerID,
		norm: normPostgresServer,
	}
	p.check(t, byGroup(all, func(p lanyard.PostgresServer) string { return p.ResourceGroup }))
	last, first := newPostgresServer("rg-Three", "zzlast", 7100), newPostgresServer("rg-One", "aafirst", 7101)
	p.whileChanging(t, all,
		func(v lanyard.PostgresServer) error { return s.DeletePostgresServer(ctx, v.ResourceID) },
		func(v lanyard.PostgresServer) error { return s.CreatePostgresServer(ctx, v) }, last, first)
}
