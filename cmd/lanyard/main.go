// Command lanyard runs and manages Lanyard: managed identities, tokens and RBAC that run
// anywhere.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lanyard-id/lanyard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
