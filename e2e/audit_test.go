package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	blobWrite = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	blobAdd   = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
)

var builtClients = map[string]string{}

// buildClient builds e2e/clients/NAME once per test binary.
func buildClient(t *testing.T, name string) string {
	t.Helper()
	if p, ok := builtClients[name]; ok {
		return p
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./clients/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	builtClients[name] = out
	return out
}

// auditSeed: an app with three user-assigned identities (owner, writer, reader), an
// account with a container, writer and owner holding Storage Blob Data Contributor and
// reader Storage Blob Data Reader on the account, and the app's environment.
type auditSeed struct {
	inst       *instance
	sink       string
	ids        map[string]map[string]any
	account    string // ARM id
	accountURL string
	writerRole string // the writer's assignment id
	env        []string
}

func auditFlow(t *testing.T, extra ...string) *auditSeed {
	t.Helper()
	s := &auditSeed{sink: filepath.Join(t.TempDir(), "audit", "audit.jsonl"), ids: map[string]map[string]any{}}
	if err := os.Mkdir(filepath.Dir(s.sink), 0o700); err != nil {
		t.Fatal(err)
	}
	s.inst = up(t, append([]string{"--audit-file", s.sink}, extra...)...)
	s.setup(t)
	return s
}

func (s *auditSeed) setup(t *testing.T) {
	t.Helper()
	inst := s.inst
	inst.cli(t, "group", "create", "-n", "demo")
	for _, n := range []string{"owner", "writer", "reader"} {
		var id map[string]any
		inst.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", n)
		s.ids[n] = id
	}
	inst.cli(t, "app", "create", "-g", "demo", "-n", "web")
	inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "owner,writer,reader")
	var acct map[string]any
	inst.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	s.account, s.accountURL = acct["id"].(string), inst.state.BlobURL+"/acct1"
	assign := func(who, role string) string {
		var a map[string]any
		inst.cliJSON(t, &a, "role", "assignment", "create", "--assignee", s.clientID(who), "--role", role, "--scope", s.account)
		return a["name"].(string)
	}
	assign("owner", contributor)
	s.writerRole = assign("writer", contributor)
	assign("reader", "Storage Blob Data Reader")
	s.refreshEnv(t)
	if r := s.blob(t, "owner", "-op", "create-container", "-container", "data"); !r.OK {
		t.Fatalf("create container: %+v\n%s", r, inst.stderr)
	}
}

// refreshEnv reads the app's environment (the endpoint moves when the server restarts).
func (s *auditSeed) refreshEnv(t *testing.T) {
	s.env = nil
	for k, v := range s.inst.appEnv(t, "demo", "web") {
		s.env = append(s.env, k+"="+v)
	}
}

func (s *auditSeed) clientID(who string) string    { return s.ids[who]["clientId"].(string) }
func (s *auditSeed) principalID(who string) string { return s.ids[who]["principalId"].(string) }

