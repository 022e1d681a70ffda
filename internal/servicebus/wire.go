package servicebus

import (
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Message annotations Service Bus puts on what it delivers, and the SDKs read.
const (
	annotationSequenceNumber = amqp.Symbol("x-opt-sequence-number")
	annotationEnqueuedTime   = amqp.Symbol("x-opt-enqueued-time")
	annotationLockedUntil    = amqp.Symbol("x-opt-locked-until")
	annotationDeadLetterFrom = amqp.Symbol("x-opt-deadletter-source")
	annotationMessageState   = amqp.Symbol("x-opt-message-state")
	// annotationScheduledTime is what a sender sets to schedule a message.
	annotationScheduledTime = amqp.Symbol("x-opt-scheduled-enqueue-time")
	// annotationLockToken is the delivery annotation that gives the lock token of a
	// message received through $management (it has no delivery tag), in RFC 4122 order.
	annotationLockToken = amqp.Symbol("x-opt-lock-token")
)

// Application properties a dead-lettered message carries.
const (
	propertyDeadLetterReason      = "DeadLetterReason"
	propertyDeadLetterDescription = "DeadLetterErrorDescription"
)

// dotNetOrder swaps a lock token between RFC 4122 byte order and .NET's GUID layout
// (little-endian first three fields), the order of delivery tags on the wire. The swap
// is its own inverse.
func dotNetOrder(t [16]byte) [16]byte {
	t[0], t[1], t[2], t[3] = t[3], t[2], t[1], t[0]
	t[4], t[5] = t[5], t[4]
	t[6], t[7] = t[7], t[6]
	return t
}

// incoming is a message a sender sent, as the store keeps it.
func incoming(m *amqp.Message, raw []byte, now time.Time, defaultTTL time.Duration) messaging.Message {
	out := messaging.Message{Raw: raw}
	if m.Properties != nil && m.Properties.MessageID != nil {
		out.MessageID = fmt.Sprint(m.Properties.MessageID)
	}
	if m.Properties != nil {
		out.SessionID = m.Properties.GroupID // kept only by session-enabled entities
	}
	// A scheduled message's time to live runs from when it is enqueued.
	enqueued := now
	if v, ok := m.MessageAnnotations.Get(annotationScheduledTime); ok {
		if at, ok := v.(time.Time); ok && at.After(now) {
			out.ScheduledAt, enqueued = at, at
		}
	}
	ttl := defaultTTL
	if m.Header != nil && m.Header.TTL > 0 && m.Header.TTL < ttl {
		ttl = m.Header.TTL
	}
	if ttl > 0 && ttl < maxTTL {
		out.ExpiresAt = enqueued.Add(ttl)
	}
	return out
}

// maxTTL is where a time to live stops meaning a time (lanyard.Never is TimeSpan.MaxValue).
const maxTTL = 100 * 365 * 24 * time.Hour

// outgoing encodes a stored message for delivery: the sender's sections, with the
// broker's header delivery count, annotations and, for a dead-lettered message, the
// reason in its application properties.
func outgoing(s messaging.Stored, entity string) ([]byte, error) {
	m, err := amqp.UnmarshalMessage(s.Raw)
	if err != nil {
		return nil, fmt.Errorf("decode stored message %d: %w", s.SequenceNumber, err)
	}
	annotate(m, s, entity)
	return m.Marshal()
}

func annotate(m *amqp.Message, s messaging.Stored, entity string) {
	if m.Header == nil {
		m.Header = &amqp.Header{Priority: 4}
	}
	if s.DeliveryCount > 0 {
		// AMQP counts failed deliveries before this one; Service Bus counts this one too.
		m.Header.DeliveryCount = uint32(s.DeliveryCount - 1)
	}
	m.MessageAnnotations, _ = withoutKey(m.MessageAnnotations, annotationCopyOffset)
	m.MessageAnnotations.Set(annotationSequenceNumber, s.SequenceNumber)
	m.MessageAnnotations.Set(annotationEnqueuedTime, s.EnqueuedAt)
	if !s.LockedUntil.IsZero() {
		m.MessageAnnotations.Set(annotationLockedUntil, s.LockedUntil)
	}
	if s.State != messaging.StateActive {
		m.MessageAnnotations.Set(annotationMessageState, int64(s.State))
	}
	if s.SubQueue == messaging.DeadLetter {
		m.MessageAnnotations.Set(annotationDeadLetterFrom, entity)
		if s.DeadLetterReason != "" {
			m.ApplicationProperties.Set(propertyDeadLetterReason, s.DeadLetterReason)
		}
		if s.DeadLetterDescription != "" {
			m.ApplicationProperties.Set(propertyDeadLetterDescription, s.DeadLetterDescription)
		}
	}
}
