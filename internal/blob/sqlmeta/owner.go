package sqlmeta

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// Blob metadata ownership, PostgreSQL only.
//
// A node may answer blob metadata reads from memory only while no other node can change
// that metadata behind its back. One node at a time may be the owner: it holds an
// exclusive advisory lock (the ownership lock) on a session of its own, and a lease row in
// blob_cache_owner (node, fence, until). Every write of blob metadata is guarded, in the
// statement or transaction that writes:
//
//   - A node that is not the owner takes the ownership lock shared until its transaction
//     ends (lanyard_blob_permit, which sqlstore installs with the schema). While an owner
//     holds it, it cannot: it asks the owner to let go (a notification), and queues for
//     the lock. The owner stops answering from memory, then unlocks. The writer then
//     reads the lease, with a snapshot taken after the lock was granted, and waits out a
//     lease that has not ended: an owner that lost its session without letting go may
//     answer from memory until then, never later, for it counts its lease from before
//     each renewal, on its own clock.
//   - The owner's own writes take a lock on its fence, a key new with each ownership, and
//     apply only while the lease row still names that fence and has not ended
//     (ownerWriteSQL). A node that takes ownership first waits for the previous owner's
//     lease to end, then takes its fence exclusively for a moment, which waits for any
//     write of the previous owner that passed its check and has not committed.
//
// So a node answers from memory only for an epoch of ownership during which every change
// to blob metadata went through it, and its memory (cacheTable) starts empty with each
// epoch. When another node writes, the owner gives way within a notification's delay;
// when no other node has written for ownerTiming.quiet, it takes ownership again.
type blobOwner struct {
	dsn    string
	node   string
	timing ownerTiming
	state  atomic.Pointer[ownerState] // nil while not the owner
	epoch  uint64                     // the last epoch handed out; the run loop's own
	cancel context.CancelFunc
	done   chan struct{}
}

// ownerState is one ownership, as long as its lease lasts on this node's clock.
type ownerState struct {
	epoch uint64
	fence int64
	until time.Time
}

type ownerTiming struct {
	lease time.Duration // how long a lease lasts after it is written; 0: never own
	renew time.Duration // how often the owner renews it
	retry time.Duration // how often a node that is not the owner tries to become it
	quiet time.Duration // how long after another node's last write before it tries
}

var defaultOwnerTiming = ownerTiming{lease: 2 * time.Second, renew: 400 * time.Millisecond, retry: time.Second, quiet: 10 * time.Second}

// ownerWriteSQL is the guard of the owner's writes (see blobOwner), with the fence as
// both arguments; CASE takes the lock before the lease is read. The statement's snapshot
// may predate the lock, and so miss a newer owner's row: that is safe, since a new owner
// takes over only after the old lease has ended, which the clock then tells.
const ownerWriteSQL = "CASE WHEN pg_try_advisory_xact_lock_shared(?) THEN EXISTS (SELECT 1 FROM blob_cache_owner WHERE id = 1 AND fence = ? AND until > " +
	sqlstore.NowMicrosSQL + ") ELSE FALSE END"

func newBlobOwner(dsn string, timing ownerTiming) *blobOwner {
	var b [8]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	o := &blobOwner{dsn: dsn, node: fmt.Sprintf("%x", b), timing: timing, cancel: cancel, done: make(chan struct{})}
	if timing.lease == 0 { // never the owner: it only guards its writes
		close(o.done)
		return o
	}
	go o.run(ctx)
	return o
}

// current returns the ownership in force now, or nil.
func (o *blobOwner) current() *ownerState {
	st := o.state.Load()
	if st == nil || !time.Now().Before(st.until) {
		return nil
	}
	return st
}

// close gives up ownership, if held, and stops.
func (o *blobOwner) close() {
	o.cancel()
	<-o.done
}

func (o *blobOwner) run(ctx context.Context) {
	defer close(o.done)
	sqlstore.Redial(ctx, func(_ bool, up func()) error { return o.session(ctx, up) }, func(error) { o.state.Store(nil) })
	o.state.Store(nil)
}

// session holds one connection for the ownership lock and its lease until the connection
// fails or ctx ends. The lock goes with the connection.
func (o *blobOwner) session(ctx context.Context, up func()) error {
	conn, err := pgx.Connect(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var channel string
	if err := conn.QueryRow(ctx, "SELECT 'lanyard_blob_owner_' || current_schema()").Scan(&channel); err != nil {
		return err
	}
	// The lock_timeout bounds the wait for a previous owner's writes (acquire), during
	// which writers of other nodes wait too.
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d; LISTEN %s", o.timing.lease.Milliseconds(), pgx.Identifier{channel}.Sanitize())); err != nil {
		return err
	}
	up()
	var quietUntil time.Time
	next := time.Now() // when to renew the lease, or try to take one
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			if o.state.Load() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				_ = o.release(rctx, conn) // failing, the lease just runs out
				cancel()
			}
			return nil
		case err == nil: // another node wants to write
			quietUntil = time.Now().Add(o.timing.quiet)
			next = quietUntil
			if o.state.Load() != nil {
				actx, cancel := context.WithTimeout(ctx, o.timing.lease)
				err := o.release(actx, conn)
				cancel()
				if err != nil {
					return err
				}
			}
			continue
		case wctx.Err() == nil:
			return err // the connection failed
		}
		// A connection that stops answering must not hold this loop for longer than a
		// lease: the lease runs out meanwhile, and the loop starts a new session.
		actx, cancel := context.WithTimeout(ctx, o.timing.lease)
		switch {
		case o.state.Load() != nil:
			err = o.renew(actx, conn)
		case time.Now().Before(quietUntil):
		default:
			err = o.acquire(actx, conn)
		}
		cancel()
		if err != nil {
			return err
		}
		next = time.Now().Add(o.timing.retry)
		if o.state.Load() != nil {
			next = time.Now().Add(o.timing.renew)
		}
		if next.Before(quietUntil) {
			next = quietUntil
		}
	}
}

