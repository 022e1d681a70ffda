package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upstream is a throwaway PostgreSQL behind Lanyard's front end, started by
// scripts/pgupstream.sh so the tests leave the machine's own PostgreSQL alone.
type upstream struct {
	dir    string
	script string
	port   string
}

// startUpstream starts an upstream that trusts caFile for client certificates; mode
// ("cert" or "password") is how Lanyard logs in to it.
func startUpstream(t *testing.T, caFile, mode string) *upstream {
	t.Helper()
	// Not t.TempDir(): run as root, the cluster runs as the postgres user, who must reach
	// its folder.
	dir, err := os.MkdirTemp("", "lanyard-pgupstream-")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../scripts/pgupstream.sh")
	out, err := exec.Command("bash", script, "start", dir, caFile, mode).CombinedOutput()
	t.Cleanup(func() {
		_ = exec.Command("bash", script, "stop", dir).Run()
		os.RemoveAll(dir)
	})
	if err != nil {
		t.Fatalf("start upstream PostgreSQL: %v\n%s", err, out)
	}
	u := &upstream{dir: dir, script: script}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "port="); ok {
			u.port = p
		}
	}
	if u.port == "" {
		t.Fatalf("upstream: no port\n%s", out)
	}
	return u
}

// dsn is the upstream's connection string for lanyard_admin (with its password in
// password mode), as the script prints it.
func (u *upstream) dsn(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", u.script, "dsn", u.dir).Output()
	if err != nil {
		t.Fatalf("upstream dsn: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// pgResult is one statement's outcome as the clients print it.
type pgResult struct {
	OK      bool       `json:"ok"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Rows    [][]string `json:"rows"`
}

// pgSeed: an app holding user-assigned identities dbadmin, writer and reader (and id1,
// bound to nothing), and a PostgreSQL server in front of an upstream.
type pgSeed struct {
	*seed
	ids    map[string]map[string]any
	server map[string]any
	host   string
	port   string
}

func pgFlow(t *testing.T, mode string) *pgSeed {
	t.Helper()
	s := &pgSeed{seed: seedFlow(t)}
	s.ids = map[string]map[string]any{"id1": s.user}
	for _, n := range []string{"dbadmin", "writer", "reader"} {
		var id map[string]any
		s.inst.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", n)
		s.ids[n] = id
	}
	s.inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "dbadmin,writer,reader")
	up := startUpstream(t, s.inst.state.CAFile, mode)
	s.inst.cliJSON(t, &s.server, "postgres", "server", "create", "-g", "demo", "-n", "db1", "--upstream", up.dsn(t))
	if s.server["upstreamAuth"] != mode {
		t.Fatalf("upstream auth = %v, want %s", s.server["upstreamAuth"], mode)
	}
	addr, _ := s.server["listenAddress"].(string)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("server listen address %q: %v (%v)", addr, err, s.server)
	}
	if port == "5432" {
		t.Fatalf("the server took 5432, which a local PostgreSQL usually holds")
	}
	s.host, s.port = host, port
	s.inst.cli(t, "postgres", "server", "ad-admin", "create", "-g", "demo", "-s", "db1", "--identity", "dbadmin")
	return s
}

func (s *pgSeed) clientID(who string) string { return s.ids[who]["clientId"].(string) }

// goPG runs the pgx client as identity who, logging in as role, in a fresh process.
func (s *pgSeed) goPG(t *testing.T, who, role string, sqls ...string) []pgResult {
	t.Helper()
	argv := []string{buildClient(t, "gopg"), "-host", s.host, "-port", s.port, "-user", role, "-client-id", s.clientID(who), "-ca", s.inst.state.CAFile}
	for _, q := range sqls {
		argv = append(argv, "-sql", q)
	}
	out, errOut, err := s.runAs(t, argv...)
	return s.results(t, "gopg", out, errOut, err)
}

// nodePG runs the `pg` client as identity who, logging in as role, in a fresh process.
func (s *pgSeed) nodePG(t *testing.T, who, role string, sqls ...string) []pgResult {
	t.Helper()
	requireNode(t)
	argv := []string{"node", filepath.Join(nodeClients, "pg.mjs"), "--host", s.host, "--port", s.port, "--user", role, "--client-id", s.clientID(who), "--ca", s.inst.state.CAFile}
	for _, q := range sqls {
		argv = append(argv, "--sql", q)
	}
	out, errOut, err := s.runAs(t, argv...)
	return s.results(t, "pg.mjs", out, errOut, err)
}

func (s *pgSeed) results(t *testing.T, client, out, errOut string, err error) []pgResult {
	t.Helper()
	var rs []pgResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r pgResult
		if json.Unmarshal([]byte(line), &r) != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s\nserver log:\n%s", client, err, out, errOut, s.inst.stderr)
		}
		rs = append(rs, r)
	}
	return rs
}

// holdPG opens a session as who/role and keeps it open; the channel gets each result line,
// the last one the session's end.
func (s *pgSeed) holdPG(t *testing.T, who, role string) <-chan pgResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, lanyardBin, "--home", s.inst.home, "app", "run", "-g", "demo", "-n", "web", "--",
		buildClient(t, "gopg"), "-host", s.host, "-port", s.port, "-user", role, "-client-id", s.clientID(who), "-ca", s.inst.state.CAFile, "-hold")
	cmd.Env = baseEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	lines := make(chan pgResult, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r pgResult
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				lines <- r
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return lines
}

// awaitHolding waits for the held session to be open.
func awaitHolding(t *testing.T, lines <-chan pgResult) {
	t.Helper()
	select {
	case r, ok := <-lines:
		if !ok || !r.OK || r.Message != "holding" {
			t.Fatalf("held session did not open: %+v", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("held session did not open in a minute")
	}
}

// awaitEnded waits (generously: this is not a timing assertion) for the server to end the
// held session.
func awaitEnded(t *testing.T, what string, lines <-chan pgResult) {
	t.Helper()
	select {
	case r, ok := <-lines:
		if ok && r.OK {
			t.Fatalf("%s: the session went on: %+v", what, r)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s: the open session was not ended", what)
	}
}

func mustOK(t *testing.T, what string, rs []pgResult) []pgResult {
	t.Helper()
	for _, r := range rs {
		if !r.OK {
			t.Fatalf("%s: %+v", what, rs)
		}
	}
	return rs
}

func mustFail(t *testing.T, what, code string, rs []pgResult) {
	t.Helper()
	if len(rs) != 1 || rs[0].OK || rs[0].Code != code {
		t.Fatalf("%s: got %+v, want one failure with SQLSTATE %s", what, rs, code)
	}
}

// TestPostgresPasswordless is the whole flow with unmodified clients: an Entra
// administrator binds a principal with Azure's pgaadauth SQL and grants it a table; the app
// then inserts and selects with pgx (Go), pg (Node) and psql, each with a managed-identity
// token as the password. Principals never bound are refused; revoking, disabling or
// unbinding ends open sessions.
func TestPostgresPasswordless(t *testing.T) {
	for _, mode := range []string{"cert", "password"} {
		t.Run(mode, func(t *testing.T) {
			s := pgFlow(t, mode)
			mustOK(t, "administrator setup", s.goPG(t, "dbadmin", "dbadmin",
				"select * from pgaadauth_create_principal('writer', false, false)",
				"create table items (id int primary key, name text)",
				`grant select, insert on items to "writer"`))

			mustOK(t, "writer inserts (pgx)", s.goPG(t, "writer", "writer", "insert into items values (1, 'one')"))
			rs := mustOK(t, "writer selects (pg)", s.nodePG(t, "writer", "writer", "insert into items values (2, 'two')", "select name from items order by id"))
			if got := fmt.Sprint(rs[1].Rows); got != "[[one] [two]]" {
				t.Fatalf("rows = %s", got)
			}
			if mode == "password" {
				return
			}

			// psql with the token from the CLI, verifying the server against Lanyard's CA.
			tok := strings.TrimSpace(s.inst.cli(t, "token", "get", "-g", "demo", "-n", "web", "--client-id", s.clientID("writer"),
				"--resource", "https://ossrdbms-aad.database.windows.net", "--query", "accessToken", "-o", "tsv"))
			if out := s.psql(t, tok, "writer", "verify-full", "select count(*) from items"); strings.TrimSpace(out) != "2" {
				t.Fatalf("psql count = %q", out)
			}
			storageTok := strings.TrimSpace(s.inst.cli(t, "token", "get", "-g", "demo", "-n", "web", "--client-id", s.clientID("writer"),
				"--resource", "https://storage.azure.com", "--query", "accessToken", "-o", "tsv"))
			if out := s.psql(t, storageTok, "writer", "verify-full", "select 1"); !strings.Contains(out, `password authentication failed for user "writer"`) {
				t.Fatalf("a token for another audience: %q", out)
			}
			if out := s.psql(t, tok, "writer", "disable", "select 1"); !strings.Contains(strings.ToLower(out), "tls") {
				t.Fatalf("no TLS: %q", out)
			}

			// Principals never bound, or bound to another role, are refused.
			mustFail(t, "unbound identity", "28000", s.goPG(t, "id1", "id1", "select 1"))
			mustFail(t, "someone else's role", "28000", s.goPG(t, "id1", "writer", "select 1"))
			if rs := s.goPG(t, "writer", "writer", "select * from pgaadauth_create_principal('reader', false, false)"); len(rs) != 1 || rs[0].OK {
				t.Fatalf("a principal that is not an administrator created a principal: %+v", rs)
			}

			// Revocation ends the open session and refuses the revoked tokens' logins.
			held := s.holdPG(t, "writer", "writer")
			awaitHolding(t, held)
			s.inst.cli(t, "token", "revoke", "--principal", s.clientID("writer"), "--reason", "test")
			awaitEnded(t, "revoked", held)
			if out := s.psql(t, tok, "writer", "verify-full", "select 1"); !strings.Contains(out, `password authentication failed for user "writer"`) {
				t.Fatalf("a revoked token logs in: %q", out)
			}
			// A token issued after the revocation logs in again.
			mustOK(t, "new token after revocation", s.goPG(t, "writer", "writer", "select count(*) from items"))

			// Disabling the identity ends its session; so does dropping its binding.
			s.inst.cli(t, "postgres", "principal", "create", "-g", "demo", "-s", "db1", "--role", "reader")
			held = s.holdPG(t, "reader", "reader")
			awaitHolding(t, held)
			s.inst.cli(t, "identity", "update", "-g", "demo", "-n", "reader", "--enabled", "false")
			awaitEnded(t, "disabled", held)
			s.inst.cli(t, "identity", "update", "-g", "demo", "-n", "reader", "--enabled", "true")
			held = s.holdPG(t, "reader", "reader")
			awaitHolding(t, held)
			s.inst.cli(t, "postgres", "principal", "delete", "-g", "demo", "-s", "db1", "--role", "reader")
			awaitEnded(t, "unbound", held)
			mustFail(t, "unbound principal logs in", "28000", s.goPG(t, "reader", "reader", "select 1"))

			// Every login, allowed or refused with its reason, and every session end is audited.
			for _, q := range [][]string{
				{"--kind", "postgres.login", "--decision", "allowed", "--principal", s.clientID("writer")},
				{"--kind", "postgres.login", "--decision", "denied", "--principal", s.clientID("id1")},
				{"--kind", "postgres.session.ended", "--principal", s.clientID("reader")},
			} {
				var events []map[string]any
				s.inst.cliJSON(t, &events, append([]string{"audit", "list"}, q...)...)
				if len(events) == 0 {
					t.Fatalf("no audit event for %v", q)
				}
				if d, _ := json.Marshal(events[0]["details"]); !strings.Contains(string(d), `"role"`) {
					t.Fatalf("audit event %v names no role: %s", q, d)
				}
			}
		})
	}
}

// psql runs psql with token as the password and returns its combined output.
func (s *pgSeed) psql(t *testing.T, token, role, sslmode, query string) string {
	t.Helper()
	conn := fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=%s sslrootcert=%s", s.host, s.port, role, sslmode, s.inst.state.CAFile)
	cmd := exec.Command("psql", conn, "-Atc", query)
	cmd.Env = append(baseEnv(), "PGPASSWORD="+token)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestPostgresTwoNodes: any node fronts any server. Node 2 binds the servers' ports on
// 127.0.0.2 (postgres.bindHost), so both run on this one machine; a server created through
// node 1 is served by node 2 with no restart, a binding made through one node logs in at
// the other, and a revocation made through node 1 ends a session held on node 2.
func TestPostgresTwoNodes(t *testing.T) {
	c := newClusterWith(t, 2, func(i int, cfg map[string]any) {
		if i == 1 {
			cfg["postgres"] = map[string]string{"bindHost": "127.0.0.2"}
		}
	})
	n1 := c.nodes[0]
	n1.cli(t, "group", "create", "-n", "demo")
	s := &pgSeed{seed: &seed{inst: n1}, ids: map[string]map[string]any{}}
	for _, n := range []string{"dbadmin", "writer"} {
		var id map[string]any
		n1.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", n)
		s.ids[n] = id
	}
	n1.cli(t, "app", "create", "-g", "demo", "-n", "web", "--identities", "dbadmin,writer")
	up := startUpstream(t, n1.state.CAFile, "cert")
	n1.cliJSON(t, &s.server, "postgres", "server", "create", "-g", "demo", "-n", "db1", "--upstream", up.dsn(t))
	addr, _ := s.server["listenAddress"].(string)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	s.port = port
	n1.cli(t, "postgres", "server", "ad-admin", "create", "-g", "demo", "-s", "db1", "--identity", "dbadmin")

	s.host = "127.0.0.2" // node 2
	eventually(t, "node 2 serves the server created through node 1", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(s.host, s.port), time.Second)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
	mustOK(t, "administrator setup through node 2", s.goPG(t, "dbadmin", "dbadmin",
		"select * from pgaadauth_create_principal('writer', false, false)",
		"create table items (id int primary key, name text)",
		`grant select, insert on items to "writer"`))
	s.host = "127.0.0.1" // node 1
	mustOK(t, "writer inserts through node 1", s.goPG(t, "writer", "writer", "insert into items values (1, 'one')"))
	s.host = "127.0.0.2"
	rs := mustOK(t, "writer selects through node 2", s.goPG(t, "writer", "writer", "select name from items"))
	if got := fmt.Sprint(rs[0].Rows); got != "[[one]]" {
		t.Fatalf("rows = %s", got)
	}

	held := s.holdPG(t, "writer", "writer")
	awaitHolding(t, held)
	n1.cli(t, "token", "revoke", "--principal", s.clientID("writer"), "--reason", "test")
	awaitEnded(t, "revoked through node 1, held on node 2", held)
}
