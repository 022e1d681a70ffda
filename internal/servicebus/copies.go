package servicebus

import (
	"context"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// A subscription whose rules' actions make several copies of one message holds them
// under consecutive numbers, the first under the message's (messaging.Publication). The
// later ones carry their offset in a private annotation so that cancel-scheduled-message,
// given the message's number, finds them: a number alone cannot tell them from the next
// message's copies. The broker drops the annotation from what senders send and from what
// it delivers.
const annotationCopyOffset = amqp.Symbol("x-opt-lanyard-copy-offset")

// withoutKey is m without key's entries, and whether it had any.
func withoutKey(m amqp.Map, key any) (amqp.Map, bool) {
	if _, ok := m.Get(key); !ok {
		return m, false
	}
	out := make(amqp.Map, 0, len(m))
	for _, p := range m {
		if k, ok := p.Key.(amqp.Symbol); !ok || k != key {
			out = append(out, p)
		}
	}
	return out, true
}

// unmarked is msg's encoding without a copy offset a sender may have set: only the
// broker's marks count.
func unmarked(m *amqp.Message, raw []byte) ([]byte, error) {
	annotations, had := withoutKey(m.MessageAnnotations, annotationCopyOffset)
	if !had {
		return raw, nil
	}
	m.MessageAnnotations = annotations
	return m.Marshal()
}

// markCopy is a copy's encoding with its offset.
func markCopy(raw []byte, offset int) ([]byte, error) {
	m, err := amqp.UnmarshalMessage(raw)
	if err != nil {
		return nil, err
	}
	m.MessageAnnotations.Set(annotationCopyOffset, int64(offset))
	return m.Marshal()
}

// copyOffset is a stored copy's offset from its message's number (0: the first copy).
func copyOffset(raw []byte) int64 {
	m, err := amqp.UnmarshalMessage(raw)
	if err != nil {
		return 0
	}
	v, _ := m.MessageAnnotations.Get(annotationCopyOffset)
	n, _ := v.(int64)
	return n
}

// copyPeek is how many messages one look for later copies reads, after the first look
// (two: most messages have one copy per subscription, and the next may be large).
const copyPeek = 16

// copiesOf returns the numbers of the copies q holds of the message numbered seq: seq,
// and the later copies that follow it (nothing if q has no copy of it).
func (b *Broker) copiesOf(ctx context.Context, q messaging.Queue, seq int64) ([]int64, error) {
	var out []int64
	for from, page := seq, 2; ; page = copyPeek {
		ms, err := b.cfg.Store.Peek(ctx, q, messaging.Active, from, page)
		if err != nil {
			return nil, fmt.Errorf("look for the copies of message %d in %s: %w", seq, q.Name, err)
		}
		for _, m := range ms {
			if m.SequenceNumber != from || copyOffset(m.Raw) != from-seq {
				return out, nil
			}
			out = append(out, from)
			from++
		}
		if len(ms) < page {
			return out, nil
		}
	}
}
