package pgfront

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// BenchmarkSelect compares one query's round trip through the front end with the same
// query on a direct TLS connection to the upstream (as lanyard_admin with SCRAM).
func BenchmarkSelect(b *testing.B) {
	run := func(b *testing.B, c *pgx.Conn) {
		ctx := context.Background()
		var n int
		for b.Loop() {
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		c, err := pgx.Connect(context.Background(), certUpstream(b).dsn()+" password="+certUpstream(b).adminPassword)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Close(context.Background()) }()
		run(b, c)
	})
	b.Run("frontend", func(b *testing.B) {
		e := newBenchEnv(b)
		role := uniqueRole("bench")
		tok := e.bind(role, false)
		c, err := e.connect(role, tok)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Close(context.Background()) }()
		run(b, c)
	})
}

// BenchmarkLogin measures a whole login through the front end (two TLS handshakes, a
// client certificate, the upstream's certificate login).
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	role := uniqueRole("bench")
	tok := e.bind(role, false)
	for b.Loop() {
		c, err := e.connect(role, tok)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close(context.Background())
	}
}

func newBenchEnv(b *testing.B) *env {
	b.Helper()
	return newEnv(b, certUpstream(b), lanyard.UpstreamCert, func(c *Config) { c.Logger = nil })
}

// BenchmarkLoginDirect is the baseline: a direct TLS + SCRAM login to the upstream.
func BenchmarkLoginDirect(b *testing.B) {
	for b.Loop() {
		c, err := pgx.Connect(context.Background(), certUpstream(b).dsn()+" password="+certUpstream(b).adminPassword)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close(context.Background())
	}
}
