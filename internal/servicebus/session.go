package servicebus

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Session receivers. A receiver of a session-enabled entity attaches with the source
// filter com.microsoft:session-filter naming a session, or null for the next one with
// available messages; the broker answers the attach only once it holds the session's lock
// (waiting up to the client's com.microsoft:timeout for one), with the session id in the
// filter and the lock's expiry in the attach's com.microsoft:locked-until-utc. The link
// then receives that session's messages only, while the lock holds; it is released when
// the link ends.

const (
	filterSession     = amqp.Symbol("com.microsoft:session-filter")
	propertyLockedUTC = amqp.Symbol("com.microsoft:locked-until-utc")
	propertyTimeout   = amqp.Symbol("com.microsoft:timeout")

	condSessionCannotBeLocked = amqp.Symbol("com.microsoft:session-cannot-be-locked")
	condSessionLockLost       = amqp.Symbol("com.microsoft:session-lock-lost")
	condTimeout               = amqp.Symbol("com.microsoft:timeout")
)

// Bounds on how long an accept of the next session waits for one: Service Bus's default
// operation timeout when the client names none, and no longer than a few minutes.
const (
	defaultAcceptTimeout = time.Minute
	maxAcceptTimeout     = 5 * time.Minute
)

// sessionHold is the session lock a receiving link holds; renewals move its expiry.
type sessionHold struct {
	mu   sync.Mutex
	lock messaging.SessionLock
}

func (h *sessionHold) get() messaging.SessionLock {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lock
}

func (h *sessionHold) renewed(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lock.LockedUntil = until
}

// sessionFilter reads a source's session filter: whether it has one, and the session it
// names ("" for the next available). A filter's value may come described (go-amqp) or
// bare.
func sessionFilter(src *amqp.Source) (id string, ok bool, bad bool) {
	if src == nil {
		return "", false, false
	}
	v, ok := src.Filter.Get(filterSession)
	if !ok {
		return "", false, false
	}
	if d, described := v.(amqp.Described); described {
		v = d.Value
	}
	switch v := v.(type) {
	case nil:
		return "", true, false
	case string:
		return v, true, messaging.CheckSessionID(v) != nil
	}
	return "", true, true
}

// checkSessionLink refuses a receiver whose session filter does not fit its entity, as
// Service Bus does.
func checkSessionLink(q lanyard.ServiceBusQueue, a address, l *amqp.Link, kind linkKind) *amqp.Error {
	if kind != kindReceiver {
		return nil
	}
	_, hasFilter, bad := sessionFilter(l.Source)
	switch {
	case bad:
		return amqpError(amqp.ErrInvalidField, "The session filter must name a session (a string of 1 to %d characters) or be null.", messaging.MaxSessionIDLength)
	case hasFilter && (!q.RequiresSession || a.sub == messaging.DeadLetter):
		return amqpError(amqp.ErrNotAllowed, "A sessionful message receiver cannot be created on an entity that does not require sessions. Ensure RequiresSession is set to true when creating a Queue or Subscription to enable sessionful behavior.")
	case !hasFilter && q.RequiresSession && a.sub == messaging.Active:
		return amqpError(amqp.ErrNotAllowed, "It is not possible for an entity that requires sessions to create a non-sessionful message receiver.")
	}
	return nil
}

// applySessionRule checks a message sent to q (a queue, or a subscription a topic's
// message is copied to): a session-enabled entity takes only messages with a session id
// (their group-id); on another entity the session id stays in the message but means
// nothing to the broker.
func applySessionRule(q lanyard.ServiceBusQueue, m *messaging.Message) *amqp.Error {
	if !q.RequiresSession {
		m.SessionID = ""
		return nil
	}
	if m.SessionID == "" {
		return amqpError(amqp.ErrNotAllowed, "The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.")
	}
	if len(m.SessionID) > messaging.MaxSessionIDLength {
		return amqpError(amqp.ErrInvalidField, "The SessionId of a message is longer than %d characters.", messaging.MaxSessionIDLength)
	}
	return nil
}

// acceptTimeout is how long an accept waits: the client's com.microsoft:timeout
// (milliseconds), bounded, less a tenth (at most a second) so that the answer reaches a
// loaded client before its own deadline (azservicebus leaves only 1% for the way back).
func acceptTimeout(l *amqp.Link) time.Duration {
	if l.Remote == nil {
		return defaultAcceptTimeout
	}
	v, _ := l.Remote.Properties.Get(propertyTimeout)
	var ms int64
	switch v := v.(type) {
	case uint32:
		ms = int64(v)
	case int32:
		ms = int64(v)
	case uint64:
		ms = int64(min(v, uint64(maxAcceptTimeout.Milliseconds())))
	case int64:
		ms = v
	default:
		return defaultAcceptTimeout
	}
	if ms <= 0 {
		return defaultAcceptTimeout
	}
	d := min(time.Duration(ms)*time.Millisecond, maxAcceptTimeout)
	return d - min(d/10, time.Second)
}

