// Package cli is the lanyard command line, in the style of az: noun-verb commands whose
// JSON output has az's shapes. Every command except up and server is a client of the
// management API.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Version is set at build time.
var Version = "dev"

// env carries what every command shares.
type env struct {
	home   string
	output string
	stdout io.Writer
	stderr io.Writer
}

func (e *env) api() (*client.Client, error) { return client.Open(e.home) }

func (e *env) print(columns []column, v any) error {
	return printer{format: e.output, columns: columns}.print(e.stdout, v)
}

// Main runs the command line with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "lanyard",
		Short:         "Managed identities, tokens and RBAC that run anywhere",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().StringVar(&e.home, "home", config.DefaultHome(), "data folder ($LANYARD_HOME)")
	root.PersistentFlags().StringVarP(&e.output, "output", "o", "json", "output format: json or table")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if e.output != "json" && e.output != "table" {
			return fmt.Errorf("--output %q: use json or table", e.output)
		}
		return nil
	}
	root.AddCommand(upCmd(e), serverCmd(e), groupCmd(e), identityCmd(e), appCmd(e), roleCmd(e), storageCmd(e), tokenCmd(e), keysCmd(e), auditCmd(e))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			return exit.code
		}
		fmt.Fprintln(stderr, "ERROR:", lanyard.Printable(message(err)))
		return 1
	}
	return 0
}

// exitError carries a child process's exit code through cobra.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func message(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return err.Error()
}

// Shared flag helpers.

type target struct{ group, name string }

func (t *target) flags(cmd *cobra.Command, what string) {
	cmd.Flags().StringVarP(&t.group, "resource-group", "g", "", "resource group")
	cmd.Flags().StringVarP(&t.name, "name", "n", "", what+" name")
	_ = cmd.MarkFlagRequired("resource-group")
	_ = cmd.MarkFlagRequired("name")
}

func groupPath(c *client.Client, group string) string {
	return c.Subscription() + "/resourceGroups/" + escape(group)
}

func escape(name string) string { return url.PathEscape(name) }
