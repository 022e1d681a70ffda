package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Listening: one connection per store, LISTENing on the schema's channel. It checks the
// database with a query when it has heard nothing for a while, so that a silent failure
// (a cut network) is found; once it fails, Ready reports it and the store dials again,
// backing off, until it is listening again, and then wakes every waiter since arrivals
// announced meanwhile were missed.
const (
	heartbeat     = 5 * time.Second
	redialMin     = 50 * time.Millisecond
	redialMax     = 2 * time.Second
	checkDeadline = 5 * time.Second
)

// listenConn dials the listening connection and LISTENs.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	// A heartbeat's timeout only interrupts the wait for a notification: a deadline on
	// the socket, not a cancel request sent to the server on a connection of its own.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("pgqueue: listen: %w", err)
	}
	return conn, nil
}

// listen runs until ctx is done: it hears on conn, and on a new connection after each
// failure.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	backoff := redialMin
	for {
		err := s.hear(ctx, conn)
		conn.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return
		}
		s.health.set(fmt.Errorf("pgqueue: lost the database: %w", err))
		s.logger.Error("service bus queues: lost the database; reconnecting", "err", err)
		for {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(backoff*2, redialMax)
			conn, err = s.listenConn(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.health.set(fmt.Errorf("pgqueue: lost the database: %w", err))
		}
		backoff = redialMin
		// Whatever cut this connection most likely cut the pooled ones too: drop them, so
		// that the calls that follow dial anew rather than each fail once.
		s.pool.Reset()
		s.arrivals.SignalAll()
		s.health.set(nil)
		s.logger.Info("service bus queues: the database is back")
	}
}

// hear passes notifications on until conn fails.
func (s *Store) hear(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if !heard(&s.arrivals, s.id, n.Payload) {
				s.logger.Warn("service bus queues: a notification not understood", "payload", n.Payload)
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		// Quiet for a heartbeat: make sure the database is still there.
		cctx, cancel := context.WithTimeout(ctx, checkDeadline)
		_, err = conn.Exec(cctx, "SELECT 1")
		cancel()
		if err != nil {
			return err
		}
	}
}
