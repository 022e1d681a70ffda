package messaging

import (
	"context"
	"errors"
	"time"
)

// Sessions are Service Bus's message sessions on a queue that requires them: every
// message carries a session id (Message.SessionID), and a receiver takes a session's
// messages only once it holds that session's lock, which one receiver holds at a time.
// Within a session messages are taken in sequence order; a session also keeps a state, a
// byte string its receivers set.
//
// A session exists while it has messages, a state, or a lock: it needs no creation.

// MaxSessionIDLength is Service Bus's limit on a session id.
const MaxSessionIDLength = 128

// MaxSessionStateSize bounds a session's state (Service Bus keeps it within the entity's
// message size).
const MaxSessionStateSize = MaxMessageSize

// SessionLock is a held lock on one session of a queue.
type SessionLock struct {
	SessionID   string
	Token       LockToken
	LockedUntil time.Time
}

// Errors of the session operations.
var (
	// ErrSessionCannotBeLocked is an accept of a session another receiver holds (Service
	// Bus's SessionCannotBeLocked).
	ErrSessionCannotBeLocked = errors.New("messaging: the session is locked by another receiver")
	// ErrSessionLockLost is an operation under a session lock that expired, was released,
	// or was taken over (Service Bus's SessionLockLost).
	ErrSessionLockLost = errors.New("messaging: the session lock is lost: it expired or was released")
	// ErrNoSessionAvailable is an accept of the next session when no unlocked session has
	// an available message.
	ErrNoSessionAvailable = errors.New("messaging: no session with available messages")
)

// Sessions is the part of Store that serves session-enabled queues. Session locks are
// like message locks for durability: taking, renewing and releasing one may be undone by
// a crash (a lock lost so makes the session acceptable again); a state set is durable.
type Sessions interface {
	// AcceptSession locks the session id of q's active queue for q.LockDuration, whether
	// or not it has messages, and returns the lock. ErrSessionCannotBeLocked if another
	// lock on it is held. Taking a session releases the message locks left in it by an
	// earlier holder (their deliveries stay counted). An empty or over-long id is
	// ErrInvalid.
	AcceptSession(ctx context.Context, q Queue, sessionID string) (SessionLock, error)
	// AcceptNextSession locks, as AcceptSession, the unlocked session whose oldest
	// available message has the lowest sequence number, after applying the queue's rules
	// as Receive does. ErrNoSessionAvailable if no unlocked session has one.
	AcceptNextSession(ctx context.Context, q Queue) (SessionLock, error)
	// RenewSessionLock extends a held session lock to now + q.LockDuration, and the locks on
	// the session's messages its holder took with it (as Service Bus, where a session's
	// messages stay locked while the session is), and returns the new expiry.
	// ErrSessionLockLost if it is not held.
	RenewSessionLock(ctx context.Context, q Queue, lock SessionLock) (time.Time, error)
	// ReleaseSession gives a session lock back (its receiver detached): the session is
	// acceptable at once, and the messages locked in it are available again with their
	// deliveries counted. Releasing a lock no longer held does nothing.
	ReleaseSession(ctx context.Context, q Queue, lock SessionLock) error
	// ReceiveSession is Receive on q's active queue restricted to the messages of the
	// session lock holds, in sequence order; messages of other sessions are never taken.
	// ErrSessionLockLost if the lock is not held.
	ReceiveSession(ctx context.Context, q Queue, lock SessionLock, mode ReceiveMode, max int) ([]Stored, error)
	// PeekSession is Peek on q's active queue restricted to the messages of sessionID
	// (no lock needed: peeking changes nothing).
	PeekSession(ctx context.Context, q Queue, sessionID string, from int64, max int) ([]Stored, error)
	// SessionState returns the session's state (nil if none). ErrSessionLockLost if lock
	// is not held.
	SessionState(ctx context.Context, q Queue, lock SessionLock) ([]byte, error)
	// SetSessionState sets the session's state, durably; nil clears it. ErrSessionLockLost
	// if lock is not held; a state over MaxSessionStateSize is ErrInvalid.
	SetSessionState(ctx context.Context, q Queue, lock SessionLock, state []byte) error
	// ListSessions returns the ids of q's sessions in id order, skipping skip and at most
	// top (ErrInvalid if not positive). With a zero updatedAfter: the sessions with
	// messages in the active queue (of any state) or with a state; otherwise the sessions
	// whose state was set (or cleared) after updatedAfter.
	ListSessions(ctx context.Context, q Queue, updatedAfter time.Time, skip, top int) ([]string, error)
}

// CheckSessionID refuses an empty or over-long session id.
func CheckSessionID(id string) error {
	if id == "" || len(id) > MaxSessionIDLength {
		return Invalid("session id of %d bytes (1 to %d)", len(id), MaxSessionIDLength)
	}
	return nil
}