// run runs a client as the app, with its environment, in a fresh process.
func (s *auditSeed) run(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = baseEnv(s.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (s *auditSeed) blob(t *testing.T, who string, args ...string) blobResult {
	t.Helper()
	out, errOut, err := s.run(t, buildGoblob(t), append([]string{"-account-url", s.accountURL, "-client-id", s.clientID(who)}, args...)...)
	var res blobResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("goblob %v: %v (%v)\nstdout: %s\nstderr: %s\nserver log:\n%s", args, err, jerr, out, errOut, s.inst.stderr)
	}
	return res
}

// events lists audit events with the CLI, waiting (the trail is written off the request
// path) until there are want of them.
func (s *auditSeed) events(t *testing.T, want int, args ...string) []map[string]any {
	t.Helper()
	var got []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = nil
		s.inst.cliJSON(t, &got, append([]string{"audit", "list"}, args...)...)
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != want {
		t.Fatalf("audit list %v: %d events, want %d:\n%s", args, len(got), want, dump(got))
	}
	return got
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func detail(e map[string]any) map[string]any {
	d, _ := e["details"].(map[string]any)
	return d
}

// wantFields checks fields of an event and of its details (keys "details.x").
func wantFields(t *testing.T, i int, e map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got := e[k]
		if name, ok := strings.CutPrefix(k, "details."); ok {
			got = detail(e)[name]
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("event %d (%v): %s = %v, want %v\n%s", i, e["kind"], k, got, v, dump(e))
		}
	}
}

// The scripted sequence: issue a token, an allowed upload, a denied upload, a role change
// and a revocation. `lanyard audit list` shows exactly those events with the right
// fields, the JSON-lines sink holds the same, the denial carries `lanyard role check`'s
// explanation, the filters select, the chain verifies, and the metrics moved.
func TestAuditTrail(t *testing.T) {
	s := auditFlow(t)
	before := scrape(t, s.inst)
	mark := time.Now().UTC().Format(time.RFC3339Nano)

	// 1. issue a token (the writer's, for Storage).
	out, errOut, err := s.run(t, gotokenBin, "-resource", storage, "-client-id", s.clientID("writer"))
	if err != nil {
		t.Fatalf("gotoken: %v\n%s", err, errOut)
	}
	var tok goResult
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	uti := tok.Claims["uti"].(string)
	// 2. an allowed upload, with the same token from the endpoint's cache.
	if r := s.blob(t, "writer", "-op", "put", "-container", "data", "-blob", "hello.txt", "-data", "hi"); !r.OK {
		t.Fatalf("allowed upload: %+v", r)
	}
	// 3. a denied upload: the reader may only read.
	denied(t, "reader upload", s.blob(t, "reader", "-op", "put", "-container", "data", "-blob", "nope.txt"))
	// 4. a role change.
	s.inst.cli(t, "role", "assignment", "delete", "--ids", s.account+"/providers/Microsoft.Authorization/roleAssignments/"+s.writerRole)
	// 5. a revocation.
	s.inst.cli(t, "token", "revoke", "--uti", uti, "--reason", "scripted")

	events := s.events(t, 8, "--since", mark)
	// Events are stamped when recorded, so everything of the setup is before the mark.
	var head []map[string]any
	s.inst.cliJSON(t, &head, "audit", "list", "--until", mark)
	markSeq := head[len(head)-1]["seq"].(float64)
	blobScope := s.account + "/blobServices/default/containers/data/blobs/"
	writer, reader := s.principalID("writer"), s.principalID("reader")
	app := s.ids["owner"]["id"].(string)
	app = app[:strings.Index(app, "/providers/")] + "/providers/Microsoft.Web/sites/web"
	want := []map[string]any{
		{"kind": "token.issued", "principalId": writer, "clientId": s.clientID("writer"), "action": storage, "uti": uti,
			"details.cached": false, "details.protocol": "appservice", "details.resource": storage, "details.app": app,
			"details.identityResourceId": s.ids["writer"]["id"]},
		{"kind": "token.issued", "principalId": writer, "uti": uti, "details.cached": true},
		{"kind": "access.decision", "principalId": writer, "action": blobWrite, "decision": "allowed", "uti": uti,
			"details.service": "blob", "details.operation": "PutBlob", "details.scope": blobScope + "hello.txt",
			"details.roleName": contributor, "details.assignmentId": s.writerRole},
		{"kind": "token.issued", "principalId": reader, "details.cached": false},
		{"kind": "access.decision", "principalId": reader, "action": blobWrite, "decision": "denied", "details.scope": blobScope + "nope.txt"},
		{"kind": "access.decision", "principalId": reader, "action": blobAdd, "decision": "denied"},
		{"kind": "management.change", "principalId": writer, "action": "Microsoft.Authorization/roleAssignments/delete",
			"details.operation": "delete", "details.method": "DELETE"},
		{"kind": "management.change", "principalId": writer, "uti": uti, "action": "Lanyard.Authority/revocations/write",
			"details.operation": "create"},
	}
	for i, w := range want {
		wantFields(t, i, events[i], w)
		if events[i]["seq"].(float64) != markSeq+float64(i+1) {
			t.Errorf("event %d has seq %v, want %v", i, events[i]["seq"], markSeq+float64(i+1))
		}
		if id, _ := events[i]["requestId"].(string); !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
			t.Errorf("event %d: request id %q is not a UUID", i, id)
		}
	}
	if d := detail(events[0]); d["expiresAt"] == nil || !strings.HasPrefix(d["callerAddress"].(string), "127.0.0.1:") {
		t.Errorf("token event lacks expiry or caller: %v", d)
	}
	// One request, one id: both decisions of the denied upload share it; requests differ.
	if events[4]["requestId"] != events[5]["requestId"] || events[2]["requestId"] == events[4]["requestId"] {
		t.Errorf("request ids: allowed %v, denied %v and %v", events[2]["requestId"], events[4]["requestId"], events[5]["requestId"])
	}
	ra, _ := detail(events[6])["roleAssignment"].(map[string]any)
	if ra["roleName"] != contributor || ra["principalId"] != writer || !strings.EqualFold(ra["scope"].(string), s.account) {
		t.Errorf("role change details: %v", ra)
	}
	if c, _ := detail(events[6])["caller"].(map[string]any); c["admin"] != true {
		t.Errorf("role change caller: %v, want the admin", c)
	}
	rev, _ := detail(events[7])["revocation"].(map[string]any)
	if rev["uti"] != uti || rev["principalId"] != writer {
		t.Errorf("revocation details: %v", rev)
	}

	// The denial carries what `lanyard role check` says, and `audit explain` prints it.
	check := s.inst.roleCheck(t, "--assignee", s.clientID("reader"), "--action", blobWrite, "--scope", blobScope+"nope.txt")
	explanation := check["explanation"].(string)
	if !strings.Contains(explanation, "Storage Blob Data Reader") || detail(events[4])["explanation"] != explanation {
		t.Errorf("denial explanation:\n%v\nrole check:\n%v", detail(events[4])["explanation"], explanation)
	}
	if near, _ := detail(events[4])["closestAssignments"].([]any); len(near) == 0 {
		t.Errorf("denial names no closest assignment: %v", detail(events[4]))
	}
	text := s.inst.cli(t, "audit", "explain", events[4]["id"].(string))
	if !strings.Contains(text, explanation) || !strings.Contains(text, events[4]["requestId"].(string)) {
		t.Errorf("audit explain printed:\n%s\nwant the role check explanation:\n%s", text, explanation)
	}

	// Filters.
	s.events(t, 5, "--since", mark, "--principal", s.clientID("writer"))
	s.events(t, 2, "--since", mark, "--decision", "denied")
	s.events(t, 2, "--since", mark, "--action", "*/blobs/write")
	s.events(t, 3, "--since", mark, "--kind", "token.issued")
	s.events(t, 1, "--since", mark, "--kind", "token.issued", "--limit", "1")
	s.events(t, 4, "--since", mark, "--uti", uti)
	s.events(t, 1, "--until", mark, "--kind", "token.issued") // the owner's, in the setup

	// The sink holds the same events, byte for byte as the API returns them.
	lines := sinkEvents(t, s.sink)
	var fromSink []map[string]any
	for _, e := range lines {
		if e["seq"].(float64) > markSeq {
			fromSink = append(fromSink, e)
		}
	}
	if !reflect.DeepEqual(fromSink, events) {
		t.Errorf("the sink's events differ from audit list's:\nsink %s\nlist %s", dump(fromSink), dump(events))
	}
	var rep map[string]any
	s.inst.cliJSON(t, &rep, "audit", "verify")
	if rep["ok"] != true {
		t.Errorf("audit verify: %v", rep)
	}
	s.inst.cliJSON(t, &rep, "audit", "verify", "--file", s.sink)
	if rep["ok"] != true || rep["checked"].(float64) != float64(len(lines)) {
		t.Errorf("audit verify --file: %v", rep)
	}

	// The x-ms-request-id a caller sees is the requestId of the event its request caused.
	vars := map[string]string{}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	req, err := http.NewRequest("GET", vars["IDENTITY_ENDPOINT"]+"?api-version=2019-08-01&resource="+storage+"&client_id="+s.clientID("reader"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-IDENTITY-HEADER", vars["IDENTITY_HEADER"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rid := resp.Header.Get("x-ms-request-id")
	last := s.events(t, 9, "--since", mark)[8]
	if rid == "" || last["requestId"] != rid || last["kind"] != "token.issued" {
		t.Errorf("x-ms-request-id %q, event %v", rid, last)
	}

	// The metrics moved with the sequence.
	after := scrape(t, s.inst)
	for _, m := range []struct {
		series string
		delta  float64
	}{
		{`lanyard_tokens_issued_total{cached="false",protocol="appservice"}`, 2},
		{`lanyard_tokens_issued_total{cached="true",protocol="appservice"}`, 2},
		{`lanyard_access_decisions_total{result="allowed",service="blob"}`, 1},
		{`lanyard_access_decisions_total{result="denied",service="blob"}`, 2},
		{`lanyard_request_duration_seconds_count{operation="PutBlob",service="blob"}`, 2},
		{`lanyard_request_duration_seconds_count{operation="appservice",service="msi"}`, 4},
		{`lanyard_revocations`, 1},
	} {
		if d := after[m.series] - before[m.series]; d != m.delta {
			t.Errorf("%s moved by %v, want %v", m.series, d, m.delta)
		}
	}
	if d := after["lanyard_audit_events_written_total"] - before["lanyard_audit_events_written_total"]; d < 9 {
		t.Errorf("audit events written moved by %v, want at least 9", d)
	}
	for _, series := range []string{"lanyard_audit_queue_depth", "lanyard_audit_events_dropped_total", "lanyard_signing_key_age_seconds", "lanyard_audit_healthy"} {
		if _, ok := after[series]; !ok {
			t.Errorf("metric %s is missing", series)
		}
	}
	if after["lanyard_audit_events_dropped_total"] != 0 || after["lanyard_audit_healthy"] != 1 {
		t.Errorf("audit dropped %v events, healthy %v", after["lanyard_audit_events_dropped_total"], after["lanyard_audit_healthy"])
	}
}

func sinkEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("sink line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// scrape reads /metrics from the management listener, without credentials, into
// series → value.
func scrape(t *testing.T, inst *instance) map[string]float64 {
	t.Helper()
	ca, err := os.ReadFile(inst.state.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: nil}}
	resp, err := c.Get(inst.state.APIURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// loop is a running goloop: a long-lived SDK client that uploads on demand.
type loop struct {
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
}

type loopResult struct {
	N      int    `json:"n"`
	OK     bool   `json:"ok"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}

// startLoop starts goloop as who through `lanyard app run`.
func (s *auditSeed) startLoop(t *testing.T, who, prefix string) *loop {
	t.Helper()
	cmd := exec.Command(lanyardBin, "--home", s.inst.home, "app", "run", "-g", "demo", "-n", "web", "--",
		buildClient(t, "goloop"), "-account-url", s.accountURL, "-client-id", s.clientID(who), "-blob-prefix", prefix)
	cmd.Env = baseEnv()
	l := &loop{stderr: &bytes.Buffer{}}
	var err error
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = l.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.out = bufio.NewScanner(stdout)
	t.Cleanup(func() {
		l.stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	})
	return l
}

// next asks the loop for one more upload and returns its result.
func (l *loop) next(t *testing.T) loopResult {
	t.Helper()
	if _, err := io.WriteString(l.stdin, "go\n"); err != nil {
		t.Fatalf("goloop: %v\n%s", err, l.stderr)
	}
	got := make(chan bool, 1)
	go func() { got <- l.out.Scan() }()
	select {
	case ok := <-got:
		if !ok {
			t.Fatalf("goloop ended: %v\n%s", l.out.Err(), l.stderr)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("goloop did not answer\n%s", l.stderr)
	}
	var r loopResult
	if err := json.Unmarshal(l.out.Bytes(), &r); err != nil {
		t.Fatalf("goloop printed %q: %v", l.out.Text(), err)
	}
	return r
}

func unauthorized(t *testing.T, what string, r loopResult) {
	t.Helper()
	if r.OK || r.Status != http.StatusUnauthorized || r.Code != "InvalidAuthenticationInfo" {
		t.Fatalf("%s: got %+v, want 401 InvalidAuthenticationInfo", what, r)
	}
}

// Revocation end to end with the real Go SDK: a running client holding a valid token gets
// 401 on its next request after `lanyard token revoke`, by principal or by uti; a fresh
// process gets a fresh token, not the endpoint's cached copy; disabling the identity shuts
// its tokens out until it is enabled again.
func TestRevocationWithRunningClient(t *testing.T) {
	s := auditFlow(t)
	a := s.startLoop(t, "writer", "a")
	if r := a.next(t); !r.OK {
		t.Fatalf("first upload: %+v\n%s", r, a.stderr)
	}
	if r := a.next(t); !r.OK {
		t.Fatalf("second upload (cached token): %+v", r)
	}
	s.inst.cli(t, "token", "revoke", "--principal", s.clientID("writer"))
	unauthorized(t, "upload after revoking the principal", a.next(t))
	unauthorized(t, "the same client again: it still holds the revoked token", a.next(t))

	// A new process asks the endpoint, which mints instead of serving its cached copy.
	mark := time.Now().UTC().Format(time.RFC3339Nano)
	if r := s.blob(t, "writer", "-op", "put", "-container", "data", "-blob", "fresh.txt"); !r.OK {
		t.Fatalf("upload with a fresh token: %+v\n%s", r, s.inst.stderr)
	}
	issued := s.events(t, 1, "--since", mark, "--kind", "token.issued")
	if detail(issued[0])["cached"] != false {
		t.Errorf("the endpoint served its cached copy of a revoked token: %v", issued[0])
	}

	// Disable: the running client's valid token fails, and no new one is issued.
	markB := time.Now().UTC().Format(time.RFC3339Nano)
	b := s.startLoop(t, "writer", "b")
	if r := b.next(t); !r.OK {
		t.Fatalf("upload before disabling: %+v", r)
	}
	bUTI := s.events(t, 1, "--since", markB, "--kind", "token.issued")[0]["uti"].(string)
	var id map[string]any
	s.inst.cliJSON(t, &id, "identity", "update", "-g", "demo", "-n", "writer", "--enabled", "false")
	if id["enabled"] != false {
		t.Fatalf("identity update --enabled false printed %v", id)
	}
	unauthorized(t, "upload while disabled", b.next(t))
	if out, errOut, err := s.run(t, gotokenBin, "-resource", storage, "-client-id", s.clientID("writer")); err == nil {
		t.Fatalf("a disabled identity got a token: %s", out)
	} else if !strings.Contains(errOut, "disabled") {
		t.Errorf("token refusal for a disabled identity says: %s", errOut)
	}
	s.inst.cliJSON(t, &id, "identity", "update", "--principal", s.principalID("writer"), "--enabled", "true")
	if id["enabled"] != true {
		t.Fatalf("identity update --principal --enabled true printed %v", id)
	}
	if r := b.next(t); !r.OK {
		t.Fatalf("the running client's token after re-enabling: %+v", r)
	}
	if r := s.blob(t, "writer", "-op", "put", "-container", "data", "-blob", "again.txt"); !r.OK {
		t.Fatalf("a fresh token after re-enabling: %+v", r)
	}

	// Revoke b's token alone, by its uti, found in the audit trail; the fresh token another
	// process got meanwhile still works.
	uti := bUTI
	s.inst.cli(t, "token", "revoke", "--uti", uti)
	unauthorized(t, "upload after revoking the token", b.next(t))
	if r := s.blob(t, "writer", "-op", "put", "-container", "data", "-blob", "after.txt"); !r.OK {
		t.Fatalf("another token of the same identity after one was revoked: %+v", r)
	}
	var refused []map[string]any
	for deadline := time.Now().Add(10 * time.Second); len(refused) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.inst.cliJSON(t, &refused, "audit", "list", "--uti", uti, "--decision", "denied")
	}
	if len(refused) == 0 || !strings.Contains(detail(refused[len(refused)-1])["reason"].(string), "revoked") {
		t.Errorf("the refused request is not on record as revoked: %s", dump(refused))
	}
}

// Tampering with the stored trail is found: an edited event is named, and so is the gap
// a deleted one leaves. The trail is edited through a second handle on the store.
func TestAuditVerifyFindsTampering(t *testing.T) {
	dsn := auditDatabase(t)
	inst := up(t, "--store", dsn)
	inst.cli(t, "group", "create", "-n", "demo")
	for _, n := range []string{"one", "two", "three"} {
		inst.cli(t, "identity", "create", "-g", "demo", "-n", n)
	}
	var events []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for len(events) < 4 && time.Now().Before(deadline) {
		inst.cliJSON(t, &events, "audit", "list")
	}
	if len(events) != 4 {
		t.Fatalf("%d events, want 4", len(events))
	}
	var rep map[string]any
	inst.cliJSON(t, &rep, "audit", "verify")
	if rep["ok"] != true {
		t.Fatalf("untouched trail: %v", rep)
	}
	db := openPostgres(t, dsn)
	verifyBroken := func(what, kind string, seq float64, id string) {
		t.Helper()
		out, errOut, err := inst.try("audit", "verify")
		if err == nil {
			t.Fatalf("%s: audit verify passed:\n%s", what, out)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out)
		}
		p, _ := rep["problem"].(map[string]any)
		if rep["ok"] != false || p["kind"] != kind || p["seq"] != seq || p["eventId"] != id || !strings.Contains(errOut, id) {
			t.Fatalf("%s: report %v, stderr %q; want %s at seq %v naming %s", what, rep, errOut, kind, seq, id)
		}
	}

	// The store keeps events as JSON lines in segments; an attacker with the database
	// rewrites a line, or removes it.
	second := events[1]
	principal := fmt.Sprintf(`"principalId":%q`, second["principalId"])
	tamperLine(t, db, second["id"].(string), func(l string) string { return strings.Replace(l, principal, `"principalId":"someone-else"`, 1) })
	verifyBroken("edited event", "edited", second["seq"].(float64), second["id"].(string))
	tamperLine(t, db, second["id"].(string), func(l string) string { return strings.Replace(l, `"principalId":"someone-else"`, principal, 1) })
	inst.cliJSON(t, &rep, "audit", "verify")
	if rep["ok"] != true {
		t.Fatalf("restored trail: %v", rep)
	}
	third, fourth := events[2], events[3]
	tamperLine(t, db, third["id"].(string), nil)
	verifyBroken("deleted event", "missing", fourth["seq"].(float64), fourth["id"].(string))
	if msg := rep["problem"].(map[string]any)["message"].(string); !strings.Contains(msg, fmt.Sprintf("seq %v", third["seq"])) {
		t.Errorf("the gap's message does not name the deleted event's seq: %s", msg)
	}
}

// tamperLine rewrites, behind Lanyard's back, the stored line of the event with id using
// edit, or deletes it when edit is nil.
func tamperLine(t *testing.T, db *sql.DB, id string, edit func(line string) string) {
	t.Helper()
	var first int64
	var body string
	if err := db.QueryRow(`SELECT first_seq, events FROM audit_segments WHERE strpos(events, $1) > 0`, `"id":"`+id+`"`).Scan(&first, &body); err != nil {
		t.Fatalf("find event %s: %v", id, err)
	}
	lines := strings.SplitAfter(body, "\n")
	for i, l := range lines {
		if strings.Contains(l, `"id":"`+id+`"`) {
			if edit == nil {
				lines = append(lines[:i], lines[i+1:]...)
			} else {
				lines[i] = edit(l)
			}
			break
		}
	}
	if _, err := db.Exec(`UPDATE audit_segments SET events = $1 WHERE first_seq = $2`, strings.Join(lines, ""), first); err != nil {
		t.Fatal(err)
	}
}

// auditDatabase creates a PostgreSQL database for one test and drops it afterwards.
func auditDatabase(t *testing.T) string {
	t.Helper()
	base := postgresForE2E(t)
	admin := openPostgres(t, base)
	name := fmt.Sprintf("lanyard_audit_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
	})
	i := strings.LastIndex(base, "/")
	q := ""
	if j := strings.Index(base[i:], "?"); j >= 0 {
		q = base[i+j:]
	}
	return base[:i+1] + name + q
}

// Fail-closed: with the sink unwritable, token requests fail with a clear error, a
// running client's requests are refused rather than authorized unrecorded, and no token is
// issued without a record; once the sink can be written again, tokens flow, each on record.
func TestAuditFailClosed(t *testing.T) {
	s := auditFlow(t, "--audit-policy", "fail-closed")
	running := s.startLoop(t, "owner", "fc")
	if r := running.next(t); !r.OK {
		t.Fatalf("upload while the sink works: %+v", r)
	}
	mark := time.Now().UTC().Format(time.RFC3339Nano)

	// Put a regular file where the sink's directory was: the sink can no longer be opened.
	dir := filepath.Dir(s.sink)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		time.Sleep(1100 * time.Millisecond) // past the breaker's probe interval, so a write is really tried
		out, errOut, err := s.run(t, gotokenBin, "-resource", storage, "-client-id", s.clientID("writer"), "-timeout", "2m")
		if err == nil {
			t.Fatalf("attempt %d: a token was issued while the audit sink is unwritable: %s", i, out)
		}
		if !strings.Contains(errOut, "audit trail cannot be written") || !strings.Contains(errOut, "503") {
			t.Errorf("attempt %d: the refusal does not say why: %s", i, errOut)
		}
	}
	if r := running.next(t); r.OK || r.Status != http.StatusServiceUnavailable {
		t.Errorf("upload by a client holding a token while the sink is down: %+v, want 503", r)
	}
	m := scrape(t, s.inst)
	if m[`lanyard_tokens_refused_total{protocol="appservice",reason="unavailable"}`] < 2 || m["lanyard_audit_healthy"] != 0 {
		t.Errorf("metrics while refusing: refused %v, healthy %v",
			m[`lanyard_tokens_refused_total{protocol="appservice",reason="unavailable"}`], m["lanyard_audit_healthy"])
	}

	// Heal the sink: the next write succeeds and tokens flow again.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var out string
	for try := 0; ; try++ {
		time.Sleep(1100 * time.Millisecond)
		var errOut string
		var err error
		if out, errOut, err = s.run(t, gotokenBin, "-resource", storage, "-client-id", s.clientID("writer")); err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("no token after the sink healed: %v\n%s\n%s", err, errOut, s.inst.stderr)
		}
	}
	var tok goResult
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	// The sink is written once the store has committed: the first request to find it down
	// is in the store (and refused); while the sink owes its line, nothing more is
	// recorded. So two tokens are on record since: that one, never handed out, and the
	// one handed out after the sink healed. The sink holds both, as the store does.
	issued := s.events(t, 2, "--since", mark, "--kind", "token.issued")
	if issued[1]["uti"] != tok.Claims["uti"] || issued[0]["uti"] == tok.Claims["uti"] {
		t.Fatalf("tokens on record %v and %v, want a refused one, then the one issued (%v)", issued[0]["uti"], issued[1]["uti"], tok.Claims["uti"])
	}
	for i, e := range issued {
		found := false
		for _, l := range sinkEvents(t, s.sink) {
			found = found || l["id"] == e["id"] && l["hash"] == e["hash"]
		}
		if !found {
			t.Errorf("the healed sink does not hold token event %d (%v)", i, e["uti"])
		}
	}
	var rep map[string]any
	s.inst.cliJSON(t, &rep, "audit", "verify")
	if rep["ok"] != true {
		t.Errorf("audit verify after the sink healed: %v", rep)
	}
	s.inst.cliJSON(t, &rep, "audit", "verify", "--file", s.sink)
	if rep["ok"] != true {
		t.Errorf("audit verify --file after the sink healed: %v", rep)
	}
	if r := running.next(t); !r.OK {
		t.Errorf("upload after the sink healed: %+v", r)
	}
}

func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
