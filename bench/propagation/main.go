// Command propagation measures how long a role change made on one Lanyard node takes to
// decide on another node sharing the same PostgreSQL database: create an assignment on
// node A, poll node B's access check until it allows; delete it on B, poll A until it
// denies. It prints the delays' percentiles as a Markdown table row.
//
// Usage: go run ./bench/propagation -lanyard BIN -dsn postgres://.../EMPTY_DATABASE
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/client"
)

const action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"

func main() {
	bin := flag.String("lanyard", "lanyard", "path to the lanyard binary")
	dsn := flag.String("dsn", "", "an empty PostgreSQL database")
	rounds := flag.Int("rounds", 50, "changes to time in each direction")
	flag.Parse()
	if err := run(*bin, *dsn, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

func run(bin, dsn string, rounds int) error {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kek := base64.StdEncoding.EncodeToString(key)
	content, err := os.MkdirTemp("", "lanyard-prop-content-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(content)
	var nodes []*client.Client
	for range 2 {
		home, err := os.MkdirTemp("", "lanyard-prop-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(home)
		stop, err := startNode(bin, home, dsn, kek, content)
		if err != nil {
			return err
		}
		defer stop()
		c, err := client.Open(home)
		if err != nil {
			return err
		}
		nodes = append(nodes, c)
	}
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	sub := a.Subscription()
	var id struct {
		Properties struct{ PrincipalID string } `json:"properties"`
	}
	var acct struct{ ID string }
	for _, step := range []struct {
		path string
		out  any
	}{
		{sub + "/resourceGroups/bench", nil},
		{sub + "/resourceGroups/bench/providers/Microsoft.ManagedIdentity/userAssignedIdentities/prop", &id},
		{sub + "/resourceGroups/bench/providers/Microsoft.Storage/storageAccounts/prop", &acct},
	} {
		if err := a.Do(ctx, "PUT", step.path, map[string]any{}, step.out); err != nil {
			return err
		}
	}
	scope := acct.ID + "/blobServices/default/containers/c"
	role := "/subscriptions/" + a.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	var grant, revoke []time.Duration
	for range rounds {
		name := uuid.NewString()
		path := acct.ID + "/providers/Microsoft.Authorization/roleAssignments/" + name
		body := map[string]any{"properties": map[string]any{"roleDefinitionId": role, "principalId": id.Properties.PrincipalID}}
		if err := a.Do(ctx, "PUT", path, body, nil); err != nil {
			return err
		}
		t0 := time.Now()
		if err := until(ctx, b, id.Properties.PrincipalID, scope, true); err != nil {
			return err
		}
		grant = append(grant, time.Since(t0))
		if err := b.Do(ctx, "DELETE", path, nil, nil); err != nil {
			return err
		}
		t0 = time.Now()
		if err := until(ctx, a, id.Properties.PrincipalID, scope, false); err != nil {
			return err
		}
		revoke = append(revoke, time.Since(t0))
	}
	all := append(slices.Clone(grant), revoke...)
	slices.Sort(all)
	q := func(p int) time.Duration { return all[(len(all)-1)*p/100].Round(100 * time.Microsecond) }
	fmt.Printf("| role change propagation between two nodes (%d changes) | p50 %s, p99 %s, max %s |\n", len(all), q(50), q(99), all[len(all)-1].Round(100*time.Microsecond))
	return nil
}

// until polls c's access check until it answers want.
func until(ctx context.Context, c *client.Client, principal, scope string, want bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var d struct{ Allowed bool }
		if err := c.Do(ctx, "POST", "/providers/Lanyard.Authorization/checkAccess", map[string]string{"principalId": principal, "action": action, "scope": scope}, &d); err != nil {
			return err
		}
		if d.Allowed == want {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("the change did not reach the other node within 30s")
}

func startNode(bin, home, dsn, kek, content string) (func(), error) {
	cfg, _ := json.Marshal(map[string]any{
		"home": home, "store": dsn, "blobContentDir": content,
		"listen": map[string]string{"api": "127.0.0.1:0", "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"},
		"log":    map[string]string{"level": "warn"},
	})
	path := filepath.Join(home, "config.json")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--config", path)
	cmd.Env = append(os.Environ(), "LANYARD_KEK="+kek)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(home, "lanyard.json")); err == nil {
			return stop, nil
		}
	}
	stop()
	return nil, fmt.Errorf("node in %s did not start", home)
}
