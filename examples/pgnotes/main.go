// Command pgnotes is the app of the README's passwordless PostgreSQL walkthrough: it logs
// in to PostgreSQL with a managed-identity token as the password, as on Azure Database for
// PostgreSQL with Microsoft Entra authentication, adds a note and counts the notes. The
// server comes from libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE); TLS is
// verified against the roots, which `lanyard app run` extends with Lanyard's CA.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/jackc/pgx/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgnotes:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("sslmode=verify-full")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://ossrdbms-aad.database.windows.net/.default"}})
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	cfg.Password = tok.Token
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "create table if not exists notes (body text, at timestamptz default now())"); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	if _, err := conn.Exec(ctx, "insert into notes (body) values ($1)", "hello from "+cfg.User); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "select count(*) from notes").Scan(&n); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Printf("noted as %s: %d notes\n", cfg.User, n)
	return nil
}
