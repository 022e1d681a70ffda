package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// topics collects what a change feed reports.
type topics chan string

func (c topics) await(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-c:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("the change feed never reported %q", want)
		}
	}
}

func TestPostgresChangeFeed(t *testing.T) {
	dsn := postgresDSN(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	got := make(topics, 100)
	up := make(chan struct{}, 10)
	b.OnFeedUp = func() { up <- struct{}{} }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx, func(topic string) { got <- topic }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	<-up

	// A committed change made through another store is announced by table name.
	if err := a.CreateGroup(t.Context(), lanyard.ResourceGroup{Name: "g", Location: "l", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got.await(t, "resource_groups")
	// A rolled-back change is not.
	_ = a.InTx(t.Context(), func(tx store.Store) error {
		_ = tx.PutSetting(t.Context(), "rolled-back", []byte("x"))
		return context.Canceled
	})
	if err := a.PutSetting(t.Context(), "committed", []byte("x")); err != nil {
		t.Fatal(err)
	}
	got.await(t, "settings") // the committed one; the rolled-back one sent nothing before it
	select {
	case extra := <-got:
		t.Fatalf("unexpected notification %q (the rolled-back write?)", extra)
	case <-time.After(200 * time.Millisecond):
	}

	// Cut the listening connection: the feed reconnects and asks for a resync.
	admin, err := sql.Open("pgx", os.Getenv("LANYARD_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %lanyard_changes_%' AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	got.await(t, store.TopicResync)
	if err := a.PutSetting(t.Context(), "after", []byte("x")); err != nil {
		t.Fatal(err)
	}
	got.await(t, "settings")
}

func TestPostgresUnavailableIsKindUnavailable(t *testing.T) {
	dsn := postgresDSN(t)
	s := openPostgres(t, dsn)
	// A pool pointed at a port nobody listens on.
	broken, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	bs := &Store{db: broken, d: s.d, q: broken}
	for name, call := range map[string]func() error{
		"read":  func() error { _, err := bs.GetGroup(t.Context(), "g"); return err },
		"write": func() error { return bs.PutSetting(t.Context(), "k", []byte("v")) },
	} {
		if err := call(); lanyard.KindOf(err) != lanyard.KindUnavailable {
			t.Errorf("%s against an unreachable server: kind %v (%v), want unavailable", name, lanyard.KindOf(err), err)
		}
	}
}

func TestSQLiteWatchWaitsForContext(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	called := false
	if err := s.Watch(ctx, func(string) { called = true }); err != nil || called {
		t.Fatalf("Watch on SQLite: err=%v called=%v", err, called)
	}
}

// A blip that cuts the change feed cuts the pooled connections too. Once the feed is back,
// the reads its resync triggers must not fail on a pooled connection that died with the
// blip (a managed-identity request answered 503 once per blip that way).
func TestPostgresResyncReadsAfterABlip(t *testing.T) {
	dsn := postgresDSN(t)
	s := openPostgres(t, dsn)
	got := make(topics, 100)
	up := make(chan struct{}, 10)
	s.OnFeedUp = func() { up <- struct{}{} }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func(topic string) { got <- topic }) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-up

	var pid int
	var schema string
	if err := s.db.QueryRowContext(t.Context(), "SELECT pg_backend_pid(), current_schema()").Scan(&pid, &schema); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", os.Getenv("LANYARD_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// This store's pooled connection and its feed's, and no one else's.
	if _, err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 OR query = $2",
		pid, `LISTEN "lanyard_changes_`+schema+`"`); err != nil {
		t.Fatal(err)
	}
	got.await(t, store.TopicResync)
	if _, err := s.ListRoleAssignments(t.Context()); err != nil {
		t.Fatalf("the first read after the feed came back: %v", err)
	}
}
