package pgfront

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestLoginWithCertificateUpstream(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	tok := e.bind(role, false)
	c, err := pgx.Connect(context.Background(), e.connString(role, tok, "application_name=pgfront-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	var cur, sess, app string
	var ssl bool
	if err := c.QueryRow(context.Background(), `SELECT current_user, session_user, current_setting('application_name'), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())`).Scan(&cur, &sess, &app, &ssl); err != nil {
		t.Fatal(err)
	}
	if cur != role || sess != role {
		t.Errorf("current_user, session_user = %q, %q; want %q (the role itself, not a SET ROLE)", cur, sess, role)
	}
	if app != "pgfront-test" {
		t.Errorf("application_name = %q: the client's startup parameters did not reach the upstream", app)
	}
	if !ssl {
		t.Error("the upstream connection is not TLS")
	}
	if c.PgConn().PID() == 0 {
		t.Error("no BackendKeyData")
	}
	if got := c.PgConn().ParameterStatus("server_version"); got == "" {
		t.Error("no server_version ParameterStatus relayed")
	}
	if l := e.audit.lastLogin(); !l.Allowed || l.Role != role || l.Database != "postgres" || l.ClientAddress == "" || l.ServerID != e.server.ResourceID {
		t.Errorf("audit login = %+v", l)
	}
	_ = c.Close(context.Background())
	for range 200 {
		if len(e.audit.endsOf(role)) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ends := e.audit.endsOf(role); len(ends) != 1 || ends[0].Forced {
		t.Errorf("session ends = %+v, want one unforced", ends)
	}
}

func TestLoginWithPasswordUpstream(t *testing.T) {
	u, err := startUpstream("password", "password")
	if err != nil {
		t.Fatal(err)
	}
	defer u.stop()
	e := newEnv(t, u, lanyard.UpstreamPassword, nil)
	role := uniqueRole("pwapp")
	tok := e.bind(role, false)
	c := e.mustConnect(role, tok)
	var cur string
	if err := c.QueryRow(context.Background(), `SELECT session_user`).Scan(&cur); err != nil || cur != role {
		t.Fatalf("session_user = %q, %v", cur, err)
	}
	// The verifier Lanyard computed is what the upstream stores: no cleartext went upstream.
	var stored string
	if err := u.superuser(t).QueryRow(context.Background(), `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "SCRAM-SHA-256$4096:") {
		t.Errorf("stored password = %q", stored)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	tok := e.bind(role, false)
	other := e.tokens.issue(newOID())

	t.Run("bad token", func(t *testing.T) {
		_, err := e.connect(role, "not-a-token")
		if pgCode(err) != "28P01" || !strings.Contains(err.Error(), `password authentication failed for user "`+role+`"`) {
			t.Fatalf("err = %v", err)
		}
		if l := e.audit.lastLogin(); l.Allowed || l.Code != "28P01" || !strings.Contains(l.Reason, "does not verify") {
			t.Errorf("audit = %+v", l)
		}
	})
	t.Run("unbound role", func(t *testing.T) {
		_, err := e.connect("nobody_bound", tok)
		if pgCode(err) != "28000" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("another principal's role", func(t *testing.T) {
		_, err := e.connect(role, other)
		if pgCode(err) != "28000" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no TLS", func(t *testing.T) {
		_, err := pgx.Connect(context.Background(), strings.Replace(e.connString(role, tok, ""), "sslmode=require", "sslmode=disable", 1))
		if pgCode(err) != "28000" || !strings.Contains(err.Error(), "TLS is required") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("upstream unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		_ = ln.Close()
		_, port, _ := net.SplitHostPort(dead)
		s := e.server
		s.Upstream = "host=127.0.0.1 port=" + port + " user=lanyard_admin dbname=postgres sslmode=require connect_timeout=2"
		e.f.Sync([]lanyard.PostgresServer{s})
		defer e.f.Sync([]lanyard.PostgresServer{e.server})
		_, err = e.connect(role, tok)
		if pgCode(err) != "08006" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("group binding", func(t *testing.T) {
		oid := newOID()
		groupRole := uniqueRole("grp")
		if _, err := e.dir.CreatePrincipal(context.Background(), e.server.ResourceID, groupRole, oid, lanyard.PostgresGroup, false); err != nil {
			t.Fatal(err)
		}
		_, err := e.connect(groupRole, e.tokens.issue(oid))
		if pgCode(err) != "28000" {
			t.Fatalf("err = %v", err)
		}
	})
}

// A client asking for protocol 3.2 is negotiated down to the upstream session's 3.0.
func TestProtocolNegotiation(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	c, err := pgx.Connect(context.Background(), e.connString(role, e.bind(role, false), "max_protocol_version=3.2"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

func TestDirectTLS(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	tok := e.bind(role, false)
	c, err := pgx.Connect(context.Background(), e.connString(role, tok, "sslnegotiation=direct"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}

	// Direct TLS without ALPN "postgresql" is refused, as PostgreSQL 17 refuses it.
	conn, err := tls.Dial("tcp", e.addr, &tls.Config{RootCAs: testCA.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	if !strings.Contains(string(b), `direct TLS connections must negotiate ALPN "postgresql"`) || b[0] != 'E' {
		t.Errorf("answer = %q", b)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("app")
	c := e.mustConnect(role, e.bind(role, false))
	// The cancel goes on its own connection, with the key the front end gave the client.
	done := make(chan error, 1)
	su := certUpstream(t).superuser(t)
	go func() {
		// Cancel once the upstream runs the query (a bound, not a timing assumption).
		for range 500 {
			var n int
			_ = su.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`, role).Scan(&n)
			if n > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- c.PgConn().CancelRequest(context.Background())
	}()
	_, err := c.Exec(context.Background(), "SELECT pg_sleep(30)")
	if cerr := <-done; cerr != nil {
		t.Fatal(cerr)
	}
	if pgCode(err) != "57014" { // query_canceled: the upstream got the cancel
		t.Fatalf("err = %v, want 57014", err)
	}
	// A wrong key cancels nothing; the session goes on.
	bad, err := (&pgproto3.CancelRequest{ProcessID: c.PgConn().PID(), SecretKey: []byte{1, 2, 3, 4}}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = raw.Write(bad)
	_ = raw.Close()
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

// waitEnded waits until c's session is ended by the front end; the bound is for a broken
// front end, not a timing assertion.
func waitEnded(t *testing.T, c *pgx.Conn) error {
	t.Helper()
	for range 200 {
		if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the session was never ended")
	return nil
}

func TestRecheckEndsSessions(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)

	t.Run("revoked", func(t *testing.T) {
		role := uniqueRole("rev")
		tok := e.bind(role, false)
		c := e.mustConnect(role, tok)
		other := uniqueRole("keep")
		kept := e.mustConnect(other, e.bind(other, false))
		p, _ := e.dir.GetPrincipal(context.Background(), e.server.ResourceID, role)
		e.tokens.revoke(p.ObjectID)
		err := waitEnded(t, c)
		if !strings.Contains(err.Error(), "57P01") && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "closed") {
			t.Logf("ended with %v", err)
		}
		if _, err := kept.Exec(context.Background(), "SELECT 1"); err != nil {
			t.Errorf("another principal's session was ended too: %v", err)
		}
		ends := e.audit.endsOf(role)
		if len(ends) != 1 || !ends[0].Forced || !strings.Contains(ends[0].Reason, "revoked") {
			t.Errorf("ends = %+v", ends)
		}
		if _, err := e.connect(role, tok); pgCode(err) != "28P01" {
			t.Errorf("new login after revocation: %v", err)
		}
	})
	t.Run("binding dropped", func(t *testing.T) {
		role := uniqueRole("drop")
		c := e.mustConnect(role, e.bind(role, false))
		if err := e.dir.DropPrincipal(context.Background(), e.server.ResourceID, role); err != nil {
			t.Fatal(err)
		}
		waitEnded(t, c)
		if ends := e.audit.endsOf(role); len(ends) != 1 || !strings.Contains(ends[0].Reason, "binding was dropped") {
			t.Errorf("ends = %+v", ends)
		}
	})
	t.Run("server removed", func(t *testing.T) {
		role := uniqueRole("gone")
		c := e.mustConnect(role, e.bind(role, false))
		e.f.Sync(nil)
		defer func() {
			e.f.Sync([]lanyard.PostgresServer{e.server})
			e.addr = waitAddr(t, e.f, e.server.ResourceID)
		}()
		waitEnded(t, c)
	})
}

func TestAdminPgaadauth(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	adminRole := uniqueRole("admin")
	admin := e.mustConnect(adminRole, e.bind(adminRole, true))
	ctx := context.Background()
	table := uniqueRole("t")
	if _, err := admin.Exec(ctx, "CREATE TABLE "+table+" (id int, v text)"); err != nil {
		t.Fatal(err)
	}

	app := uniqueRole("gamestore")
	appOID := newOID()
	e.dir.addName(app, appOID)
	var created string
	// Simple protocol: Azure's SQL as users' scripts and psql send it.
	if err := admin.QueryRow(ctx, "  SELECT * from  PGAADAUTH_CREATE_PRINCIPAL('"+app+"', false, false) ; ", pgx.QueryExecModeSimpleProtocol).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if created != "Created role for "+app {
		t.Errorf("answer = %q", created)
	}
	if _, err := admin.Exec(ctx, "GRANT SELECT, INSERT ON "+table+" TO "+app); err != nil {
		t.Fatal(err)
	}
	// The new principal logs in and uses the table.
	c := e.mustConnect(app, e.tokens.issue(appOID))
	if _, err := c.Exec(ctx, "INSERT INTO "+table+" VALUES (1, 'one')"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := c.QueryRow(ctx, "SELECT v FROM "+table+" WHERE id = 1").Scan(&v); err != nil || v != "one" {
		t.Fatalf("v = %q, %v", v, err)
	}

	// Creating it again: Azure refuses, and the session goes on.
	_, err := admin.Exec(ctx, "select * from pgaadauth_create_principal('"+app+"', false, false)", pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "42710" {
		t.Errorf("second create: %v", err)
	}
	// with_oid, then list, with pgx's default extended protocol.
	svc := uniqueRole("svc")
	if err := admin.QueryRow(ctx, "select * from pg_catalog.pgaadauth_create_principal_with_oid('"+svc+"', '"+newOID()+"', 'service', false, false)").Scan(&created); err != nil {
		t.Fatal(err)
	}
	if created != "Created role for "+svc {
		t.Errorf("answer = %q", created)
	}
	rows, err := admin.Query(ctx, "select * from pgaadauth_list_principals(false)")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for rows.Next() {
		var name, typ, oid, tenant string
		var mfa, isAdmin bool
		if err := rows.Scan(&name, &typ, &oid, &tenant, &mfa, &isAdmin); err != nil {
			t.Fatal(err)
		}
		listed[name] = isAdmin
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !listed[adminRole] || listed[app] || len(listed) != 3 {
		t.Errorf("listed = %v", listed)
	}
	if _, err := admin.Exec(ctx, "select * from pgaadauth_create_principal('x', false, true)", pgx.QueryExecModeSimpleProtocol); pgCode(err) != "0A000" {
		t.Errorf("isMfa: %v", err)
	}

	// SECURITY LABEL binds an existing role, never a superuser.
	plain := uniqueRole("plain")
	if _, err := certUpstream(t).superuser(t).Exec(ctx, "CREATE ROLE "+plain+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	plainOID := newOID()
	if _, err := admin.Exec(ctx, `SECURITY LABEL for "pgaadauth" on role "`+plain+`" is 'aadauth,oid=`+plainOID+`,type=service'`, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	pc := e.mustConnect(plain, e.tokens.issue(plainOID))
	if err := pc.QueryRow(ctx, "SELECT session_user").Scan(&v); err != nil || v != plain {
		t.Errorf("labelled role's login: %q, %v", v, err)
	}
	_, err = admin.Exec(ctx, `SECURITY LABEL for pgaadauth on role postgres is 'aadauth,oid=`+newOID()+`,type=user,admin'`, pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "22023" || !strings.Contains(err.Error(), "superuser") {
		t.Errorf("labelling a superuser: %v", err)
	}
	_, err = admin.Exec(ctx, `SECURITY LABEL for pgaadauth on role lanyard_admin is 'aadauth,oid=`+newOID()+`,type=user'`, pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "22023" || !strings.Contains(err.Error(), "manages roles") {
		t.Errorf("labelling the administrator login: %v", err)
	}
	_, err = admin.Exec(ctx, `SECURITY LABEL for pgaadauth on role `+plain+` is 'nonsense'`) // extended protocol: a DO that raises

	if pgCode(err) != "22023" {
		t.Errorf("bad label: %v", err)
	}

	// A non-admin gets what a stock PostgreSQL gives: no such function.
	_, err = c.Exec(ctx, "select * from pgaadauth_create_principal('evil', true, false)", pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "42883" {
		t.Errorf("non-admin: %v", err)
	}
	if _, err := e.dir.GetPrincipal(ctx, e.server.ResourceID, "evil"); !lanyard.IsNotFound(err) {
		t.Error("a non-admin created a principal")
	}
	// The admin's session still works with the extended protocol.
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE id = $1", 1).Scan(&n); err != nil || n != 1 {
		t.Errorf("count = %d, %v", n, err)
	}
}

// rawStartup opens a TLS connection to e and sends a startup message for user.
func rawStartup(t *testing.T, e *env, user string) (*tls.Conn, *pgproto3.Frontend) {
	t.Helper()
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	if _, err := raw.Write(req); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(raw, b); err != nil || b[0] != 'S' {
		t.Fatalf("SSLRequest answer %q, %v", b, err)
	}
	tc := tls.Client(raw, &tls.Config{RootCAs: testCA.Pool(), ServerName: "127.0.0.1"})
	fe := pgproto3.NewFrontend(tc, tc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": user, "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := msg.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("got %T, want a cleartext password request", msg)
	}
	return tc, fe
}

func TestPasswordSizes(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	role := uniqueRole("big")
	tok := e.bind(role, false)
	// A 15 KiB token is accepted.
	big := tok + strings.Repeat("y", 15<<10-len(tok))
	e.tokens.mu.Lock()
	e.tokens.tokens[big] = e.tokens.tokens[tok]
	e.tokens.mu.Unlock()
	c := e.mustConnect(role, big)
	_ = c.Close(context.Background())

	_, fe := rawStartup(t, e, role)
	fe.Send(&pgproto3.PasswordMessage{Password: strings.Repeat("z", 17<<10)})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	er, ok := msg.(*pgproto3.ErrorResponse)
	if !ok || er.Code != "08P01" || er.Severity != "FATAL" || !strings.Contains(er.Message, "16 KiB") {
		t.Fatalf("got %#v", msg)
	}
}

func TestGarbageAndStalls(t *testing.T) {
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, func(c *Config) { c.HandshakeTimeout = 500 * time.Millisecond })
	cases := map[string][]byte{
		"http":          []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"huge length":   {0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0},
		"short length":  {0, 0, 0, 2},
		"bad version":   {0, 0, 0, 8, 0, 9, 0, 0},
		"startup noise": {0, 0, 0, 12, 0, 3, 0, 0, 'u', 's', 0, 1},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = c.Write(b)
			answer, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("the connection was not closed: %v", err)
			}
			if len(answer) == 0 || answer[0] != 'E' || !strings.Contains(string(answer), "08P01") {
				t.Errorf("answer %q is not an ErrorResponse 08P01", answer)
			}
		})
	}
	t.Run("buffer stuffing after SSLRequest", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, _ := (&pgproto3.SSLRequest{}).Encode(nil)
		q, _ := (&pgproto3.Query{String: "SELECT 1"}).Encode(nil)
		_, _ = c.Write(append(req, q...))
		answer, _ := io.ReadAll(c)
		if !strings.Contains(string(answer), "unencrypted data after SSL request") {
			t.Errorf("answer = %q", answer)
		}
	})
	t.Run("stalled before startup", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("a stalled client was not disconnected: %v", err)
		}
	})
	t.Run("stalled at the password", func(t *testing.T) {
		role := uniqueRole("stall")
		e.bind(role, false)
		tc, _ := rawStartup(t, e, role)
		if _, err := io.ReadAll(tc); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("a client stalled at the password was not disconnected: %v", err)
		}
	})
	t.Run("GSSENCRequest then plaintext", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, _ := (&pgproto3.GSSEncRequest{}).Encode(nil)
		_, _ = c.Write(req)
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil || b[0] != 'N' {
			t.Fatalf("GSSENCRequest answer %q, %v", b, err)
		}
	})
}
