// Package messaging is Service Bus's queue semantics, free of AMQP and of any storage
// engine: what a queue holds, how a message is locked, settled, redelivered and
// dead-lettered. The AMQP surface (internal/servicebus) speaks it; backends implement
// Store and prove it with messagingtest.Run.
package messaging

import (
	"context"
	"encoding/hex"
	"errors"
	"time"
)

// Queue is what a store needs to know of an entity to apply its rules. The surface reads
// it from the directory on each call, so a changed setting applies at once.
//
// Stores compare Namespace and Name exactly, byte for byte: the surface passes them in
// one canonical form (Service Bus names are case-insensitive).
type Queue struct {
	Namespace string
	// Name is the entity path within the namespace, as the SDKs address it: "q1" for a
	// queue (part 2: "topic/Subscriptions/sub" for a subscription).
	Name string
	// LockDuration is how long a peek-locked message stays invisible to other receivers:
	// the lock is held while now < LockedUntil. Receive, Abandon and RenewLock refuse a
	// non-positive one (ErrInvalid).
	LockDuration time.Duration
	// MaxDeliveryCount is how many times a message may be locked; once a message locked
	// that many times is abandoned or its lock expires, it moves to the dead-letter queue.
	// Receive, Abandon and RenewLock refuse a non-positive one (ErrInvalid).
	MaxDeliveryCount int
	// DeadLetterOnExpiration moves expired messages to the dead-letter queue instead of
	// dropping them.
	DeadLetterOnExpiration bool
	// DuplicateDetectionWindow, when positive, turns on duplicate detection: a message
	// whose MessageID was accepted for the queue less than this long before is accepted
	// again but not stored (Service Bus's RequiresDuplicateDetection with its
	// DuplicateDetectionHistoryTimeWindow). Zero: every message is stored.
	DuplicateDetectionWindow time.Duration
}

// SubQueue selects a queue's main queue or its dead-letter queue ($DeadLetterQueue).
type SubQueue int

const (
	Active SubQueue = iota
	DeadLetter
)

// DeadLetterQueueSuffix is how the SDKs address a queue's dead-letter queue.
const DeadLetterQueueSuffix = "/$DeadLetterQueue"

// Reasons the broker itself dead-letters a message, as Service Bus names them.
const (
	ReasonMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded"
	ReasonTTLExpired               = "TTLExpiredException"
)

// ReceiveMode is how a receiver takes messages.
type ReceiveMode int

const (
	// PeekLock locks each message for the queue's lock duration; the receiver settles it.
	PeekLock ReceiveMode = iota
	// ReceiveAndDelete removes each message as it is taken.
	ReceiveAndDelete
)

// LockToken identifies one lock on one message. It is in RFC 4122 byte order; the AMQP
// surface swaps it to .NET's order on the wire.
type LockToken [16]byte

func (t LockToken) String() string { return hex.EncodeToString(t[:]) }

// MaxMessageSize is the largest Raw a store accepts (Service Bus Premium's limit); a larger
// one, or an empty one, is ErrInvalid.
const MaxMessageSize = 1 << 20

// Message is what a sender hands the store.
type Message struct {
	// Raw is the AMQP message as sent (its encoded sections). The store keeps it as is;
	// the surface adds the broker's annotations when it delivers.
	Raw []byte
	// MessageID is the sender's message id, as a string, for logs and duplicate
	// detection (an empty one is never a duplicate).
	MessageID string
	// ExpiresAt is when the message expires (enqueued time + time to live); zero: never.
	ExpiresAt time.Time
	// ScheduledAt, when after the store's now at Send, schedules the message: it takes
	// its sequence number at once but is not available (nor expires) before that time,
	// when it is enqueued with EnqueuedAt = ScheduledAt. Zero or past: enqueued at once.
	ScheduledAt time.Time
	// SessionID is the message's session on a session-enabled queue (see Sessions):
	// Receive takes messages whatever their session; ReceiveSession only its own. Empty:
	// none (at most MaxSessionIDLength bytes).
	SessionID string
}

// MessageState is where a message of a sub-queue stands, as Service Bus's
// x-opt-message-state annotation numbers it.
type MessageState int

const (
	// StateActive is a message receivers take (available or locked).
	StateActive MessageState = 0
	// StateDeferred is a message a receiver deferred: only ReceiveDeferred takes it.
	StateDeferred MessageState = 1
	// StateScheduled is a message not yet enqueued (Message.ScheduledAt in the future).
	StateScheduled MessageState = 2
)

