package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const contributor = "Storage Blob Data Contributor"

var goblobBin string

// goblob builds the azblob client once per test binary.
func buildGoblob(t *testing.T) string {
	t.Helper()
	if goblobBin == "" {
		out := filepath.Join(binDir, "goblob")
		cmd := exec.Command("go", "build", "-o", out, "./clients/goblob")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build goblob: %v\n%s", err, b)
		}
		goblobBin = out
	}
	return goblobBin
}

// blobSeed: an account, an app holding three user-assigned identities (writer, reader,
// scoped) and no role assignments yet.
type blobSeed struct {
	*seed
	account    map[string]any
	accountURL string
	ids        map[string]map[string]any
	env        map[string]string // when set, clients run with it instead of `lanyard app run`
}

// runWithEnv runs argv with the app environment env.
func runWithEnv(env map[string]string, argv ...string) (string, string, error) {
	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = baseEnv(vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func blobFlow(t *testing.T) *blobSeed {
	t.Helper()
	s := &blobSeed{seed: seedFlow(t), ids: map[string]map[string]any{}}
	s.inst.cliJSON(t, &s.account, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	s.accountURL = s.inst.state.BlobURL + "/acct1"
	if s.account["primaryEndpoints"].(map[string]any)["blob"] != s.accountURL+"/" {
		t.Fatalf("account endpoints = %v, want %s/", s.account["primaryEndpoints"], s.accountURL)
	}
	for _, n := range []string{"writer", "reader", "scoped"} {
		var id map[string]any
		s.inst.cliJSON(t, &id, "identity", "create", "-g", "demo", "-n", n)
		s.ids[n] = id
	}
	s.inst.cli(t, "app", "identity", "assign", "-g", "demo", "-n", "web", "--identities", "writer,reader,scoped")
	return s
}

type blobResult struct {
	OK     bool   `json:"ok"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Data   string `json:"data"`
}

// goBlob runs one azblob operation as identity who, in a fresh process started by
// `lanyard app run` (or, with s.env set, with that environment directly).
func (s *blobSeed) goBlob(t *testing.T, who string, args ...string) blobResult {
	t.Helper()
	argv := append([]string{buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids[who]["clientId"].(string)}, args...)
	var out, errOut string
	var err error
	if s.env != nil {
		out, errOut, err = runWithEnv(s.env, argv...)
	} else {
		out, errOut, err = s.runAs(t, argv...)
	}
	var res blobResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("goblob %v: %v (%v)\nstdout: %s\nstderr: %s\nserver log:\n%s", args, err, jerr, out, errOut, s.inst.stderr)
	}
	return res
}

func (s *blobSeed) assign(t *testing.T, who, role, scope string) string {
	t.Helper()
	var a map[string]any
	s.inst.cliJSON(t, &a, "role", "assignment", "create", "--assignee", s.ids[who]["clientId"].(string), "--role", role, "--scope", scope)
	if a["roleDefinitionName"] != role {
		t.Fatalf("assignment = %v", a)
	}
	return a["id"].(string)
}

func denied(t *testing.T, what string, r blobResult) {
	t.Helper()
	if r.OK || r.Status != 403 || r.Code != "AuthorizationPermissionMismatch" {
		t.Fatalf("%s: got %+v, want 403 AuthorizationPermissionMismatch", what, r)
	}
}

func ok(t *testing.T, what string, r blobResult) {
	t.Helper()
	if !r.OK {
		t.Fatalf("%s: got %+v, want success", what, r)
	}
}

func TestGoSDKBlobRBAC(t *testing.T) {
	s := blobFlow(t)
	acct := s.account["id"].(string)

	// The motivating flow: refused without a role, allowed with it, refused again the
	// moment the assignment is gone.
	denied(t, "create container before any role", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	id := s.assign(t, "writer", contributor, acct)
	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "data"))
	ok(t, "upload", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "hello.txt", "-data", "hi from go"))
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "hello.txt"); !r.OK || r.Data != "hi from go" {
		t.Fatalf("download = %+v", r)
	}
	s.inst.cli(t, "role", "assignment", "delete", "--ids", id)
	denied(t, "upload after the assignment was deleted", s.goBlob(t, "writer", "-op", "put", "-container", "data", "-blob", "again.txt"))

	// A Reader can download but not upload.
	s.assign(t, "reader", "Storage Blob Data Reader", acct)
	if r := s.goBlob(t, "reader", "-op", "get", "-container", "data", "-blob", "hello.txt"); !r.OK || r.Data != "hi from go" {
		t.Fatalf("reader download = %+v", r)
	}
	denied(t, "reader upload", s.goBlob(t, "reader", "-op", "put", "-container", "data", "-blob", "nope.txt"))

	// A role scoped to one container does not open another.
	s.assign(t, "writer", contributor, acct)
	ok(t, "create second container", s.goBlob(t, "writer", "-op", "create-container", "-container", "other"))
	s.assign(t, "scoped", contributor, acct+"/blobServices/default/containers/data")
	ok(t, "scoped upload in its container", s.goBlob(t, "scoped", "-op", "put", "-container", "data", "-blob", "scoped.txt"))
	denied(t, "scoped upload in another container", s.goBlob(t, "scoped", "-op", "put", "-container", "other", "-blob", "scoped.txt"))

	// The what-if names the deciding assignment, or what the closest ones lack.
	check := s.inst.roleCheck(t, "--assignee", s.ids["reader"]["clientId"].(string),
		"--action", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "--scope", acct+"/blobServices/default/containers/data")
	if check["allowed"] != false || !strings.Contains(check["explanation"].(string), "Storage Blob Data Reader") {
		t.Fatalf("role check = %v", check)
	}
}

func TestGoSDKBlobRoundTrip(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "roundtrip", "-container", "roundtrip", "-big-mib", "257")
	if err != nil {
		t.Fatalf("round trip: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("round trip output: %v\n%s", err, out)
	}
	for _, step := range []string{"containers", "small", "stream", "range", "metadata", "conditions", "listing", "delete", "big"} {
		if steps[step] == "" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
}

func (s *blobSeed) nodeBlob(t *testing.T, who string, args ...string) blobResult {
	t.Helper()
	vars := s.inst.appEnv(t, "demo", "web")
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"blob.mjs", "--account-url", s.accountURL, "--client-id", s.ids[who]["clientId"].(string)}, args...)...)
	cmd.Dir = nodeClients
	cmd.Env = baseEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	var res blobResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node blob.mjs %v: %v\nstdout: %s\nstderr: %s\nserver log:\n%s", args, err, stdout.String(), stderr.String(), s.inst.stderr)
	}
	return res
}

func TestJavaScriptSDKBlobRBAC(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	acct := s.account["id"].(string)
	denied(t, "node create container before any role", s.nodeBlob(t, "writer", "--op", "create-container", "--container", "jsdata"))
	id := s.assign(t, "writer", contributor, acct)
	ok(t, "node create container", s.nodeBlob(t, "writer", "--op", "create-container", "--container", "jsdata"))
	ok(t, "node upload", s.nodeBlob(t, "writer", "--op", "put", "--container", "jsdata", "--blob", "a.txt", "--data", "hi from node"))
	if r := s.nodeBlob(t, "writer", "--op", "get", "--container", "jsdata", "--blob", "a.txt"); !r.OK || r.Data != "hi from node" {
		t.Fatalf("node download = %+v", r)
	}
	s.inst.cli(t, "role", "assignment", "delete", "--ids", id)
	denied(t, "node upload after delete", s.nodeBlob(t, "writer", "--op", "put", "--container", "jsdata", "--blob", "b.txt"))
	s.assign(t, "reader", "Storage Blob Data Reader", acct)
	if r := s.nodeBlob(t, "reader", "--op", "get", "--container", "jsdata", "--blob", "a.txt"); !r.OK || r.Data != "hi from node" {
		t.Fatalf("node reader download = %+v", r)
	}
	denied(t, "node reader upload", s.nodeBlob(t, "reader", "--op", "put", "--container", "jsdata", "--blob", "c.txt"))
}

// TestGoSDKBlobTags: blob index tags through the Go SDK (see goblob's tagsBattery).
func TestGoSDKBlobTags(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	out, errOut, err := s.runAs(t, buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string),
		"-op", "tags", "-container", "tagged")
	if err != nil {
		t.Fatalf("tags: %v\n%s\n%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var steps map[string]string
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("tags output: %v\n%s", err, out)
	}
	for _, step := range []string{"upload", "gettags", "settags", "iftags", "filter", "listing"} {
		if steps[step] == "" {
			t.Errorf("step %s did not run: %v", step, steps)
		}
	}
}

// TestBlobTagCondition: a role assignment whose ABAC condition requires a blob index tag
// lets its identity read only the blobs tagged so; tags need their own data actions,
// which Contributor lacks.
func TestBlobTagCondition(t *testing.T) {
	s := blobFlow(t)
	acct := s.account["id"].(string)
	s.assign(t, "writer", "Storage Blob Data Owner", acct)
	ok(t, "create container", s.goBlob(t, "writer", "-op", "create-container", "-container", "proj"))
	ok(t, "upload tagged", s.goBlob(t, "writer", "-op", "put", "-container", "proj", "-blob", "cascade.txt", "-data", "c", "-tags", "Project=Cascade"))
	ok(t, "upload other", s.goBlob(t, "writer", "-op", "put", "-container", "proj", "-blob", "baker.txt", "-data", "b", "-tags", "Project=Baker"))
	ok(t, "upload untagged", s.goBlob(t, "writer", "-op", "put", "-container", "proj", "-blob", "plain.txt", "-data", "p"))

	cond := `((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR ` +
		`(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] StringEquals 'Cascade'))`
	var a map[string]any
	s.inst.cliJSON(t, &a, "role", "assignment", "create", "--assignee", s.ids["scoped"]["clientId"].(string),
		"--role", "Storage Blob Data Reader", "--scope", acct, "--condition", cond)
	if r := s.goBlob(t, "scoped", "-op", "get", "-container", "proj", "-blob", "cascade.txt"); !r.OK || r.Data != "c" {
		t.Fatalf("read of the blob tagged Project=Cascade = %+v", r)
	}
	denied(t, "read of a blob tagged otherwise", s.goBlob(t, "scoped", "-op", "get", "-container", "proj", "-blob", "baker.txt"))
	denied(t, "read of an untagged blob", s.goBlob(t, "scoped", "-op", "get", "-container", "proj", "-blob", "plain.txt"))
	// The condition exempts List Blobs (sub-operation Blob.List), which has no blob's tags.
	if r := s.goBlob(t, "scoped", "-op", "list", "-container", "proj"); !r.OK || r.Data != "baker.txt,cascade.txt,plain.txt" {
		t.Fatalf("list under the condition = %+v", r)
	}

	// Contributor may write blobs, but neither read nor set their tags.
	s.assign(t, "reader", contributor, acct)
	ok(t, "contributor upload with tags", s.goBlob(t, "reader", "-op", "put", "-container", "proj", "-blob", "c2.txt", "-tags", "Project=Cascade"))
	denied(t, "contributor tag battery", s.goBlob(t, "reader", "-op", "tags", "-container", "contrib"))
}

// TestJavaScriptSDKBlobTags: blob index tags through the JavaScript SDK (blobtags.mjs).
func TestJavaScriptSDKBlobTags(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", "Storage Blob Data Owner", s.account["id"].(string))
	r := s.nodeBlob(t, "writer", "--op", "tags", "--container", "jstags")
	if !r.OK || r.Data != "upload,tags,conditions,find,listing" {
		t.Fatalf("node tags = %+v", r)
	}
}
