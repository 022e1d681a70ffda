package pgfront

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return port
}

func TestSyncServesOthersWhileAnAddressIsTaken(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, func(c *Config) { c.RebindInterval = 50 * time.Millisecond })
	role := uniqueRole("app")
	tok := e.bind(role, false)

	blocker, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	taken := e.server
	taken.ResourceID += "-taken"
	taken.Listen = blocker.Addr().String()
	e.dir.addServer(taken)
	e.f.Sync([]lanyard.PostgresServer{e.server, taken})

	e.mustConnect(role, tok) // the first server keeps serving
	if a := e.f.Addr(taken.ResourceID); a != nil {
		t.Fatalf("bound %v although the address is taken", a)
	}
	_ = blocker.Close()
	addr := waitAddr(t, e.f, taken.ResourceID) // retried
	if addr != taken.Listen {
		t.Errorf("bound %s, want %s", addr, taken.Listen)
	}
	if _, err := e.dir.CreatePrincipal(context.Background(), taken.ResourceID, role, "", "", false); !lanyard.IsConflict(err) {
		t.Fatalf("the role exists upstream, so binding it again must be refused: %v", err)
	}
}

func TestSyncRebindsAChangedAddress(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	tok := e.bind(role, false)
	open := e.mustConnect(role, tok)

	moved := e.server
	moved.Listen = "127.0.0.1:" + freePort(t)
	e.f.Sync([]lanyard.PostgresServer{moved})
	for range 500 {
		if a := e.f.Addr(moved.ResourceID); a != nil && a.String() == moved.Listen {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.addr = moved.Listen
	e.mustConnect(role, tok)
	// A session opened before the move goes on.
	if _, err := open.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Errorf("the open session was ended by the move: %v", err)
	}
}

func TestBindHostOverride(t *testing.T) {
	port := freePort(t)
	var envs []*env
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, func(c *Config) { c.BindHost = host })
		s := e.server
		s.Listen = "127.0.0.1:" + port // the same server address on both nodes
		e.f.Sync([]lanyard.PostgresServer{s})
		for range 500 {
			if a := e.f.Addr(s.ResourceID); a != nil && a.String() == host+":"+port {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if a := e.f.Addr(s.ResourceID); a == nil || a.String() != host+":"+port {
			t.Fatalf("node on %s bound %v", host, a)
		}
		e.addr = host + ":" + port
		envs = append(envs, e)
	}
	role := uniqueRole("app")
	tok := envs[0].bind(role, false)
	p, err := envs[0].dir.GetPrincipal(context.Background(), envs[0].server.ResourceID, role)
	if err != nil {
		t.Fatal(err)
	}
	// The second node knows the same binding (as a shared store would tell it).
	envs[1].dir.mu.Lock()
	envs[1].dir.bindings[[2]string{envs[1].server.ResourceID, role}] = p
	envs[1].dir.mu.Unlock()
	envs[1].tokens.mu.Lock()
	envs[1].tokens.tokens[tok] = envs[0].tokens.tokens[tok]
	envs[1].tokens.mu.Unlock()
	for _, e := range envs {
		c, err := pgx.Connect(context.Background(), e.connString(role, tok, "sslmode=verify-full sslrootcert="+testCAFile))
		if err != nil {
			t.Fatalf("through %s: %v", e.addr, err)
		}
		_ = c.Close(context.Background())
	}
}

func TestCloseEndsEverythingWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	c := e.mustConnect(role, e.bind(role, false))
	admin := uniqueRole("adm")
	ac := e.mustConnect(admin, e.bind(admin, true))
	stalled, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stalled.Close() }()

	if err := e.f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []*pgx.Conn{c, ac} {
		_, err := conn.Exec(context.Background(), "SELECT 1")
		if err == nil {
			t.Error("a session survived Close")
		}
	}
	if ends := e.audit.endsOf(role); len(ends) != 1 || !ends[0].Forced || !strings.Contains(ends[0].Reason, "shutting down") {
		t.Errorf("ends = %+v", ends)
	}
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("still listening after Close")
	}
	_ = c.Close(context.Background())
	_ = ac.Close(context.Background())
	_ = stalled.Close()
	var now int
	for range 200 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Errorf("%d goroutines after Close, %d before:\n%s", now, before, buf[:runtime.Stack(buf, true)])
}

func TestRolesAdminLoginWithCertificate(t *testing.T) {
	u, err := startUpstream("cert", "cert")
	if err != nil {
		t.Fatal(err)
	}
	defer u.stop()
	s := lanyard.PostgresServer{ResourceID: "s", Name: "s", Upstream: u.dsn(), UpstreamAuth: lanyard.UpstreamCert}
	r := &Roles{Certificates: testCA}
	ctx := context.Background()
	role := `Odd "name"; DROP ROLE x`
	if err := r.CreateRole(ctx, s, role, "", true); err != nil {
		t.Fatal(err)
	}
	var createrole, createdb, inUser, inAdmin bool
	err = u.superuser(t).QueryRow(ctx, `SELECT rolcreaterole, rolcreatedb, pg_has_role(oid, 'azure_ad_user', 'MEMBER'), pg_has_role(oid, 'azure_ad_admin', 'MEMBER') FROM pg_roles WHERE rolname = $1`, role).
		Scan(&createrole, &createdb, &inUser, &inAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !createrole || !createdb || !inUser || !inAdmin {
		t.Errorf("createrole %v createdb %v azure_ad_user %v azure_ad_admin %v", createrole, createdb, inUser, inAdmin)
	}
	if err := r.CreateRole(ctx, s, role, "", false); !lanyard.IsConflict(err) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("creating it again: %v", err)
	}
	if err := r.DropRole(ctx, s, role); err != nil {
		t.Fatal(err)
	}
	if err := r.DropRole(ctx, s, role); err != nil {
		t.Errorf("dropping a role already gone: %v", err)
	}
	// Without TLS a certificate login cannot work, and says so.
	s.Upstream = strings.Replace(s.Upstream, "sslmode=require", "sslmode=disable", 1)
	if err := r.CreateRole(ctx, s, "x", "", false); err == nil || !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("without TLS: %v", err)
	}
	// Wrong administrator credentials are an Unavailable error, not a crash.
	s2 := lanyard.PostgresServer{ResourceID: "s2", Name: "s2", Upstream: fmt.Sprintf("host=127.0.0.1 port=%s user=nobody dbname=postgres sslmode=require", u.port)}
	if err := r.CreateRole(ctx, s2, "y", "", false); lanyard.KindOf(err) != lanyard.KindUnavailable {
		t.Errorf("bad admin login: %v", err)
	}
}

func TestMaxConnections(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, func(c *Config) { c.MaxConnections = 1 })
	role := uniqueRole("app")
	tok := e.bind(role, false)
	first := e.mustConnect(role, tok)
	if _, err := e.connect(role, tok); pgCode(err) != "53300" {
		t.Fatalf("a connection over the cap: %v", err)
	}
	_ = first.Close(context.Background())
	for range 200 { // the first session's slot is freed once its relay has ended
		c, err := e.connect(role, tok)
		if err == nil {
			_ = c.Close(context.Background())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the slot of a closed session was never freed")
}
