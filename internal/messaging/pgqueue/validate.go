package pgqueue

import (
	"fmt"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", messaging.ErrInvalid, fmt.Sprintf(format, args...))
}

func checkName(namespace, name string) error {
	if namespace == "" {
		return invalid("no namespace")
	}
	if name == "" {
		return invalid("no queue name")
	}
	return nil
}

func checkSub(sub messaging.SubQueue) error {
	if sub != messaging.Active && sub != messaging.DeadLetter {
		return invalid("sub-queue %d", sub)
	}
	return nil
}

// checkLocking checks the settings lock and delivery rules need.
func checkLocking(q messaging.Queue) error {
	if q.LockDuration <= 0 {
		return invalid("lock duration %v", q.LockDuration)
	}
	if q.MaxDeliveryCount <= 0 {
		return invalid("max delivery count %d", q.MaxDeliveryCount)
	}
	return nil
}

// checkRaw checks a message's encoding; replacement says nil means "keep the old one".
func checkRaw(raw []byte, replacement bool) error {
	if replacement && raw == nil {
		return nil
	}
	if len(raw) == 0 {
		return invalid("an empty message")
	}
	if len(raw) > messaging.MaxMessageSize {
		return invalid("a message of %d bytes, over the limit of %d", len(raw), messaging.MaxMessageSize)
	}
	return nil
}
