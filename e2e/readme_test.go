package e2e

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's Quick start and Blob sections are a test: their sh blocks run exactly as
// written, one command at a time, with the built lanyard first on PATH and LANYARD_HOME
// set to a fresh `lanyard up` that the test starts itself (on free ports: the defaults may
// be taken on a shared machine). A command must succeed, unless its comment says
// `# 403 CODE`: then it must fail with CODE in its output; `# unauthorized`: it must fail
// with that in its output. `# uploaded`, `# noted` and `# received` must print it. Go snippets must be lines of the sample apps, which the commands run; JavaScript
// snippets lines of the e2e `pg` client; untagged blocks (configuration files) do not run.

// readmeSections are the README sections whose blocks run (by heading prefix).
var readmeSections = []string{"Quick start", "Blob Storage", "Passwordless PostgreSQL", "Service Bus"}

// quickStartBudget is the machine time the Quick start may take, with Go's build cache
// warm (a user's first `go run` of the sample compiles the SDK once; the test measures
// Lanyard, not the compiler under a loaded CI machine).
const quickStartBudget = 60 * time.Second

type readmeBlock struct {
	section, lang string
	line          int // of the opening fence
	text          string
}

type readmeCommand struct {
	section, text, comment string
	line                   int
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks  []readmeBlock
		section string
		cur     *readmeBlock
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case strings.HasPrefix(line, "```"):
			cur = &readmeBlock{section: section, lang: strings.TrimPrefix(line, "```"), line: n}
		}
	}
	var out []readmeBlock
	for _, b := range blocks {
		for _, s := range readmeSections {
			if strings.HasPrefix(b.section, s) {
				out = append(out, b)
			}
		}
	}
	return out
}

var trailingComment = regexp.MustCompile(`\s+#\s+(.*)$`)

// commands splits an sh block into commands: continuation lines joined, comment lines
// dropped, a trailing comment kept apart.
func (b readmeBlock) commands() []readmeCommand {
	var out []readmeCommand
	lines := strings.Split(strings.TrimRight(b.text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		text := lines[i]
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		c := readmeCommand{section: b.section, text: text, line: b.line + 1 + start}
		if m := trailingComment.FindStringSubmatchIndex(text); m != nil {
			c.text, c.comment = strings.TrimSpace(text[:m[0]]), text[m[2]:m[3]]
		}
		out = append(out, c)
	}
	return out
}

var numberWords = map[string]int{"three": 3, "four": 4, "five": 5, "six": 6}

func TestReadme(t *testing.T) {
	blocks := readmeBlocks(t)
	var (
		cmds      []readmeCommand
		installed bool
		snippets  []readmeBlock
		// jsSnippets must be lines of the JavaScript client the e2e tests run.
		jsSnippets []readmeBlock
		quick      int // commands of the Quick start, `lanyard up` included
		heading    string
	)
	for _, b := range blocks {
		switch b.lang {
		case "go":
			snippets = append(snippets, b)
			continue
		case "js":
			jsSnippets = append(jsSnippets, b)
			continue
		case "":
			continue
		case "sh":
		default:
			t.Errorf("README.md:%d: a %q block in %s: runnable blocks are sh or go", b.line, b.lang, b.section)
			continue
		}
		if strings.Contains(b.text, "go install ") {
			// The install: CI builds the binary instead; the commands are counted after it.
			installed = strings.Contains(b.text, "go install github.com/lanyard-id/lanyard/cmd/lanyard@latest") && strings.Contains(b.text, "go install ./cmd/lanyard")
			continue
		}
		for _, c := range b.commands() {
			if regexp.MustCompile(`<[^>]+>`).MatchString(c.text) {
				t.Errorf("README.md:%d: a placeholder in a runnable command: %s", c.line, c.text)
			}
			if strings.HasPrefix(b.section, "Quick start") {
				quick++
				heading = b.section
			}
			cmds = append(cmds, c)
		}
	}
	if !installed {
		t.Error("the Quick start does not install with go install ...@latest (and ./cmd/lanyard for a clone)")
	}
	if len(cmds) == 0 || cmds[0].text != "lanyard up" {
		t.Fatalf("the first runnable command is not `lanyard up`: %+v", cmds)
	}
	if m := regexp.MustCompile(`\((\w+) commands\)`).FindStringSubmatch(heading); m == nil || numberWords[m[1]] != quick {
		t.Errorf("the Quick start heading %q does not give its %d commands", heading, quick)
	}
	if quick > 5 {
		t.Errorf("the Quick start takes %d commands after the install, more than five", quick)
	}

	// The snippets are the sample apps' own lines.
	checkSnippets(t, snippets, "../examples/uploader/main.go", "../examples/pgnotes/main.go", "../examples/orders/main.go")
	checkSnippets(t, jsSnippets, "clients/node/pg.mjs")
	if t.Failed() {
		t.FailNow()
	}

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Warm the build cache, as a first `go run` would; see quickStartBudget.
	warm := exec.Command("go", "build", "-o", os.DevNull, "./examples/uploader")
	warm.Dir = root
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("build examples/uploader: %v\n%s", err, out)
	}

	start := time.Now()
	inst := up(t)
	// The Passwordless PostgreSQL section starts a throwaway PostgreSQL in the script's
	// default folder; stop it with the test.
	t.Cleanup(func() {
		_ = exec.Command("bash", "../scripts/pgupstream.sh", "stop").Run()
		_ = os.RemoveAll("/tmp/lanyard-pgupstream") // the script's default folder
	})
	env := baseEnv("PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "LANYARD_HOME="+inst.home)
	uploads := 0
	for i, c := range cmds[1:] {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", c.text)
		cmd.Dir, cmd.Env = root, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		output := stdout.String() + stderr.String()
		where := "README.md:" + strconv.Itoa(c.line) + ": " + c.text
		switch {
		case strings.HasPrefix(c.comment, "403 "):
			code := strings.Trim(strings.Fields(c.comment)[1], ":")
			if err == nil || !strings.Contains(output, "403 "+code) {
				t.Fatalf("%s\nwant a failure with 403 %s, got err=%v\n%s", where, code, err, output)
			}
		case strings.HasPrefix(c.comment, "unauthorized"):
			if err == nil || !strings.Contains(output, "unauthorized") {
				t.Fatalf("%s\nwant a failure saying unauthorized, got err=%v\n%s", where, err, output)
			}
		case strings.HasPrefix(c.comment, "denied"):
			if err == nil || !strings.Contains(output, "denied:") {
				t.Fatalf("%s\nwant a denial and a non-zero exit, got err=%v\n%s", where, err, output)
			}
		case err != nil:
			t.Fatalf("%s\nfailed: %v\n%s", where, err, output)
		case strings.HasPrefix(c.comment, "noted"):
			if !strings.Contains(stdout.String(), "noted as ") {
				t.Fatalf("%s\nnoted nothing:\n%s", where, output)
			}
		case strings.HasPrefix(c.comment, "received"):
			if !strings.Contains(stdout.String(), "received \"order placed at ") {
				t.Fatalf("%s\nreceived nothing:\n%s", where, output)
			}
		case strings.HasPrefix(c.comment, "uploaded"):
			if !strings.Contains(stdout.String(), "uploaded uploads/hello.txt") {
				t.Fatalf("%s\nprinted no upload:\n%s", where, output)
			}
			uploads++
		}
		if i+2 == quick {
			took := time.Since(start)
			t.Logf("Quick start: %d commands after the install, %v from `lanyard up` to the first upload", quick, took.Round(time.Millisecond))
			if uploads != 1 {
				t.Fatalf("the Quick start's last command made no upload")
			}
			if took > quickStartBudget {
				t.Errorf("the Quick start took %v, more than %v", took, quickStartBudget)
			}
		}
	}
	if uploads < 2 {
		t.Errorf("%d uploads; want the Quick start's and the Blob section's after the role", uploads)
	}
}

// TestUpBusyPortNamesFlag: when a default port is taken, `lanyard up` says which flag
// moves that listener.
func TestUpBusyPortNamesFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	home := t.TempDir()
	for _, flag := range []string{"--api-addr", "--msi-addr", "--blob-addr"} {
		args := []string{"up", "--home", home, "--api-addr", "127.0.0.1:0", "--msi-addr", "127.0.0.1:0", "--blob-addr", "127.0.0.1:0", flag, busy}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, lanyardBin, args...)
		cmd.Env = baseEnv()
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), busy+" is in use") || !strings.Contains(string(out), flag+" 127.0.0.1:PORT") {
			t.Errorf("lanyard up %s %s (taken): err=%v, want it to name %s\n%s", flag, busy, err, flag, out)
		}
	}
}

