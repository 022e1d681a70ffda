package pgfront

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// psql, the reference client, logs in with a token in PGPASSWORD and sslmode=verify-full
// against Lanyard's CA, and an Entra administrator runs Azure's SQL in it unchanged.
func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	e := newEnv(t, certUpstream(t), lanyard.UpstreamCert, nil)
	host, port, _ := net.SplitHostPort(e.addr)
	run := func(role, tok, sql string) (string, error) {
		cmd := exec.Command(psql, "host="+host+" port="+port+" user="+role+" dbname=postgres sslmode=verify-full sslrootcert="+testCAFile,
			"-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+tok)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	admin := uniqueRole("psqladmin")
	adminTok := e.bind(admin, true)
	app := uniqueRole("psqlapp")
	appOID := newOID()
	e.dir.addName(app, appOID)
	out, err := run(admin, adminTok, "select * from pgaadauth_create_principal('"+app+"', false, false);")
	if err != nil || out != "Created role for "+app {
		t.Fatalf("psql: %q, %v", out, err)
	}
	out, err = run(app, e.tokens.issue(appOID), "select current_user")
	if err != nil || out != app {
		t.Fatalf("psql as the new principal: %q, %v", out, err)
	}
	out, err = run(app, "wrong", "select 1")
	if err == nil || !strings.Contains(out, `password authentication failed for user "`+app+`"`) {
		t.Fatalf("psql with a wrong token: %q, %v", out, err)
	}
}
