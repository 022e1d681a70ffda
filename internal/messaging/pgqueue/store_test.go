package pgqueue_test

import (
	"log/slog"
	"testing"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/messagingtest"
	"github.com/lanyard-id/lanyard/internal/messaging/pgqueue"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// open opens a store on dsn that closes when t ends.
func open(t testing.TB, dsn string, opts pgqueue.Options) *pgqueue.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := pgqueue.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	sqltest.PostgresDSN(t) // skip early, before any subtest, when there is no database
	messagingtest.Run(t, func(t *testing.T, clock *messagingtest.Clock) messaging.Store {
		return open(t, sqltest.PostgresDSN(t), pgqueue.Options{Clock: clock.Now})
	})
}
