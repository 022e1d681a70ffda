package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRejectsUnknownKeys(t *testing.T) {
	for name, raw := range map[string]string{
		"unknown top-level": `{"hom": "/tmp/x"}`,
		"unknown nested":    `{"listen": {"apii": "127.0.0.1:1"}}`,
		"trailing data":     `{} {}`,
		"not an object":     `[1]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(raw)); err == nil {
				t.Fatalf("Parse(%s) succeeded; want an error", raw)
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	t.Setenv("LANYARD_HOME", "/data/lanyard")
	c, err := File{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != "/data/lanyard" || c.APIAddr != DefaultAPIAddr || c.MSIAddr != DefaultMSIAddr || c.BlobAddr != DefaultBlobAddr ||
		c.TokenLifetime != time.Hour || c.Store != "sqlite" || c.PublicHost != "127.0.0.1" ||
		c.BlobRehydrateDelay != DefaultBlobRehydrateDelay {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"non-loopback listener", `{"listen": {"api": "0.0.0.0:10443"}}`, "not a loopback"},
		{"lifetime too long", `{"tokenLifetime": "25h"}`, "between 5m and 24h"},
		{"lifetime garbage", `{"tokenLifetime": "soon"}`, "tokenLifetime"},
		{"bad tenant", `{"tenantId": "a/b"}`, "tenantId"},
		{"negative rehydrate delay", `{"blobRehydrateDelay": "-1s"}`, "blobRehydrateDelay"},
		{"rehydrate delay too long", `{"blobRehydrateDelay": "25h"}`, "blobRehydrateDelay"},
		{"rehydrate delay garbage", `{"blobRehydrateDelay": "later"}`, "blobRehydrateDelay"},
		{"bad store", `{"store": "mysql://x"}`, "store"},
		{"bad log format", `{"log": {"format": "xml"}}`, "log.format"},
		{"negative connection cap", `{"limits": {"maxConnections": {"blob": -1}}}`, "limits.maxConnections.blob"},
		{"huge connection cap", `{"limits": {"maxConnections": {"msi": 1000000000}}}`, "limits.maxConnections.msi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Resolve()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve() error = %v; want one mentioning %q", err, tc.want)
			}
		})
	}
	f, _ := Parse([]byte(`{"listen": {"api": "0.0.0.0:10443"}, "allowNonLoopback": true}`))
	if _, err := f.Resolve(); err != nil {
		t.Fatalf("allowNonLoopback should permit a wildcard listener: %v", err)
	}
}

func TestMaxConnections(t *testing.T) {
	c, err := File{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConns != DefaultMaxConnections {
		t.Fatalf("default caps = %+v; want %+v", c.MaxConns, DefaultMaxConnections)
	}
	f, err := Parse([]byte(`{"limits": {"maxConnections": {"api": 10, "msi": 5}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c, err = f.Resolve(); err != nil {
		t.Fatal(err)
	}
	if want := (PerListener{API: 10, MSI: 5, Blob: DefaultMaxConnections.Blob}); c.MaxConns != want {
		t.Fatalf("caps = %+v; want %+v", c.MaxConns, want)
	}
	if _, err := Parse([]byte(`{"limits": {"maxConnections": {"metrics": 1}}}`)); err == nil {
		t.Fatal("an unknown listener in limits.maxConnections was accepted")
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanyard.json")
	if err := os.WriteFile(path, []byte(`{"home": "/srv/lanyard", "tokenLifetime": "2h", "blobRehydrateDelay": "0s", "listen": {"msi": "[::1]:9999"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != "/srv/lanyard" || c.TokenLifetime != 2*time.Hour || c.MSIAddr != "[::1]:9999" || c.BlobRehydrateDelay != 0 {
		t.Fatalf("Load = %+v", c)
	}
}
