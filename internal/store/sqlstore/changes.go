package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/store"
)

// watchedTables are the tables whose changes other nodes must learn of: everything a node
// keeps in memory or caches. Audit events and blob metadata change on every request and
// are never cached, so they are left out.
var watchedTables = []string{
	"settings", "resource_groups", "identities", "apps", "app_user_identities", "signing_keys",
	"role_definitions", "role_assignments", "storage_accounts", "federated_credentials", "revocations",
	"postgres_servers", "postgres_principals", "servicebus_namespaces", "servicebus_entities",
}

// installChangeTriggers makes every committed write to a watched table send a
// notification naming the table on a channel private to the schema. Notifications are
// transactional: they are delivered at commit, never for a rolled-back change. conn holds
// the migration lock.
func installChangeTriggers(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE FUNCTION lanyard_notify_change() RETURNS trigger AS $$
BEGIN
	PERFORM pg_notify('lanyard_changes_' || current_schema(), TG_TABLE_NAME);
	RETURN NULL;
END $$ LANGUAGE plpgsql`); err != nil {
		return fmt.Errorf("sqlstore: change trigger function: %w", err)
	}
	for _, t := range watchedTables {
		var exists bool
		if err := conn.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", t).Scan(&exists); err != nil {
			return fmt.Errorf("sqlstore: change triggers: %w", err)
		}
		if !exists {
			continue // a table a later migration adds
		}
		var installed bool
		if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'lanyard_changes' AND tgrelid = to_regclass($1))", t).Scan(&installed); err != nil {
			return fmt.Errorf("sqlstore: change triggers: %w", err)
		}
		if installed {
			continue
		}
		if _, err := conn.ExecContext(ctx, "CREATE TRIGGER lanyard_changes AFTER INSERT OR UPDATE OR DELETE ON "+t+
			" FOR EACH STATEMENT EXECUTE FUNCTION lanyard_notify_change()"); err != nil {
			return fmt.Errorf("sqlstore: change trigger on %s: %w", t, err)
		}
	}
	return nil
}

// Watch implements store.ChangeFeed. On PostgreSQL it listens for the notifications the
// change triggers send and calls fn with the changed table's name. When the listening
// connection is lost it reconnects (with backoff) and then calls fn with
// store.TopicResync, because changes made meanwhile were not announced. On SQLite, which
// one process owns, there is nothing to watch and it just waits for ctx. It returns when
// ctx is done.
func (s *Store) Watch(ctx context.Context, fn func(topic string)) error {
	if s.dsn == "" {
		<-ctx.Done()
		return nil
	}
	redial(ctx, defaultRedial, func(first bool, up func()) error { return s.listen(ctx, fn, !first, up) }, func(err error) {
		if s.OnFeedDown != nil {
			s.OnFeedDown(err)
		}
	})
	return nil
}

// redialTiming is how redial backs off. The delay starts at min and doubles up to max
// while sessions keep failing; it starts again from min once a session has stayed
// connected for healthy, so that a blip after a quiet period costs the minimal delay and
// not what the last outage left behind, while a server that accepts connections only to
// drop them at once is not redialed in a tight loop.
type redialTiming struct {
	min, max, healthy time.Duration
	now               func() time.Time
	wait              func(ctx context.Context, d time.Duration) error
}

var defaultRedial = redialTiming{min: 50 * time.Millisecond, max: 2 * time.Second, healthy: 5 * time.Second}

// redial runs session, on a connection of its own, until ctx ends: again after each
// failure, which it reports to down, with the backoff of t. first tells session whether
// it is the first run; session calls up once it is connected.
func redial(ctx context.Context, t redialTiming, session func(first bool, up func()) error, down func(error)) {
	now, wait := t.now, t.wait
	if now == nil {
		now = time.Now
	}
	if wait == nil {
		wait = sleepCtx
	}
	backoff := t.min
	for first := true; ctx.Err() == nil; first = false {
		var upAt time.Time
		err := session(first, func() { upAt = now() })
		if ctx.Err() != nil {
			return
		}
		down(err)
		if !upAt.IsZero() && now().Sub(upAt) >= t.healthy {
			backoff = t.min
		}
		if wait(ctx, backoff) != nil {
			return
		}
		backoff = min(backoff*2, t.max)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// listen holds one LISTEN connection until it fails. After a reconnection it reports
// TopicResync once it is listening again, so nothing committed after that is missed.
func (s *Store) listen(ctx context.Context, fn func(string), resync bool, up func()) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("sqlstore: change feed: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("sqlstore: change feed: %w", err)
	}
	channel := pgx.Identifier{"lanyard_changes_" + schema}.Sanitize()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("sqlstore: change feed: %w", err)
	}
	up()
	if resync {
		// Whatever cut this connection most likely cut the pooled ones too, and database/sql
		// finds that out only by failing a query with it (pgx pings a pooled connection only
		// after a second idle). The resync is about to send every view to the database:
		// drop the idle connections so that it, and the requests that follow, dial anew
		// rather than each fail once.
		s.db.SetMaxIdleConns(0)
		s.db.SetMaxIdleConns(maxConns)
	}
	if s.OnFeedUp != nil {
		s.OnFeedUp()
	}
	if resync {
		fn(store.TopicResync)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("sqlstore: change feed: %w", err)
		}
		fn(n.Payload)
	}
}