// TestReadmeLayoutMatchesTree: the README's Layout names every package under internal/ and
// every top-level folder, and names nothing that is not there.
func TestReadmeLayoutMatchesTree(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "## Layout\n\n```\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("README has no Layout block")
	}
	named := map[string]bool{}
	for _, line := range strings.Split(block, "\n") {
		for _, f := range strings.Fields(line) {
			f = strings.Trim(f, ":,;()")
			if strings.HasPrefix(f, "internal/") || strings.HasSuffix(f, "/") || f == "cmd/lanyard" {
				named[strings.TrimSuffix(f, "/")] = true
			}
		}
	}
	for p := range named {
		if _, err := os.Stat(filepath.Join("..", p)); err != nil {
			t.Errorf("the Layout names %s, which does not exist", p)
		}
	}
	var want []string
	internal, _ := os.ReadDir("../internal")
	for _, e := range internal {
		if e.IsDir() {
			want = append(want, "internal/"+e.Name())
		}
	}
	top, _ := os.ReadDir("..")
	for _, e := range top {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() != "internal" && e.Name() != "cmd" && e.Name() != "docs" {
			want = append(want, e.Name())
		}
	}
	for _, p := range want {
		if !named[p] {
			t.Errorf("the README's Layout does not name %s", p)
		}
	}
}

// checkSnippets fails the test for every line of blocks that is not a line of one of files.
func checkSnippets(t *testing.T, blocks []readmeBlock, files ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(src), "\n") {
			have[strings.TrimSpace(l)] = true
		}
	}
	for _, s := range blocks {
		for i, l := range strings.Split(strings.TrimRight(s.text, "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" && !have[l] {
				t.Errorf("README.md:%d: the snippet line %q is not in %s", s.line+1+i, l, strings.Join(files, " or "))
			}
		}
	}
}
