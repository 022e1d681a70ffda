package messaging

import "fmt"

// The checks every Store makes of its arguments, so that backends refuse the same things
// with the same ErrInvalid.

// Invalid is an ErrInvalid saying what was wrong.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckName refuses an empty namespace or queue name.
func CheckName(namespace, name string) error {
	if namespace == "" {
		return Invalid("no namespace")
	}
	if name == "" {
		return Invalid("no queue name")
	}
	return nil
}

// CheckSub refuses a sub-queue that is neither Active nor DeadLetter.
func CheckSub(sub SubQueue) error {
	if sub != Active && sub != DeadLetter {
		return Invalid("sub-queue %d", sub)
	}
	return nil
}

// CheckLocking checks the settings lock and delivery rules need.
func CheckLocking(q Queue) error {
	if q.LockDuration <= 0 {
		return Invalid("lock duration %v", q.LockDuration)
	}
	if q.MaxDeliveryCount <= 0 {
		return Invalid("max delivery count %d", q.MaxDeliveryCount)
	}
	return nil
}

// CheckRaw checks a message's encoding; replacement says nil means "keep the old one".
func CheckRaw(raw []byte, replacement bool) error {
	if replacement && raw == nil {
		return nil
	}
	if len(raw) == 0 {
		return Invalid("an empty message")
	}
	if len(raw) > MaxMessageSize {
		return Invalid("a message of %d bytes, over the limit of %d", len(raw), MaxMessageSize)
	}
	return nil
}

// MaxSequenceNumbers bounds the numbers one ReceiveDeferred or CancelScheduled takes.
const MaxSequenceNumbers = 5000

// CheckSequenceNumbers refuses an empty, oversized or repeating list of sequence numbers.
func CheckSequenceNumbers(seqs []int64) error {
	if len(seqs) == 0 || len(seqs) > MaxSequenceNumbers {
		return Invalid("%d sequence numbers (1 to %d)", len(seqs), MaxSequenceNumbers)
	}
	seen := make(map[int64]bool, len(seqs))
	for _, n := range seqs {
		if seen[n] {
			return Invalid("sequence number %d twice", n)
		}
		seen[n] = true
	}
	return nil
}

// CheckMessage checks a message Send takes: its encoding and its session id's length.
func CheckMessage(m Message) error {
	if err := CheckRaw(m.Raw, false); err != nil {
		return err
	}
	if len(m.SessionID) > MaxSessionIDLength {
		return Invalid("a session id of %d bytes, over the limit of %d", len(m.SessionID), MaxSessionIDLength)
	}
	return nil
}
