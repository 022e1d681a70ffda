// Command gopg is an app as a user would write it against Azure Database for PostgreSQL with
// Microsoft Entra authentication: pgx, with a token from azidentity's
// ManagedIdentityCredential for https://ossrdbms-aad.database.windows.net as the password,
// and TLS verified against the server's CA. It runs each -sql statement in order and prints
// one JSON result per statement; with -hold it then keeps the session open, running
// `select 1` until the server ends it, and prints how it ended.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type statements []string

func (s *statements) String() string     { return strings.Join(*s, "; ") }
func (s *statements) Set(v string) error { *s = append(*s, v); return nil }

type result struct {
	OK      bool       `json:"ok"`
	Code    string     `json:"code,omitempty"` // SQLSTATE
	Message string     `json:"message,omitempty"`
	Rows    [][]string `json:"rows,omitempty"`
}

func main() {
	host := flag.String("host", "127.0.0.1", "server host")
	port := flag.String("port", "", "server port")
	user := flag.String("user", "", "PostgreSQL role to log in as")
	database := flag.String("database", "postgres", "database")
	clientID := flag.String("client-id", "", "user-assigned identity (default: system-assigned)")
	ca := flag.String("ca", "", "CA file the server's certificate must chain to (sslmode=verify-full)")
	hold := flag.Bool("hold", false, "after the statements, keep the session open until the server ends it")
	var sqls statements
	flag.Var(&sqls, "sql", "statement to run (repeatable)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if *clientID != "" {
		opts.ID = azidentity.ClientID(*clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		fatal(err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://ossrdbms-aad.database.windows.net/.default"}})
	if err != nil {
		fatal(err)
	}
	dsn := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=verify-full sslrootcert=%s", *host, *port, *user, *database, *ca)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		fatal(err)
	}
	cfg.Password = tok.Token
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		emit(failure(err))
		os.Exit(1)
	}
	defer conn.Close(context.Background())
	for _, q := range sqls {
		emit(run(ctx, conn, q))
	}
	if !*hold {
		return
	}
	emit(result{OK: true, Message: "holding"})
	for {
		if _, err := conn.Exec(ctx, "select 1"); err != nil {
			emit(failure(err))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func run(ctx context.Context, conn *pgx.Conn, q string) result {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return failure(err)
	}
	defer rows.Close()
	var res result
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return failure(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return failure(err)
	}
	res.OK = true
	return res
}

func failure(err error) result {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return result{Code: pgErr.Code, Message: pgErr.Message}
	}
	return result{Message: err.Error()}
}

func emit(r result) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gopg:", err)
	os.Exit(2)
}