// acquire takes ownership if no other node holds it or may still act on it.
func (o *blobOwner) acquire(ctx context.Context, conn *pgx.Conn) error {
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))", sqlstore.BlobOwnerLockClass).Scan(&ok); err != nil || !ok {
		return err
	}
	var left, prevFence int64
	err := conn.QueryRow(ctx, "SELECT until - "+sqlstore.NowMicrosSQL+", fence FROM blob_cache_owner WHERE id = 1").Scan(&left, &prevFence)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		left, prevFence = 0, 0
	case err != nil:
		return err
	}
	if left > 0 { // the previous owner may still answer from memory: try again later
		_, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", sqlstore.BlobOwnerLockClass)
		return err
	}
	if prevFence != 0 {
		// Wait for the previous owner's writes that passed their check before its lease
		// ended; later ones fail it.
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", prevFence); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", prevFence); err != nil {
			return err
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	fence := int64(binary.LittleEndian.Uint64(b[:])&(1<<62-1)) + 1
	start := time.Now()
	if _, err := conn.Exec(ctx, "INSERT INTO blob_cache_owner (id, node, fence, until) VALUES (1, $1, $2, "+sqlstore.NowMicrosSQL+" + $3)"+
		" ON CONFLICT (id) DO UPDATE SET node = excluded.node, fence = excluded.fence, until = excluded.until",
		o.node, fence, o.timing.lease.Microseconds()); err != nil {
		return err
	}
	o.epoch++
	o.state.Store(&ownerState{epoch: o.epoch, fence: fence, until: start.Add(o.timing.lease)})
	return nil
}

// renew extends the lease: from before the statement on this node's clock, from after it
// (at the latest) on the database's, so that the row outlasts what this node believes.
func (o *blobOwner) renew(ctx context.Context, conn *pgx.Conn) error {
	st := o.state.Load()
	start := time.Now()
	tag, err := conn.Exec(ctx, "UPDATE blob_cache_owner SET until = "+sqlstore.NowMicrosSQL+" + $2 WHERE id = 1 AND fence = $1",
		st.fence, o.timing.lease.Microseconds())
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errors.New("sqlmeta: blob owner: the lease row changed under its owner")
	}
	o.state.Store(&ownerState{epoch: st.epoch, fence: st.fence, until: start.Add(o.timing.lease)})
	return nil
}

// release stops answering from memory, ends the lease and unlocks, in that order.
func (o *blobOwner) release(ctx context.Context, conn *pgx.Conn) error {
	st := o.state.Swap(nil)
	if _, err := conn.Exec(ctx, "UPDATE blob_cache_owner SET until = "+sqlstore.NowMicrosSQL+" WHERE id = 1 AND fence = $1", st.fence); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", sqlstore.BlobOwnerLockClass)
	return err
}

// guardSQL returns the condition a write statement carries (see blobOwner) and its
// argument, for the ownership st (nil: this node is not the owner).
func guardSQL(st *ownerState) (string, []any) {
	if st != nil {
		return ownerWriteSQL, []any{st.fence, st.fence}
	}
	return "lanyard_blob_permit() = 0", nil
}

// permitWait bounds how long a writer asks an owner to let go before it gives up.
const permitWait = 10 * time.Second

// permit guards a write transaction of a node that is not the owner (see blobOwner): it
// holds the ownership lock shared until tx ends, asking an owner to let go if there is
// one, and waits out the lease of one that may still answer from memory. It asks again
// each time it finds the lock still held, every few milliseconds, so that an owner that
// let go and took the lock again before this writer came back for it is asked anew; each
// ask also holds the owner off for its quiet period.
func (m *blobMeta) permit(ctx context.Context, tx sqlDB) error {
	deadline := time.Now().Add(permitWait)
	var left int64
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		if err := tx.queryRow(ctx, "SELECT lanyard_blob_permit()").Scan(&left); err != nil {
			return err
		}
		if left >= 0 {
			break
		}
		if time.Now().After(deadline) {
			return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: "StoreUnavailable",
				Message: "Another node holds the blob metadata and has not let go; try again shortly."}
		}
		if _, err := m.s.exec(ctx, "SELECT pg_notify('lanyard_blob_owner_' || current_schema(), 'release')"); err != nil {
			return err
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
	}
	return sleepCtx(ctx, time.Duration(left)*time.Microsecond)
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

// errOwnershipLost: the owner's guard failed in a transaction, which now holds the lock
// on the old fence that a new owner waits for; rerun.
var errOwnershipLost = errors.New("sqlmeta: this node's ownership of the blob metadata ended")

// guard guards a write transaction (see blobOwner) and returns the ownership it wrote
// under, or nil.
func (m *blobMeta) guard(ctx context.Context, tx sqlDB) (*ownerState, error) {
	if m.owner == nil {
		return nil, nil
	}
	if st := m.owner.current(); st != nil {
		var ok bool
		if err := tx.queryRow(ctx, "SELECT "+ownerWriteSQL, st.fence, st.fence).Scan(&ok); err != nil {
			return nil, err
		}
		if !ok {
			return nil, errOwnershipLost
		}
		return st, nil
	}
	return nil, m.permit(ctx, tx)
}