// Stored is a message as the store holds it.
type Stored struct {
	Message
	SequenceNumber int64 // unique within the queue, its sub-queues included; starts at 1
	EnqueuedAt     time.Time
	SubQueue       SubQueue
	State          MessageState
	// DeliveryCount is how many times the message has been locked, this lock included:
	// 1 on its first peek-locked delivery (Service Bus's DeliveryCount). Receive-and-delete
	// and peek do not count.
	DeliveryCount int
	// LockToken is set only in what Receive returns with PeekLock: Peek never shows one,
	// since whoever holds a token can settle the message.
	LockToken   LockToken
	LockedUntil time.Time // zero unless locked (Peek shows a lock that is still held)
	// Why the message was dead-lettered, and from where, if it was.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Counts are a queue's messages, as Azure's countDetails gives them.
type Counts struct {
	Active     int64
	DeadLetter int64
	// Scheduled counts the messages not yet enqueued; Active counts deferred messages
	// (as Service Bus does) but not scheduled ones.
	Scheduled int64
}

// Errors a store returns; backends wrap their own causes with %w.
var (
	// ErrLockLost is a settlement or renewal of a lock that expired, was settled already,
	// or never existed (Service Bus's MessageLockLost).
	ErrLockLost = errors.New("messaging: the lock is lost: it expired, or the message was settled or never locked")
	// ErrInvalid is an argument the store refuses (an empty name, a non-positive count).
	ErrInvalid = errors.New("messaging: invalid argument")
	// ErrMessageNotFound is a sequence number that names no message in the state an
	// operation needs (ReceiveDeferred: not a deferred message, or one locked already;
	// Service Bus's MessageNotFound).
	ErrMessageNotFound = errors.New("messaging: no such message")
)

// Store is a durable home for queues' messages. Every method that changes state returns
// only once the change is on disk: an accepted send is never lost, a completed message
// never comes back. Queues need no creation: a name holds messages once sent to.
//
// Locks are the exception: what Receive does in PeekLock (take locks, count deliveries,
// apply the queue's rules), RenewLock and Release may be undone by a crash of the machine
// until a later durable change. A lock lost so only makes its message available again
// (its token dies with the receiver's connection anyway), and the message's delivery
// count may then be lower than the deliveries made; a release lost so leaves the message
// locked, counted, until the lock expires. The rules' changes follow from the clock and
// the stored state, and the next Receive makes them again. A backend may make all of
// these durable too.
//
// A call whose ctx is done before the store starts on it changes nothing and returns
// ctx's error. Methods are safe for concurrent use; two receivers never both hold a lock
// on one message.
type Store interface {
	// Send appends msgs to q's active queue, all or none, and returns their sequence
	// numbers in order. A message with a future ScheduledAt is scheduled rather than
	// available. With q.DuplicateDetectionWindow positive, a message whose non-empty
	// MessageID was accepted for q within the window before now (by this call included)
	// is accepted but not stored, and its sequence number is 0; the window runs from the
	// first acceptance, which a duplicate does not extend. An empty msgs is ErrInvalid.
	Send(ctx context.Context, q Queue, msgs []Message) ([]int64, error)
	// Receive takes up to max available messages in sequence order without waiting: with
	// PeekLock it locks each one (a fresh token, LockedUntil = now + q.LockDuration, its
	// DeliveryCount incremented); with ReceiveAndDelete it removes them. Before taking, it
	// applies the queue's rules: expired messages of the active queue are dropped or
	// dead-lettered (ReasonTTLExpired), and a message whose lock expired after its
	// MaxDeliveryCount-th delivery is dead-lettered (ReasonMaxDeliveryCountExceeded).
	// Messages of the dead-letter queue do not expire. Scheduled messages whose time has
	// come are enqueued first. Deferred messages are never taken (see ReceiveDeferred),
	// and do not expire. A non-positive max is ErrInvalid.
	Receive(ctx context.Context, q Queue, sub SubQueue, mode ReceiveMode, max int) ([]Stored, error)
	// Arrivals returns a channel closed when q's sub-queue may have gained an available
	// message after the call (a send, an abandon, a dead-lettering). Lock expiry and a
	// scheduled time coming are time, not events: receivers also retry on a timer.
	Arrivals(q Queue, sub SubQueue) <-chan struct{}
	// Complete removes a locked message (a deferred one too). ErrLockLost if the lock is
	// not held.
	Complete(ctx context.Context, q Queue, sub SubQueue, token LockToken) error
	// Abandon releases a lock: the message is available again at once, or dead-lettered
	// if it has reached q.MaxDeliveryCount deliveries (active queue only). A deferred
	// message locked by ReceiveDeferred goes back to deferred instead, whatever its
	// deliveries (so does one whose lock expires). raw, if not nil, replaces the
	// message's encoding (the surface applied properties-to-modify).
	Abandon(ctx context.Context, q Queue, sub SubQueue, token LockToken, raw []byte) error
	// Release gives a lock back without counting the delivery: the message is available
	// again at once with the delivery count it had before it was locked, and is never
	// dead-lettered for it. It is for deliveries no receiver processed (AMQP's released
	// outcome, which Service Bus does not count). ErrLockLost if the lock is not held.
	Release(ctx context.Context, q Queue, sub SubQueue, token LockToken) error
	// DeadLetter moves a locked message of the active queue (a deferred one too) to the
	// dead-letter queue with the receiver's reason and description. raw as for Abandon.
	DeadLetter(ctx context.Context, q Queue, token LockToken, reason, description string, raw []byte) error
	// Defer releases a lock and defers the message: Receive no longer takes it, only
	// ReceiveDeferred by its sequence number. ErrLockLost if the lock is not held. raw as
	// for Abandon.
	Defer(ctx context.Context, q Queue, sub SubQueue, token LockToken, raw []byte) error
	// Publish stores what one send to a topic fans out, all or none: the copies of each
	// publication, each in its subscription's queue. Each publication not a duplicate
	// takes sequence numbers from topic's own counter, in order (Service Bus numbers a
	// topic's messages, not each subscription's): as many as the most copies it has for
	// one queue (at least one), the i-th copy for a queue numbered first+i, so that each
	// queue's first copy has the publication's number. Publish returns each
	// publication's first number, in the order of pubs. With topic.DuplicateDetectionWindow positive, a
	// publication whose non-empty MessageID was accepted for topic within the window is
	// accepted, none of its copies stored, and its number is 0 (as Send for a queue). A
	// publication without copies (no rule matched) is accepted and dropped. A copy with
	// a DeadLetterReason goes to its queue's dead-letter queue, numbered as the others. An empty pubs,
	// or a copy for a queue of another namespace, is ErrInvalid.
	Publish(ctx context.Context, topic Queue, pubs []Publication) ([]int64, error)
	// ReceiveDeferred takes the deferred messages of q's sub-queue with the sequence
	// numbers seqs, all or none, in the order of seqs: with PeekLock it locks each (as
	// Receive does; settled, they leave, abandoned or expired, they are deferred again);
	// with ReceiveAndDelete it removes them. ErrMessageNotFound if a number names no
	// deferred message or one locked already; an empty seqs, or one number twice, is
	// ErrInvalid.
	ReceiveDeferred(ctx context.Context, q Queue, sub SubQueue, mode ReceiveMode, seqs []int64) ([]Stored, error)
	// CancelScheduled removes the scheduled (not yet enqueued) messages of q with the
	// sequence numbers seqs. Numbers that name no scheduled message (enqueued already,
	// cancelled, unknown) are ignored, so that a client's retry succeeds. An empty seqs is
	// ErrInvalid.
	CancelScheduled(ctx context.Context, q Queue, seqs []int64) error
	// RenewLock extends each lock (deferred messages' too) to now + q.LockDuration and
	// returns the new expiries in order. ErrLockLost if any lock is not held (none is
	// renewed then). An empty tokens is ErrInvalid.
	RenewLock(ctx context.Context, q Queue, sub SubQueue, tokens []LockToken) ([]time.Time, error)
	// Peek returns up to max messages with sequence numbers >= from, locked or not,
	// deferred and scheduled ones included (State tells them), without locking or
	// counting a delivery, and without applying the queue's rules: it changes nothing. A
	// non-positive max is ErrInvalid.
	Peek(ctx context.Context, q Queue, sub SubQueue, from int64, max int) ([]Stored, error)
	// Counts returns q's message counts, locked messages included. Like Peek it applies
	// no rules: messages that expired but were not yet received still count.
	Counts(ctx context.Context, q Queue) (Counts, error)
	// DeleteQueue removes every message of the named queue, its dead-letter queue
	// included, and forgets its sequence numbers, the message ids it saw and its
	// sessions (states and locks). For a topic it does so for the queues of its
	// subscriptions too: every queue named name + "/...".
	DeleteQueue(ctx context.Context, namespace, name string) error
	// DeleteNamespace is DeleteQueue for every queue of namespace.
	DeleteNamespace(ctx context.Context, namespace string) error
	// Sessions serves session-enabled queues (sessions.go).
	Sessions
	// Ready reports whether the store can take writes (nil) or why not.
	Ready() error
	Close() error
}
