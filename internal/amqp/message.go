package amqp

import (
	"fmt"
	"time"
)

// Message is an annotated message (part 3.2): the sections in their order on the wire. Its
// body is Data (one or more data sections), Sequence (amqp-sequence sections) or Value (one
// amqp-value section; HasValue tells a null value from none).
type Message struct {
	Header                *Header
	DeliveryAnnotations   Map
	MessageAnnotations    Map
	Properties            *Properties
	ApplicationProperties Map
	Data                  [][]byte
	Sequence              [][]any
	Value                 any
	HasValue              bool
	Footer                Map
}

// Header (part 3.2.1). Decoding fills Priority's default 4 when absent; encoding leaves
// Priority 4 out.
type Header struct {
	Durable       bool
	Priority      uint8
	TTL           time.Duration // 0: none; whole milliseconds on the wire
	FirstAcquirer bool
	DeliveryCount uint32
}

// Properties (part 3.2.4). MessageID and CorrelationID are a uint64, UUID, []byte or string;
// zero times and empty strings are absent fields.
type Properties struct {
	MessageID          any
	UserID             []byte
	To                 string
	Subject            string
	ReplyTo            string
	CorrelationID      any
	ContentType        Symbol
	ContentEncoding    Symbol
	AbsoluteExpiryTime time.Time
	CreationTime       time.Time
	GroupID            string
	GroupSequence      *uint32
	ReplyToGroupID     string
}

// BatchMessageFormat is the message format of Service Bus batches: the transfer carries one
// envelope message whose data sections each hold a whole encoded message. azservicebus
// builds the envelope from the first message's sections without its body.
const BatchMessageFormat uint32 = 0x80013700

// Marshal encodes m's sections in order.
func (m *Message) Marshal() ([]byte, error) {
	return AppendMessage(nil, m)
}

