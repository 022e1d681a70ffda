// Package cli is the lanyard command line, in the style of az: noun-verb commands whose
// JSON output has az's shapes. Every command except up and server is a client of the
// management API.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// env carries what every command shares.
type env struct {
	home    string
	profile string // --profile or LANYARD_PROFILE: a server logged in to (see login.go)
	output  string
	query   string
	stdin   io.Reader // answers to questions
	stdout  io.Writer
	stderr  io.Writer
}

func (e *env) print(columns []column, v any) error {
	return printer{format: e.output, query: e.query, columns: columns}.print(e.stdout, v)
}

// Main runs the command line with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Stdin, stdout, stderr)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
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

// newRoot builds the command tree.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "lanyard",
		Short:         "Managed identities, tokens and RBAC that run anywhere",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.PersistentFlags().StringVar(&e.home, "home", config.DefaultHome(), "data folder ($LANYARD_HOME)")
	root.PersistentFlags().StringVar(&e.profile, "profile", os.Getenv("LANYARD_PROFILE"), "the profile (a server logged in to with `lanyard login`) to use instead of the current one ($LANYARD_PROFILE)")
	root.PersistentFlags().StringVarP(&e.output, "output", "o", "json", "output format: json, jsonc, table, tsv, yaml or none")
	root.PersistentFlags().StringVar(&e.query, "query", "", "JMESPath query applied to the result before it is formatted, e.g. \"[].{name:name, id:clientId}\"")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return checkOutput(e.output, e.query)
	}
	root.AddCommand(upCmd(e), serverCmd(e), downCmd(e), resetCmd(e), groupCmd(e), identityCmd(e), appCmd(e), roleCmd(e), storageCmd(e), postgresCmd(e), serviceBusCmd(e), tokenCmd(e), keysCmd(e), auditCmd(e), loginCmd(e), logoutCmd(e), profileCmd(e))
	addExamples(root)
	return root
}

// remove deletes the resource at path and says on stderr what was removed, or that
// nothing was there, so that a mistyped name is noticed.
func (e *env) remove(ctx context.Context, api *client.Client, what, path string) error {
	existed, err := api.Delete(ctx, path)
	if err != nil {
		return err
	}
	if existed {
		fmt.Fprintf(e.stderr, "Deleted %s %s\n", what, lanyard.Printable(path))
	} else {
		fmt.Fprintf(e.stderr, "Nothing to delete: no %s %s\n", what, lanyard.Printable(path))
	}
	return nil
}

// confirm asks question on stderr and reads the answer from stdin; anything but yes, or
// no answer at all (no terminal, as in a script), refuses.
func (e *env) confirm(question string) error {
	fmt.Fprintf(e.stderr, "%s [y/N]: ", question)
	var answer string
	if e.stdin != nil {
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		answer = strings.ToLower(strings.TrimSpace(line))
	}
	if answer != "y" && answer != "yes" {
		fmt.Fprintln(e.stderr)
		return errors.New("not confirmed: nothing was changed (pass --yes to skip the question)")
	}
	return nil
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