// acceptSession takes the session a receiver's filter asks for, then answers its attach
// and starts its deliveries; it runs on a goroutine of its own (the attach was deferred).
func (c *connection) acceptSession(lk *link) {
	l := lk.amqp
	id, _, _ := sessionFilter(l.Source)
	timeout := time.NewTimer(acceptTimeout(l))
	defer timeout.Stop()
	store := c.b.cfg.Store
	for {
		q := QueueOf(lk.queue.Load())
		arrivals := store.Arrivals(q, messaging.Active)
		var (
			lock messaging.SessionLock
			err  error
		)
		if id != "" {
			lock, err = store.AcceptSession(c.ctx, q, id)
		} else {
			lock, err = store.AcceptNextSession(c.ctx, q)
		}
		if err == nil {
			c.startSession(lk, q, lock)
			return
		}
		if !errors.Is(err, messaging.ErrNoSessionAvailable) {
			_ = l.CompleteAttach(sessionCondition(err))
			return
		}
		poll := time.NewTimer(c.b.cfg.RedeliveryPoll)
		select {
		case <-arrivals:
		case <-poll.C:
		case <-timeout.C:
			poll.Stop()
			_ = l.CompleteAttach(amqpError(condTimeout, "No session with available messages was found in time: no sessions available."))
			return
		case <-l.Detached():
			poll.Stop()
			return
		case <-c.ctx.Done():
			poll.Stop()
			return
		}
		poll.Stop()
	}
}

// startSession answers the attach with the session taken, serves the link's deliveries,
// and releases the session when the link ends.
func (c *connection) startSession(lk *link, q messaging.Queue, lock messaging.SessionLock) {
	l := lk.amqp
	lk.session = &sessionHold{lock: lock}
	// The filter answers with the session taken, in the form it was asked in: described
	// (go-amqp reads only that) or bare (rhea compares the bare value to a string).
	src := *l.Source
	src.Filter = append(amqp.Map(nil), l.Source.Filter...)
	var answer any = lock.SessionID
	if v, _ := src.Filter.Get(filterSession); v != nil {
		if d, described := v.(amqp.Described); described {
			answer = amqp.Described{Descriptor: d.Descriptor, Value: lock.SessionID}
		}
	}
	src.Filter.Set(filterSession, answer)
	l.Source = &src
	l.Properties.Set(propertyLockedUTC, dotNetTicks(lock.LockedUntil))
	c.mu.Lock()
	c.links[l] = lk
	c.mu.Unlock()
	if err := l.CompleteAttach(nil); err != nil {
		c.releaseSession(lk, q)
		return
	}
	c.work.Go(func() {
		defer c.releaseSession(lk, q)
		stop := make(chan struct{})
		defer close(stop)
		c.work.Go(func() { c.watchSessionLock(lk, stop) })
		c.serveDeliveries(lk)
	})
}

func (c *connection) releaseSession(lk *link, q messaging.Queue) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
	defer cancel()
	if err := c.b.cfg.Store.ReleaseSession(ctx, q, lk.session.get()); err != nil {
		c.log.Warn("releasing a session failed", "entity", lk.entity, "err", err)
	}
}

// watchSessionLock detaches the link once its session lock expires unrenewed: its
// operations would fail from then on, and the session is another receiver's to take.
func (c *connection) watchSessionLock(lk *link, stop <-chan struct{}) {
	for {
		wait := time.Until(lk.session.get().LockedUntil)
		if wait <= 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
	_ = lk.amqp.Detach(sessionCondition(messaging.ErrSessionLockLost))
}

// take is what serveDeliveries receives: the queue's messages, or a session link's.
func (c *connection) take(lk *link, q messaging.Queue, max int) ([]messaging.Stored, error) {
	if lk.session == nil {
		return c.b.cfg.Store.Receive(c.ctx, q, lk.addr.sub, lk.mode, max)
	}
	msgs, err := c.b.cfg.Store.ReceiveSession(c.ctx, q, lk.session.get(), lk.mode, max)
	if errors.Is(err, messaging.ErrSessionLockLost) {
		_ = lk.amqp.Detach(sessionCondition(err))
	}
	return msgs, err
}

// settleError is a settlement's failure as a session link reports it: once its session
// lock is gone, its messages' locks are lost with it.
func settleError(lk *link, err error, now time.Time) error {
	if lk.session != nil && errors.Is(err, messaging.ErrLockLost) && !now.Before(lk.session.get().LockedUntil) {
		return messaging.ErrSessionLockLost
	}
	return err
}

// sessionCondition maps the session errors to Service Bus's conditions.
func sessionCondition(err error) *amqp.Error {
	switch {
	case errors.Is(err, messaging.ErrSessionLockLost):
		return amqpError(condSessionLockLost, "The session lock has expired on the MessageSession. Accept a new MessageSession.")
	case errors.Is(err, messaging.ErrSessionCannotBeLocked):
		return amqpError(condSessionCannotBeLocked, "The requested session cannot be accepted. It may be locked by another receiver.")
	case errors.Is(err, messaging.ErrNoSessionAvailable):
		return amqpError(condTimeout, "No session with available messages was found: no sessions available.")
	}
	return conditionOf(err)
}

// dotNetTicks is t as .NET's DateTime ticks (100ns since 0001-01-01), as Service Bus sends
// com.microsoft:locked-until-utc.
func dotNetTicks(t time.Time) int64 {
	const epochTicks = int64(621355968000000000)
	return epochTicks + t.UnixMilli()*10000
}