// AppendMessage appends m's encoding to b.
func AppendMessage(b []byte, m *Message) ([]byte, error) {
	bodies := 0
	if len(m.Data) > 0 {
		bodies++
	}
	if len(m.Sequence) > 0 {
		bodies++
	}
	if m.HasValue {
		bodies++
	}
	if bodies > 1 {
		return b, fmt.Errorf("amqp: encode: a message has one kind of body (data, sequence or value)")
	}
	var err error
	if h := m.Header; h != nil {
		if b, err = appendSection(b, descHeader, trimList([]any{boolOrNil(h.Durable),
			defaultOrNil(h.Priority, 4), millisecondsOrNil(h.TTL), boolOrNil(h.FirstAcquirer),
			defaultOrNil(h.DeliveryCount, 0)})); err != nil {
			return b, err
		}
	}
	if m.DeliveryAnnotations != nil {
		if b, err = appendSection(b, descDeliveryAnn, m.DeliveryAnnotations); err != nil {
			return b, err
		}
	}
	if m.MessageAnnotations != nil {
		if b, err = appendSection(b, descMessageAnn, m.MessageAnnotations); err != nil {
			return b, err
		}
	}
	if p := m.Properties; p != nil {
		if err := checkMessageID(p.MessageID); err != nil {
			return b, err
		}
		if err := checkMessageID(p.CorrelationID); err != nil {
			return b, err
		}
		if b, err = appendSection(b, descProperties, trimList([]any{p.MessageID,
			binaryOrNil(p.UserID), stringOrNil(p.To), stringOrNil(p.Subject), stringOrNil(p.ReplyTo),
			p.CorrelationID, symbolOrNil(p.ContentType), symbolOrNil(p.ContentEncoding),
			timeOrNil(p.AbsoluteExpiryTime), timeOrNil(p.CreationTime), stringOrNil(p.GroupID),
			ptrOrNil(p.GroupSequence), stringOrNil(p.ReplyToGroupID)})); err != nil {
			return b, err
		}
	}
	if m.ApplicationProperties != nil {
		if b, err = appendSection(b, descAppProperties, m.ApplicationProperties); err != nil {
			return b, err
		}
	}
	for _, d := range m.Data {
		if b, err = appendSection(b, descData, nonNil(d)); err != nil {
			return b, err
		}
	}
	for _, s := range m.Sequence {
		if s == nil {
			s = []any{}
		}
		if b, err = appendSection(b, descSequence, s); err != nil {
			return b, err
		}
	}
	if m.HasValue {
		if b, err = appendSection(b, descValue, m.Value); err != nil {
			return b, err
		}
	}
	if m.Footer != nil {
		if b, err = appendSection(b, descFooter, m.Footer); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendSection writes a described value whose descriptor is one of the spec's codes (all
// below 256, so a smallulong), without boxing a Described.
func appendSection(b []byte, code uint64, v any) ([]byte, error) {
	return appendValue(append(b, codeDescribed, codeSmallUlong, byte(code)), v, 1)
}

func checkMessageID(id any) error {
	switch id.(type) {
	case nil, uint64, UUID, []byte, string:
		return nil
	}
	return fmt.Errorf("amqp: encode: a message id of type %T (ulong, uuid, binary or string)", id)
}

// section ranks: the order sections must come in.
const (
	rankHeader = iota
	rankDeliveryAnn
	rankMessageAnn
	rankProperties
	rankAppProperties
	rankBody
	rankFooter
)

// UnmarshalMessage decodes an annotated message: sections in order, each at most once, and
// one kind of body.
func UnmarshalMessage(b []byte) (*Message, error) {
	m := &Message{}
	next := rankHeader // the lowest rank the next section may have
	var bodyCode uint64
	for len(b) > 0 {
		code, val, n, err := unmarshalDescribed(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		rank, ok := sectionRanks[code]
		if !ok {
			return nil, decodeErrorf("descriptor 0x%x is not a message section", code)
		}
		repeatBody := rank == rankBody && next == rankBody+1 && code == bodyCode && code != descValue
		if rank < next && !repeatBody {
			return nil, decodeErrorf("message section 0x%x out of order", code)
		}
		next = rank + 1
		switch code {
		case descHeader:
			f, err := newFields("header", val)
			if err != nil {
				return nil, err
			}
			m.Header = &Header{
				Durable:       withDefault(f, 0, false),
				Priority:      withDefault[uint8](f, 1, 4),
				TTL:           f.milliseconds(2),
				FirstAcquirer: withDefault(f, 3, false),
				DeliveryCount: withDefault[uint32](f, 4, 0),
			}
			if f.err != nil {
				return nil, f.err
			}
		case descDeliveryAnn, descMessageAnn, descAppProperties, descFooter:
			mp, ok := val.(Map)
			if !ok && val != nil {
				return nil, decodeErrorf("message section 0x%x holds a %T, not a map", code, val)
			}
			switch code {
			case descDeliveryAnn:
				m.DeliveryAnnotations = orEmpty(mp)
			case descMessageAnn:
				m.MessageAnnotations = orEmpty(mp)
			case descAppProperties:
				for _, p := range mp {
					if _, ok := p.Key.(string); !ok {
						return nil, decodeErrorf("application property key of type %T", p.Key)
					}
				}
				m.ApplicationProperties = orEmpty(mp)
			default:
				m.Footer = orEmpty(mp)
			}
		case descProperties:
			p, err := decodeProperties(val)
			if err != nil {
				return nil, err
			}
			m.Properties = p
		case descData:
			d, ok := val.([]byte)
			if !ok {
				return nil, decodeErrorf("data section holds a %T", val)
			}
			m.Data = append(m.Data, d)
		case descSequence:
			s, ok := val.([]any)
			if !ok {
				return nil, decodeErrorf("amqp-sequence section holds a %T", val)
			}
			m.Sequence = append(m.Sequence, s)
		case descValue:
			m.Value, m.HasValue = val, true
		}
		if rank == rankBody {
			bodyCode = code
		}
	}
	return m, nil
}

var sectionRanks = map[uint64]int{
	descHeader: rankHeader, descDeliveryAnn: rankDeliveryAnn, descMessageAnn: rankMessageAnn,
	descProperties: rankProperties, descAppProperties: rankAppProperties, descData: rankBody,
	descSequence: rankBody, descValue: rankBody, descFooter: rankFooter,
}

func orEmpty(m Map) Map {
	if m == nil {
		return Map{}
	}
	return m
}

func decodeProperties(v any) (*Properties, error) {
	f, err := newFields("properties", v)
	if err != nil {
		return nil, err
	}
	p := &Properties{
		MessageID:          f.at(0),
		UserID:             withDefault[[]byte](f, 1, nil),
		To:                 withDefault(f, 2, ""),
		Subject:            withDefault(f, 3, ""),
		ReplyTo:            withDefault(f, 4, ""),
		CorrelationID:      f.at(5),
		ContentType:        withDefault[Symbol](f, 6, ""),
		ContentEncoding:    withDefault[Symbol](f, 7, ""),
		AbsoluteExpiryTime: withDefault(f, 8, time.Time{}),
		CreationTime:       withDefault(f, 9, time.Time{}),
		GroupID:            withDefault(f, 10, ""),
		GroupSequence:      optionalPtr[uint32](f, 11),
		ReplyToGroupID:     withDefault(f, 12, ""),
	}
	if f.err != nil {
		return nil, f.err
	}
	if checkMessageID(p.MessageID) != nil || checkMessageID(p.CorrelationID) != nil {
		return nil, decodeErrorf("message id or correlation id of type %T / %T", p.MessageID, p.CorrelationID)
	}
	return p, nil
}

// UnmarshalBatch decodes a transfer of BatchMessageFormat: the envelope, and the messages its
// data sections hold.
func UnmarshalBatch(payload []byte) (envelope *Message, messages []*Message, err error) {
	envelope, err = UnmarshalMessage(payload)
	if err != nil {
		return nil, nil, err
	}
	if envelope.HasValue || len(envelope.Sequence) > 0 {
		return nil, nil, decodeErrorf("a batch envelope whose body is not data sections")
	}
	messages = make([]*Message, len(envelope.Data))
	for i, d := range envelope.Data {
		if messages[i], err = UnmarshalMessage(d); err != nil {
			return nil, nil, fmt.Errorf("batch message %d: %w", i, err)
		}
	}
	return envelope, messages, nil
}

// MarshalBatch encodes messages as azservicebus sends a batch: an envelope with the first
// message's sections but no body, and each message encoded in a data section of it. The
// transfer that carries it has message format BatchMessageFormat.
func MarshalBatch(messages []*Message) ([]byte, error) {
	if len(messages) == 0 {
		return nil, fmt.Errorf("amqp: encode: an empty batch")
	}
	envelope := *messages[0]
	envelope.Data, envelope.Sequence, envelope.Value, envelope.HasValue = nil, nil, nil, false
	for i, m := range messages {
		enc, err := m.Marshal()
		if err != nil {
			return nil, fmt.Errorf("batch message %d: %w", i, err)
		}
		envelope.Data = append(envelope.Data, enc)
	}
	return envelope.Marshal()
}

// Delivery is a message's transfers put together: the first transfer's fields, the settled
// flag and state as last sent, and the whole payload.
type Delivery struct {
	First   *Transfer
	Settled bool
	State   DeliveryState
	Aborted bool
	Payload []byte
}

// ErrMessageTooLarge is returned by Assembler.Add when a delivery grows beyond its limit.
var ErrMessageTooLarge = &Error{Condition: ErrMessageSizeLimit, Description: "message larger than the link's maximum message size"}

// Assembler puts together the transfers of one link's deliveries (part 2.6.14): a delivery
// spans transfers while More is set. MaxSize bounds a delivery's payload (0: no bound).
type Assembler struct {
	MaxSize uint64
	current *Delivery
}

// Add takes the link's next transfer. It returns the delivery when the transfer completes
// one (aborted ones included, with Aborted set and no payload), nil while one is in
// progress, and an error when a continuation does not match its first transfer or the
// delivery is too large.
func (a *Assembler) Add(t *Transfer) (*Delivery, error) {
	if a.current == nil {
		if t.DeliveryID == nil && !t.Aborted {
			return nil, &Error{Condition: ErrInvalidField, Description: "the first transfer of a delivery has no delivery-id"}
		}
		a.current = &Delivery{First: t}
	} else {
		first := a.current.First
		if (t.DeliveryID != nil && first.DeliveryID != nil && *t.DeliveryID != *first.DeliveryID) ||
			(t.DeliveryTag != nil && string(t.DeliveryTag) != string(first.DeliveryTag)) ||
			(t.MessageFormat != nil && first.MessageFormat != nil && *t.MessageFormat != *first.MessageFormat) {
			a.current = nil
			return nil, &Error{Condition: ErrInvalidField, Description: "a continuation transfer names another delivery"}
		}
	}
	d := a.current
	if t.Aborted {
		a.current = nil
		d.Aborted, d.Payload = true, nil
		return d, nil
	}
	if a.MaxSize > 0 && uint64(len(d.Payload))+uint64(len(t.Payload)) > a.MaxSize {
		a.current = nil
		return nil, ErrMessageTooLarge
	}
	if d.Payload == nil && !t.More {
		d.Payload = t.Payload // one transfer: no copy
	} else {
		d.Payload = append(d.Payload, t.Payload...)
	}
	d.Settled = d.Settled || t.Settled
	if t.State != nil {
		d.State = t.State
	}
	if t.More {
		return nil, nil
	}
	a.current = nil
	return d, nil
}

// InProgress reports whether a delivery has been started and not finished.
func (a *Assembler) InProgress() bool { return a.current != nil }

// ID is the delivery's id (its first transfer's).
func (d *Delivery) ID() uint32 {
	if d.First == nil || d.First.DeliveryID == nil {
		return 0
	}
	return *d.First.DeliveryID
}

// Format is the delivery's message format (0, or BatchMessageFormat for a batch).
func (d *Delivery) Format() uint32 {
	if d.First == nil || d.First.MessageFormat == nil {
		return 0
	}
	return *d.First.MessageFormat
}
