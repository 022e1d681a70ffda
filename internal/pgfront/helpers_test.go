package pgfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/pki"
	"github.com/lanyard-id/lanyard/internal/token"
)

// upstream is a throwaway PostgreSQL cluster started with scripts/pgupstream.sh.
type upstream struct {
	dir           string
	port          string
	adminPassword string
}

var (
	testCA     *pki.CA
	testCAFile string

	sharedOnce     sync.Once
	sharedUpstream *upstream
	sharedErr      error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	caDir, err := os.MkdirTemp("", "pgfront-ca-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(caDir) }()
	if testCA, err = pki.LoadOrCreateCA(caDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testCAFile = filepath.Join(caDir, pki.CACertFile)
	defer func() {
		if sharedUpstream != nil {
			sharedUpstream.stop()
		}
	}()
	return m.Run()
}

// certUpstream is the cluster most tests share, started by the first that needs it (the
// fuzzers' worker processes never do).
func certUpstream(t testing.TB) *upstream {
	t.Helper()
	sharedOnce.Do(func() { sharedUpstream, sharedErr = startUpstream("cert", "password") })
	if sharedErr != nil {
		t.Fatalf("starting the upstream PostgreSQL: %v", sharedErr)
	}
	return sharedUpstream
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startUpstream starts a cluster whose bound roles log in by mode ("cert" or "password")
// and whose lanyard_admin by adminMode (scripts/pgupstream.sh's third and fourth arguments).
func startUpstream(mode, adminMode string) (*upstream, error) {
	dir, err := os.MkdirTemp("", "pgfront-upstream-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "pgupstream.sh"), "start", dir, testCAFile, mode, adminMode).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	u := &upstream{dir: dir}
	for line := range strings.SplitSeq(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "port="); ok {
			u.port = strings.TrimSpace(p)
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "admin-password"))
	if err != nil {
		u.stop()
		return nil, err
	}
	u.adminPassword = strings.TrimSpace(string(pw))
	return u, nil
}

func (u *upstream) stop() {
	_ = exec.Command("bash", filepath.Join(repoRoot(), "scripts", "pgupstream.sh"), "stop", u.dir).Run()
	_ = os.RemoveAll(u.dir)
}

func (u *upstream) dsn() string {
	return fmt.Sprintf("host=127.0.0.1 port=%s user=lanyard_admin dbname=postgres sslmode=require", u.port)
}

// superuser opens a connection as postgres over the cluster's unix socket, for checks.
func (u *upstream) superuser(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", u.dir, u.port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// fakeTokens maps raw tokens to claims; revoked principals fail Check.
type fakeTokens struct {
	mu      sync.Mutex
	tokens  map[string]token.Claims
	revoked map[string]bool
}

func newFakeTokens() *fakeTokens {
	return &fakeTokens{tokens: map[string]token.Claims{}, revoked: map[string]bool{}}
}

// issue returns a token for principal oid, padded to a realistic size.
func (ft *fakeTokens) issue(oid string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	raw := "eyJ0eXAiOiJKV1Qi." + hex.EncodeToString(b) + "." + strings.Repeat("x", 3000)
	ft.mu.Lock()
	ft.tokens[raw] = token.Claims{ObjectID: oid, UTI: hex.EncodeToString(b[:8]), TenantID: "tenant-1", IssuedAt: time.Now(), Audience: lanyard.OSSRDBMSResource}
	ft.mu.Unlock()
	return raw
}

func (ft *fakeTokens) revoke(oid string) {
	ft.mu.Lock()
	ft.revoked[oid] = true
	ft.mu.Unlock()
}

func (ft *fakeTokens) Authenticate(_ context.Context, raw string) (token.Claims, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	c, ok := ft.tokens[raw]
	if !ok {
		return token.Claims{}, lanyard.Errorf(lanyard.KindUnauthenticated, "The token does not verify.")
	}
	if ft.revoked[c.ObjectID] {
		return token.Claims{}, lanyard.Errorf(lanyard.KindUnauthenticated, "The token was revoked.")
	}
	return c, nil
}

func (ft *fakeTokens) Check(_ context.Context, c token.Claims) error {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.revoked[c.ObjectID] {
		return lanyard.Errorf(lanyard.KindUnauthenticated, "The token was revoked.")
	}
	return nil
}

// fakeDirectory keeps bindings in memory and creates roles through Roles, as
// internal/directory does.
type fakeDirectory struct {
	mu       sync.Mutex
	servers  map[string]lanyard.PostgresServer
	bindings map[[2]string]lanyard.PostgresPrincipal
	names    map[string]string // principal name -> object id
	roles    *Roles
}

func newFakeDirectory() *fakeDirectory {
	d := &fakeDirectory{servers: map[string]lanyard.PostgresServer{}, bindings: map[[2]string]lanyard.PostgresPrincipal{}, names: map[string]string{}}
	d.roles = &Roles{Certificates: testCA, Unsealer: d}
	return d
}

func (d *fakeDirectory) addServer(s lanyard.PostgresServer) {
	d.mu.Lock()
	d.servers[s.ResourceID] = s
	d.mu.Unlock()
}

func (d *fakeDirectory) addName(name, oid string) {
	d.mu.Lock()
	d.names[name] = oid
	d.mu.Unlock()
}

func (d *fakeDirectory) GetPrincipal(_ context.Context, serverID, role string) (lanyard.PostgresPrincipal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.bindings[[2]string{serverID, role}]
	if !ok {
		return p, lanyard.Errorf(lanyard.KindNotFound, "role %q is not bound", role)
	}
	return p, nil
}

func (d *fakeDirectory) CreatePrincipal(ctx context.Context, serverID, role, objectID string, typ lanyard.PostgresPrincipalType, admin bool) (lanyard.PostgresPrincipal, error) {
	d.mu.Lock()
	s, ok := d.servers[serverID]
	if objectID == "" {
		objectID = d.names[role]
		typ = lanyard.PostgresService
	}
	_, bound := d.bindings[[2]string{serverID, role}]
	d.mu.Unlock()
	switch {
	case !ok:
		return lanyard.PostgresPrincipal{}, lanyard.Errorf(lanyard.KindNotFound, "no server %s", serverID)
	case objectID == "":
		return lanyard.PostgresPrincipal{}, lanyard.Errorf(lanyard.KindNotFound, "no principal named %q", role)
	case bound:
		return lanyard.PostgresPrincipal{}, lanyard.Errorf(lanyard.KindConflict, "role %q is bound already", role)
	}
	p := lanyard.PostgresPrincipal{ServerID: serverID, Role: role, ObjectID: objectID, Type: typ, Admin: admin}
	var password string
	if s.UpstreamAuth == lanyard.UpstreamPassword {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		password = hex.EncodeToString(b)
		p.SealedPassword = []byte("sealed:" + password)
	}
	if err := d.roles.CreateRole(ctx, s, role, password, admin); err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	d.mu.Lock()
	d.bindings[[2]string{serverID, role}] = p
	d.mu.Unlock()
	return p, nil
}

func (d *fakeDirectory) DropPrincipal(ctx context.Context, serverID, role string) error {
	d.mu.Lock()
	s := d.servers[serverID]
	delete(d.bindings, [2]string{serverID, role})
	d.mu.Unlock()
	return d.roles.DropRole(ctx, s, role)
}

func (d *fakeDirectory) ListPrincipals(_ context.Context, serverID string) ([]lanyard.PostgresPrincipal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []lanyard.PostgresPrincipal
	for k, p := range d.bindings {
		if k[0] == serverID {
			out = append(out, p)
		}
	}
	return out, nil
}

func (d *fakeDirectory) Unseal(_ context.Context, sealed []byte) ([]byte, error) {
	pw, ok := bytes.CutPrefix(sealed, []byte("sealed:"))
	if !ok {
		return nil, fmt.Errorf("not sealed by the fake")
	}
	return pw, nil
}

// fakeAudit keeps what is recorded.
type fakeAudit struct {
	mu     sync.Mutex
	logins []Login
	ends   []SessionEnd
}

func (a *fakeAudit) Login(_ context.Context, l Login) error {
	a.mu.Lock()
	a.logins = append(a.logins, l)
	a.mu.Unlock()
	return nil
}

func (a *fakeAudit) SessionEnded(_ context.Context, e SessionEnd) {
	a.mu.Lock()
	a.ends = append(a.ends, e)
	a.mu.Unlock()
}

func (a *fakeAudit) lastLogin() Login {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.logins) == 0 {
		return Login{}
	}
	return a.logins[len(a.logins)-1]
}

func (a *fakeAudit) endsOf(role string) []SessionEnd {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []SessionEnd
	for _, e := range a.ends {
		if e.Role == role {
			out = append(out, e)
		}
	}
	return out
}

// env is a Frontend serving one server in front of an upstream.
type env struct {
	t      testing.TB
	f      *Frontend
	dir    *fakeDirectory
	tokens *fakeTokens
	audit  *fakeAudit
	server lanyard.PostgresServer
	addr   string
}

var serverSeq struct {
	sync.Mutex
	n int
}

func newEnv(t testing.TB, u *upstream, auth lanyard.PostgresUpstreamAuth, tweak func(*Config)) *env {
	t.Helper()
	serverSeq.Lock()
	serverSeq.n++
	n := serverSeq.n
	serverSeq.Unlock()
	e := &env{t: t, dir: newFakeDirectory(), tokens: newFakeTokens(), audit: &fakeAudit{}}
	e.server = lanyard.PostgresServer{
		ResourceID: fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg%d", n),
		Name:       fmt.Sprintf("pg%d", n), Listen: "127.0.0.1:0", Upstream: u.dsn(), UpstreamAuth: auth,
		SealedUpstreamPassword: []byte("sealed:" + u.adminPassword),
	}
	e.dir.addServer(e.server)
	cfg := Config{Directory: e.dir, Tokens: e.tokens, Certificates: testCA, Audit: e.audit, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if tweak != nil {
		tweak(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.f = f
	t.Cleanup(func() { _ = f.Close() })
	f.Sync([]lanyard.PostgresServer{e.server})
	e.addr = waitAddr(t, f, e.server.ResourceID)
	return e
}

func waitAddr(t testing.TB, f *Frontend, id string) string {
	t.Helper()
	for range 500 {
		if a := f.Addr(id); a != nil {
			return a.String()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server %s was never bound", id)
	return ""
}

// bind creates role upstream and binds it to a new principal; it returns a token of that
// principal.
func (e *env) bind(role string, admin bool) string {
	e.t.Helper()
	oid := newOID()
	e.dir.addName(role, oid)
	if _, err := e.dir.CreatePrincipal(context.Background(), e.server.ResourceID, role, oid, lanyard.PostgresService, admin); err != nil {
		e.t.Fatal(err)
	}
	return e.tokens.issue(oid)
}

func newOID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (e *env) connString(user, password, extra string) string {
	host, port, _ := net.SplitHostPort(e.addr)
	return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=postgres sslmode=require %s", host, port, user, password, extra)
}

func (e *env) connect(user, password string) (*pgx.Conn, error) {
	return pgx.Connect(context.Background(), e.connString(user, password, ""))
}

func (e *env) mustConnect(user, password string) *pgx.Conn {
	e.t.Helper()
	c, err := e.connect(user, password)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// uniqueRole returns a role name unused in the shared upstream.
func uniqueRole(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}
