package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/runstate"
)

func runIn(home, input string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"--home", home}, args...), strings.NewReader(input), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestDownWithNothingRunning(t *testing.T) {
	home := t.TempDir()
	_, errOut, code := runIn(home, "", "down")
	if code != 0 || !strings.Contains(errOut, "No Lanyard is running") {
		t.Fatalf("down with no state: exit %d, %q", code, errOut)
	}
	// A state file whose process is gone (a crash) is removed; no process is signalled.
	if err := runstate.Write(home, runstate.State{PID: 1 << 30, APIURL: "https://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runIn(home, "", "down")
	if code != 0 || !strings.Contains(errOut, "removed its stale lanyard.json") {
		t.Fatalf("down with a stale state: exit %d, %q", code, errOut)
	}
	if _, err := runstate.Read(home); !errors.Is(err, runstate.ErrNotRunning) {
		t.Fatalf("the stale state file is still there: %v", err)
	}
}

func TestReset(t *testing.T) {
	home := t.TempDir()
	for _, name := range []string{"admin.token", "kek", "lanyard.db"} {
		if err := os.WriteFile(filepath.Join(home, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, "blob", "acct1"), 0o700); err != nil {
		t.Fatal(err)
	}
	left := func() int { es, _ := os.ReadDir(home); return len(es) }

	// That a running server blocks the reset is tested end to end (e2e TestDownAndReset).
	_, errOut, code := runIn(home, "", "reset")
	if code != 1 || !strings.Contains(errOut, "not confirmed") || left() != 4 {
		t.Fatalf("reset without an answer: exit %d, %q, %d entries left", code, errOut, left())
	}
	_, errOut, code = runIn(home, "yes\n", "reset")
	if code != 0 || left() != 0 || strings.Count(errOut, "Removed ") != 4 {
		t.Fatalf("reset: exit %d, %q, %d entries left", code, errOut, left())
	}
	if _, err := os.Stat(home); err != nil {
		t.Fatalf("the data folder itself is gone: %v", err)
	}

	// A folder Lanyard did not make is never emptied.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "thesis.tex"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runIn(other, "", "reset", "--yes")
	if code != 1 || !strings.Contains(errOut, "does not look like a Lanyard data folder") {
		t.Fatalf("reset of a foreign folder: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(other, "thesis.tex")); err != nil {
		t.Fatal("reset deleted a file of a foreign folder")
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	bi := func(v string, kv ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{Main: debug.Module{Path: "github.com/lanyard-id/lanyard", Version: v}}
		for i := 0; i+1 < len(kv); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return b
	}
	cases := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{bi("v0.9.0"), "v0.9.0"},
		{bi("v0.9.1-0.20261203004800-abcdef123456+dirty"), "v0.9.1-0.20261203004800-abcdef123456+dirty"},
		{bi("(devel)", "vcs.revision", "abcdef1234567890", "vcs.time", "2026-12-03T00:48:00Z", "vcs.modified", "true"), "devel abcdef123456 (2026-12-03T00:48:00Z) +dirty"},
		{bi("(devel)", "vcs.revision", "abcdef1234567890", "vcs.modified", "false"), "devel abcdef123456"},
	}
	for _, c := range cases {
		if got := versionFrom(c.bi, true); got != c.want {
			t.Errorf("versionFrom(%v) = %q, want %q", c.bi.Main.Version, got, c.want)
		}
	}
	for _, got := range []string{versionFrom(bi("(devel)"), true), versionFrom(nil, false), version()} {
		if got == "" || got == "dev" {
			t.Errorf("version %q says nothing", got)
		}
	}
}

func TestListenAll(t *testing.T) {
	cfg, err := config.File{Listen: struct {
		API  string `json:"api"`
		MSI  string `json:"msi"`
		Blob string `json:"blob"`
	}{API: "127.0.0.1:9443", MSI: "127.0.0.1:9080", Blob: "[::1]:9000"}}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := listenAll(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.APIAddr != "0.0.0.0:9443" || cfg.BlobAddr != "0.0.0.0:9000" || cfg.MSIAddr != "127.0.0.1:9080" {
		t.Errorf("--listen-all gave api %s, blob %s, msi %s", cfg.APIAddr, cfg.BlobAddr, cfg.MSIAddr)
	}
}
