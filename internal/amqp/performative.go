package amqp

import (
	"fmt"
	"math"
	"time"
)

// Descriptor codes (parts 2.7, 2.8, 3.4, 3.5, 5.3); the domain is 0 (OASIS), so the ulong
// descriptor is the code itself.
const (
	descOpen          uint64 = 0x10
	descBegin         uint64 = 0x11
	descAttach        uint64 = 0x12
	descFlow          uint64 = 0x13
	descTransfer      uint64 = 0x14
	descDisposition   uint64 = 0x15
	descDetach        uint64 = 0x16
	descEnd           uint64 = 0x17
	descClose         uint64 = 0x18
	descError         uint64 = 0x1d
	descReceived      uint64 = 0x23
	descAccepted      uint64 = 0x24
	descRejected      uint64 = 0x25
	descReleased      uint64 = 0x26
	descModified      uint64 = 0x27
	descSource        uint64 = 0x28
	descTarget        uint64 = 0x29
	descCoordinator   uint64 = 0x30
	descSASLMechs     uint64 = 0x40
	descSASLInit      uint64 = 0x41
	descSASLChallenge uint64 = 0x42
	descSASLResponse  uint64 = 0x43
	descSASLOutcome   uint64 = 0x44
	descHeader        uint64 = 0x70
	descDeliveryAnn   uint64 = 0x71
	descMessageAnn    uint64 = 0x72
	descProperties    uint64 = 0x73
	descAppProperties uint64 = 0x74
	descData          uint64 = 0x75
	descSequence      uint64 = 0x76
	descValue         uint64 = 0x77
	descFooter        uint64 = 0x78
)

// symbolicDescriptors are the same descriptors by name; a peer may send either.
var symbolicDescriptors = map[Symbol]uint64{
	"amqp:open:list": descOpen, "amqp:begin:list": descBegin, "amqp:attach:list": descAttach,
	"amqp:flow:list": descFlow, "amqp:transfer:list": descTransfer,
	"amqp:disposition:list": descDisposition, "amqp:detach:list": descDetach,
	"amqp:end:list": descEnd, "amqp:close:list": descClose, "amqp:error:list": descError,
	"amqp:received:list": descReceived, "amqp:accepted:list": descAccepted,
	"amqp:rejected:list": descRejected, "amqp:released:list": descReleased,
	"amqp:modified:list": descModified, "amqp:source:list": descSource, "amqp:target:list": descTarget,
	"amqp:coordinator:list":     descCoordinator,
	"amqp:sasl-mechanisms:list": descSASLMechs, "amqp:sasl-init:list": descSASLInit,
	"amqp:sasl-challenge:list": descSASLChallenge, "amqp:sasl-response:list": descSASLResponse,
	"amqp:sasl-outcome:list": descSASLOutcome, "amqp:header:list": descHeader,
	"amqp:delivery-annotations:map": descDeliveryAnn, "amqp:message-annotations:map": descMessageAnn,
	"amqp:properties:list": descProperties, "amqp:application-properties:map": descAppProperties,
	"amqp:data:binary": descData, "amqp:amqp-sequence:list": descSequence,
	"amqp:amqp-value:*": descValue, "amqp:footer:map": descFooter,
}

// describedCode returns v's descriptor as a code, and the described value.
func describedCode(v any) (uint64, any, error) {
	d, ok := v.(Described)
	if !ok {
		return 0, nil, decodeErrorf("a %T where a described value belongs", v)
	}
	code, err := descriptorCode(d.Descriptor)
	return code, d.Value, err
}

func descriptorCode(desc any) (uint64, error) {
	switch desc := desc.(type) {
	case uint64:
		return desc, nil
	case Symbol:
		if code, ok := symbolicDescriptors[desc]; ok {
			return code, nil
		}
		return 0, decodeErrorf("unknown descriptor %q", desc)
	}
	return 0, decodeErrorf("descriptor of type %T", desc)
}

// unmarshalDescribed decodes one described value at the start of b as its descriptor code
// and value, without boxing a Described: the shape of every performative and section.
func unmarshalDescribed(b []byte) (code uint64, val any, n int, err error) {
	if len(b) == 0 {
		return 0, nil, 0, decodeErrorf("unexpected end of input at offset 0")
	}
	if b[0] != codeDescribed {
		v, _, err := Unmarshal(b)
		if err != nil {
			return 0, nil, 0, err
		}
		return 0, nil, 0, decodeErrorf("a %T where a described value belongs", v)
	}
	d := decoder{b: b, pos: 1, depth: 1}
	desc, err := d.value()
	if err != nil {
		return 0, nil, 0, err
	}
	if code, err = descriptorCode(desc); err != nil {
		return 0, nil, 0, err
	}
	if val, err = d.value(); err != nil {
		return 0, nil, 0, err
	}
	return code, val, d.pos, nil
}

// Performative is one of the transport performatives (open ... close) or SASL frames bodies.
type Performative interface {
	descriptor() uint64
	fieldList() ([]any, error)
}

// Role is a link end's role: false for a sender, true for a receiver (part 2.8.1).
type Role bool

const (
	RoleSender   Role = false
	RoleReceiver Role = true
)

// SenderSettleMode and ReceiverSettleMode (parts 2.8.2, 2.8.3).
type (
	SenderSettleMode   uint8
	ReceiverSettleMode uint8
)

const (
	SenderSettleUnsettled SenderSettleMode   = 0
	SenderSettleSettled   SenderSettleMode   = 1
	SenderSettleMixed     SenderSettleMode   = 2
	ReceiverSettleFirst   ReceiverSettleMode = 0
	ReceiverSettleSecond  ReceiverSettleMode = 1
)

// Open (part 2.7.1). Decoding fills absent fields with the spec's defaults (MaxFrameSize
// 4294967295, ChannelMax 65535); encoding leaves them out when they hold the default.
type Open struct {
	ContainerID         string
	Hostname            string
	MaxFrameSize        uint32
	ChannelMax          uint16
	IdleTimeout         time.Duration // 0: none; whole milliseconds on the wire
	OutgoingLocales     []Symbol
	IncomingLocales     []Symbol
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          Map
}

func (*Open) descriptor() uint64 { return descOpen }

func (p *Open) fieldList() ([]any, error) {
	return []any{p.ContainerID, stringOrNil(p.Hostname), defaultOrNil(p.MaxFrameSize, math.MaxUint32),
		defaultOrNil(p.ChannelMax, math.MaxUint16), millisecondsOrNil(p.IdleTimeout),
		symbolsOrNil(p.OutgoingLocales), symbolsOrNil(p.IncomingLocales),
		symbolsOrNil(p.OfferedCapabilities), symbolsOrNil(p.DesiredCapabilities), mapOrNil(p.Properties)}, nil
}

func decodeOpen(f *fields) *Open {
	return &Open{
		ContainerID:         mandatory[string](f, 0),
		Hostname:            withDefault(f, 1, ""),
		MaxFrameSize:        withDefault[uint32](f, 2, math.MaxUint32),
		ChannelMax:          withDefault[uint16](f, 3, math.MaxUint16),
		IdleTimeout:         f.milliseconds(4),
		OutgoingLocales:     f.symbols(5),
		IncomingLocales:     f.symbols(6),
		OfferedCapabilities: f.symbols(7),
		DesiredCapabilities: f.symbols(8),
		Properties:          f.mapField(9),
	}
}

// Begin (part 2.7.2). HandleMax is filled with its default 4294967295 when absent.
type Begin struct {
	RemoteChannel       *uint16
	NextOutgoingID      uint32
	IncomingWindow      uint32
	OutgoingWindow      uint32
	HandleMax           uint32
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          Map
}

func (*Begin) descriptor() uint64 { return descBegin }

func (p *Begin) fieldList() ([]any, error) {
	return []any{ptrOrNil(p.RemoteChannel), p.NextOutgoingID, p.IncomingWindow, p.OutgoingWindow,
		defaultOrNil(p.HandleMax, math.MaxUint32), symbolsOrNil(p.OfferedCapabilities),
		symbolsOrNil(p.DesiredCapabilities), mapOrNil(p.Properties)}, nil
}

func decodeBegin(f *fields) *Begin {
	return &Begin{
		RemoteChannel:       optionalPtr[uint16](f, 0),
		NextOutgoingID:      mandatory[uint32](f, 1),
		IncomingWindow:      mandatory[uint32](f, 2),
		OutgoingWindow:      mandatory[uint32](f, 3),
		HandleMax:           withDefault[uint32](f, 4, math.MaxUint32),
		OfferedCapabilities: f.symbols(5),
		DesiredCapabilities: f.symbols(6),
		Properties:          f.mapField(7),
	}
}

// Attach (part 2.7.3). Nil settle modes are the defaults (sender mixed, receiver first);
// MaxMessageSize 0 is "no limit", as when absent.
type Attach struct {
	Name                 string
	Handle               uint32
	Role                 Role
	SndSettleMode        *SenderSettleMode
	RcvSettleMode        *ReceiverSettleMode
	Source               *Source
	Target               *Target
	Unsettled            Map
	IncompleteUnsettled  bool
	InitialDeliveryCount *uint32
	MaxMessageSize       uint64
	OfferedCapabilities  []Symbol
	DesiredCapabilities  []Symbol
	Properties           Map
}

func (*Attach) descriptor() uint64 { return descAttach }

func (p *Attach) fieldList() ([]any, error) {
	var snd, rcv any
	if p.SndSettleMode != nil {
		snd = uint8(*p.SndSettleMode)
	}
	if p.RcvSettleMode != nil {
		rcv = uint8(*p.RcvSettleMode)
	}
	var source, target any
	if p.Source != nil {
		source = p.Source.described()
	}
	if p.Target != nil {
		target = p.Target.described()
	}
	var maxSize any
	if p.MaxMessageSize != 0 {
		maxSize = p.MaxMessageSize
	}
	return []any{p.Name, p.Handle, bool(p.Role), snd, rcv, source, target, mapOrNil(p.Unsettled),
		boolOrNil(p.IncompleteUnsettled), ptrOrNil(p.InitialDeliveryCount), maxSize,
		symbolsOrNil(p.OfferedCapabilities), symbolsOrNil(p.DesiredCapabilities), mapOrNil(p.Properties)}, nil
}

func decodeAttach(f *fields) *Attach {
	p := &Attach{
		Name:                 mandatory[string](f, 0),
		Handle:               mandatory[uint32](f, 1),
		Role:                 Role(mandatory[bool](f, 2)),
		Source:               describedField(f, 5, decodeSource),
		Target:               describedField(f, 6, decodeTarget),
		Unsettled:            f.mapField(7),
		IncompleteUnsettled:  withDefault(f, 8, false),
		InitialDeliveryCount: optionalPtr[uint32](f, 9),
		MaxMessageSize:       withDefault[uint64](f, 10, 0),
		OfferedCapabilities:  f.symbols(11),
		DesiredCapabilities:  f.symbols(12),
		Properties:           f.mapField(13),
	}
	if m, ok := optional[uint8](f, 3); ok {
		if m > uint8(SenderSettleMixed) {
			f.fail(3, "sender settle mode %d", m)
		}
		mode := SenderSettleMode(m)
		p.SndSettleMode = &mode
	}
	if m, ok := optional[uint8](f, 4); ok {
		if m > uint8(ReceiverSettleSecond) {
			f.fail(4, "receiver settle mode %d", m)
		}
		mode := ReceiverSettleMode(m)
		p.RcvSettleMode = &mode
	}
	return p
}

// Terminus durability (part 3.5.5) and expiry policies (part 3.5.6).
const (
	DurableNone          uint32 = 0
	DurableConfiguration uint32 = 1
	DurableUnsettled     uint32 = 2

	ExpiryLinkDetach      Symbol = "link-detach"
	ExpirySessionEnd      Symbol = "session-end"
	ExpiryConnectionClose Symbol = "connection-close"
	ExpiryNever           Symbol = "never"
)

// Source (part 3.5.3). An empty ExpiryPolicy is the default, session-end. DefaultOutcome
// is a DeliveryState (an outcome) or nil. Filter holds the filter set as sent: symbol keys,
// described filter values.
type Source struct {
	Address               string
	Durable               uint32
	ExpiryPolicy          Symbol
	Timeout               uint32 // seconds
	Dynamic               bool
	DynamicNodeProperties Map
	DistributionMode      Symbol
	Filter                Map
	DefaultOutcome        DeliveryState
	Outcomes              []Symbol
	Capabilities          []Symbol
}

func (s *Source) described() Described {
	var outcome any
	if s.DefaultOutcome != nil {
		outcome = describeState(s.DefaultOutcome)
	}
	return Described{descSource, trimList([]any{stringOrNil(s.Address), defaultOrNil(s.Durable, 0),
		symbolOrNil(s.ExpiryPolicy), defaultOrNil(s.Timeout, 0), boolOrNil(s.Dynamic),
		mapOrNil(s.DynamicNodeProperties), symbolOrNil(s.DistributionMode), mapOrNil(s.Filter),
		outcome, symbolsOrNil(s.Outcomes), symbolsOrNil(s.Capabilities)})}
}

func decodeSource(v any) (*Source, error) {
	f, err := describedFields(v, descSource, "source")
	if err != nil {
		return nil, err
	}
	s := &Source{
		Address:               withDefault(f, 0, ""),
		Durable:               withDefault[uint32](f, 1, 0),
		ExpiryPolicy:          withDefault[Symbol](f, 2, ""),
		Timeout:               withDefault[uint32](f, 3, 0),
		Dynamic:               withDefault(f, 4, false),
		DynamicNodeProperties: f.mapField(5),
		DistributionMode:      withDefault[Symbol](f, 6, ""),
		Filter:                f.mapField(7),
		DefaultOutcome:        describedField(f, 8, decodeDeliveryState),
		Outcomes:              f.symbols(9),
		Capabilities:          f.symbols(10),
	}
	return s, f.err
}

// Target (part 3.5.4). Coordinator marks a transaction coordinator target (part 4.5.1)
// instead, of which only Capabilities apply: decoded so a broker can refuse it by name.
type Target struct {
	Address               string
	Durable               uint32
	ExpiryPolicy          Symbol
	Timeout               uint32
	Dynamic               bool
	DynamicNodeProperties Map
	Capabilities          []Symbol
	Coordinator           bool
}

func (t *Target) described() Described {
	if t.Coordinator {
		return Described{descCoordinator, trimList([]any{symbolsOrNil(t.Capabilities)})}
	}
	return Described{descTarget, trimList([]any{stringOrNil(t.Address), defaultOrNil(t.Durable, 0),
		symbolOrNil(t.ExpiryPolicy), defaultOrNil(t.Timeout, 0), boolOrNil(t.Dynamic),
		mapOrNil(t.DynamicNodeProperties), symbolsOrNil(t.Capabilities)})}
}

func decodeTarget(v any) (*Target, error) {
	if code, val, err := describedCode(v); err == nil && code == descCoordinator {
		f, err := newFields("coordinator", val)
		if err != nil {
			return nil, err
		}
		t := &Target{Coordinator: true, Capabilities: f.symbols(0)}
		return t, f.err
	}
	f, err := describedFields(v, descTarget, "target")
	if err != nil {
		return nil, err
	}
	t := &Target{
		Address:               withDefault(f, 0, ""),
		Durable:               withDefault[uint32](f, 1, 0),
		ExpiryPolicy:          withDefault[Symbol](f, 2, ""),
		Timeout:               withDefault[uint32](f, 3, 0),
		Dynamic:               withDefault(f, 4, false),
		DynamicNodeProperties: f.mapField(5),
		Capabilities:          f.symbols(6),
	}
	return t, f.err
}

// describedFields checks v's descriptor and opens its list.
func describedFields(v any, want uint64, what string) (*fields, error) {
	code, val, err := describedCode(v)
	if err != nil {
		return nil, err
	}
	if code != want {
		return nil, decodeErrorf("descriptor 0x%x where a %s belongs", code, what)
	}
	return newFields(what, val)
}

// Flow (part 2.7.4).
type Flow struct {
	NextIncomingID *uint32
	IncomingWindow uint32
	NextOutgoingID uint32
	OutgoingWindow uint32
	Handle         *uint32
	DeliveryCount  *uint32
	LinkCredit     *uint32
	Available      *uint32
	Drain          bool
	Echo           bool
	Properties     Map
}

func (*Flow) descriptor() uint64 { return descFlow }

func (p *Flow) fieldList() ([]any, error) {
	return []any{ptrOrNil(p.NextIncomingID), p.IncomingWindow, p.NextOutgoingID, p.OutgoingWindow,
		ptrOrNil(p.Handle), ptrOrNil(p.DeliveryCount), ptrOrNil(p.LinkCredit), ptrOrNil(p.Available),
		boolOrNil(p.Drain), boolOrNil(p.Echo), mapOrNil(p.Properties)}, nil
}

func decodeFlow(f *fields) *Flow {
	return &Flow{
		NextIncomingID: optionalPtr[uint32](f, 0),
		IncomingWindow: mandatory[uint32](f, 1),
		NextOutgoingID: mandatory[uint32](f, 2),
		OutgoingWindow: mandatory[uint32](f, 3),
		Handle:         optionalPtr[uint32](f, 4),
		DeliveryCount:  optionalPtr[uint32](f, 5),
		LinkCredit:     optionalPtr[uint32](f, 6),
		Available:      optionalPtr[uint32](f, 7),
		Drain:          withDefault(f, 8, false),
		Echo:           withDefault(f, 9, false),
		Properties:     f.mapField(10),
	}
}

// Transfer (part 2.7.5). Payload is the frame's bytes after the performative: a whole
// message, or a part of one when More is set.
type Transfer struct {
	Handle        uint32
	DeliveryID    *uint32
	DeliveryTag   []byte
	MessageFormat *uint32
	Settled       bool
	More          bool
	RcvSettleMode *ReceiverSettleMode
	State         DeliveryState
	Resume        bool
	Aborted       bool
	Batchable     bool
	Payload       []byte
}

func (*Transfer) descriptor() uint64 { return descTransfer }

func (p *Transfer) fieldList() ([]any, error) {
	var rcv, state any
	if p.RcvSettleMode != nil {
		rcv = uint8(*p.RcvSettleMode)
	}
	if p.State != nil {
		state = describeState(p.State)
	}
	return []any{p.Handle, ptrOrNil(p.DeliveryID), binaryOrNil(p.DeliveryTag), ptrOrNil(p.MessageFormat),
		boolOrNil(p.Settled), boolOrNil(p.More), rcv, state, boolOrNil(p.Resume), boolOrNil(p.Aborted),
		boolOrNil(p.Batchable)}, nil
}

func decodeTransfer(f *fields) *Transfer {
	p := &Transfer{
		Handle:        mandatory[uint32](f, 0),
		DeliveryID:    optionalPtr[uint32](f, 1),
		DeliveryTag:   withDefault[[]byte](f, 2, nil),
		MessageFormat: optionalPtr[uint32](f, 3),
		Settled:       withDefault(f, 4, false),
		More:          withDefault(f, 5, false),
		State:         describedField(f, 7, decodeDeliveryState),
		Resume:        withDefault(f, 8, false),
		Aborted:       withDefault(f, 9, false),
		Batchable:     withDefault(f, 10, false),
	}
	if len(p.DeliveryTag) > 32 {
		f.fail(2, "delivery tag of %d bytes (at most 32)", len(p.DeliveryTag))
	}
	if m, ok := optional[uint8](f, 6); ok {
		if m > uint8(ReceiverSettleSecond) {
			f.fail(6, "receiver settle mode %d", m)
		}
		mode := ReceiverSettleMode(m)
		p.RcvSettleMode = &mode
	}
	return p
}

// Disposition (part 2.7.6).
type Disposition struct {
	Role      Role
	First     uint32
	Last      *uint32
	Settled   bool
	State     DeliveryState
	Batchable bool
}

func (*Disposition) descriptor() uint64 { return descDisposition }

func (p *Disposition) fieldList() ([]any, error) {
	var state any
	if p.State != nil {
		state = describeState(p.State)
	}
	return []any{bool(p.Role), p.First, ptrOrNil(p.Last), boolOrNil(p.Settled), state, boolOrNil(p.Batchable)}, nil
}

func decodeDisposition(f *fields) *Disposition {
	return &Disposition{
		Role:      Role(mandatory[bool](f, 0)),
		First:     mandatory[uint32](f, 1),
		Last:      optionalPtr[uint32](f, 2),
		Settled:   withDefault(f, 3, false),
		State:     describedField(f, 4, decodeDeliveryState),
		Batchable: withDefault(f, 5, false),
	}
}

// Detach (part 2.7.7).
type Detach struct {
	Handle uint32
	Closed bool
	Error  *Error
}

func (*Detach) descriptor() uint64 { return descDetach }

func (p *Detach) fieldList() ([]any, error) {
	return []any{p.Handle, boolOrNil(p.Closed), errorOrNil(p.Error)}, nil
}

func decodeDetach(f *fields) *Detach {
	return &Detach{
		Handle: mandatory[uint32](f, 0),
		Closed: withDefault(f, 1, false),
		Error:  describedField(f, 2, decodeError),
	}
}

// End (part 2.7.8).
type End struct{ Error *Error }

func (*End) descriptor() uint64 { return descEnd }

func (p *End) fieldList() ([]any, error) { return []any{errorOrNil(p.Error)}, nil }

// Close (part 2.7.9).
type Close struct{ Error *Error }

func (*Close) descriptor() uint64 { return descClose }

func (p *Close) fieldList() ([]any, error) { return []any{errorOrNil(p.Error)}, nil }

// Error conditions Lanyard sends (part 2.8.15, 2.8.16).
const (
	ErrInternal           Symbol = "amqp:internal-error"
	ErrNotFound           Symbol = "amqp:not-found"
	ErrUnauthorizedAccess Symbol = "amqp:unauthorized-access"
	ErrDecode             Symbol = "amqp:decode-error"
	ErrResourceLimit      Symbol = "amqp:resource-limit-exceeded"
	ErrNotAllowed         Symbol = "amqp:not-allowed"
	ErrInvalidField       Symbol = "amqp:invalid-field"
	ErrNotImplemented     Symbol = "amqp:not-implemented"
	ErrFrameSizeTooSmall  Symbol = "amqp:frame-size-too-small"
	ErrConnectionForced   Symbol = "amqp:connection:forced"
	ErrFramingError       Symbol = "amqp:connection:framing-error"
	ErrUnattachedHandle   Symbol = "amqp:session:unattached-handle"
	ErrWindowViolation    Symbol = "amqp:session:window-violation"
	ErrHandleInUse        Symbol = "amqp:session:handle-in-use"
	ErrLinkDetachForced   Symbol = "amqp:link:detach-forced"
	ErrTransferLimit      Symbol = "amqp:link:transfer-limit-exceeded"
	ErrMessageSizeLimit   Symbol = "amqp:link:message-size-exceeded"
)

// Error is the AMQP error type (part 2.8.14), as carried by detach, end, close and rejected.
type Error struct {
	Condition   Symbol
	Description string
	Info        Map
}

func (e *Error) Error() string {
	if e.Description == "" {
		return "amqp: " + string(e.Condition)
	}
	return fmt.Sprintf("amqp: %s: %s", e.Condition, e.Description)
}

func errorOrNil(e *Error) any {
	if e == nil {
		return nil
	}
	return e.described()
}

func (e *Error) described() Described {
	return Described{descError, trimList([]any{e.Condition, stringOrNil(e.Description), mapOrNil(e.Info)})}
}

func decodeError(v any) (*Error, error) {
	f, err := describedFields(v, descError, "error")
	if err != nil {
		return nil, err
	}
	e := &Error{
		Condition:   mandatory[Symbol](f, 0),
		Description: withDefault(f, 1, ""),
		Info:        f.mapField(2),
	}
	return e, f.err
}

// DeliveryState is a delivery state or outcome: *Received, *Accepted, *Rejected, *Released
// or *Modified (parts 2.7.6, 3.4).
type DeliveryState interface {
	stateDescriptor() uint64
}

// Received (part 3.4.1).
type Received struct {
	SectionNumber uint32
	SectionOffset uint64
}

// Accepted (part 3.4.2).
type Accepted struct{}

// Rejected (part 3.4.3).
type Rejected struct{ Error *Error }

// Released (part 3.4.4).
type Released struct{}

// Modified (part 3.4.5).
type Modified struct {
	DeliveryFailed     bool
	UndeliverableHere  bool
	MessageAnnotations Map
}

func (*Received) stateDescriptor() uint64 { return descReceived }
func (*Accepted) stateDescriptor() uint64 { return descAccepted }
func (*Rejected) stateDescriptor() uint64 { return descRejected }
func (*Released) stateDescriptor() uint64 { return descReleased }
func (*Modified) stateDescriptor() uint64 { return descModified }

func describeState(s DeliveryState) Described {
	var list []any
	switch s := s.(type) {
	case *Received:
		list = []any{s.SectionNumber, s.SectionOffset}
	case *Rejected:
		list = trimList([]any{errorOrNil(s.Error)})
	case *Modified:
		list = trimList([]any{boolOrNil(s.DeliveryFailed), boolOrNil(s.UndeliverableHere), mapOrNil(s.MessageAnnotations)})
	default:
		list = []any{}
	}
	return Described{s.stateDescriptor(), list}
}

func decodeDeliveryState(v any) (DeliveryState, error) {
	code, val, err := describedCode(v)
	if err != nil {
		return nil, err
	}
	f, err := newFields("delivery state", val)
	if err != nil {
		return nil, err
	}
	var s DeliveryState
	switch code {
	case descReceived:
		s = &Received{SectionNumber: mandatory[uint32](f, 0), SectionOffset: mandatory[uint64](f, 1)}
	case descAccepted:
		s = &Accepted{}
	case descRejected:
		s = &Rejected{Error: describedField(f, 0, decodeError)}
	case descReleased:
		s = &Released{}
	case descModified:
		s = &Modified{
			DeliveryFailed:     withDefault(f, 0, false),
			UndeliverableHere:  withDefault(f, 1, false),
			MessageAnnotations: f.mapField(2),
		}
	default:
		return nil, decodeErrorf("descriptor 0x%x where a delivery state belongs", code)
	}
	return s, f.err
}

// SASL frame bodies (part 5.3.3).
type (
	SASLMechanisms struct{ Mechanisms []Symbol }
	SASLInit       struct {
		Mechanism       Symbol
		InitialResponse []byte
		Hostname        string
	}
	SASLChallenge struct{ Challenge []byte }
	SASLResponse  struct{ Response []byte }
	SASLOutcome   struct {
		Code           SASLCode
		AdditionalData []byte
	}
)

// SASLCode is a SASL outcome code (part 5.3.3.6).
type SASLCode uint8

const (
	SASLOK      SASLCode = 0
	SASLAuth    SASLCode = 1
	SASLSys     SASLCode = 2
	SASLSysPerm SASLCode = 3
	SASLSysTemp SASLCode = 4
)

// SASL mechanisms Lanyard knows.
const (
	SASLAnonymous Symbol = "ANONYMOUS"
	SASLExternal  Symbol = "EXTERNAL"
)

func (*SASLMechanisms) descriptor() uint64 { return descSASLMechs }
func (*SASLInit) descriptor() uint64       { return descSASLInit }
func (*SASLChallenge) descriptor() uint64  { return descSASLChallenge }
func (*SASLResponse) descriptor() uint64   { return descSASLResponse }
func (*SASLOutcome) descriptor() uint64    { return descSASLOutcome }

func (p *SASLMechanisms) fieldList() ([]any, error) {
	if len(p.Mechanisms) == 0 {
		return nil, fmt.Errorf("amqp: encode: sasl-mechanisms needs at least one mechanism")
	}
	return []any{p.Mechanisms}, nil
}

func (p *SASLInit) fieldList() ([]any, error) {
	return []any{p.Mechanism, binaryOrNil(p.InitialResponse), stringOrNil(p.Hostname)}, nil
}

func (p *SASLChallenge) fieldList() ([]any, error) { return []any{nonNil(p.Challenge)}, nil }
func (p *SASLResponse) fieldList() ([]any, error)  { return []any{nonNil(p.Response)}, nil }

func (p *SASLOutcome) fieldList() ([]any, error) {
	return []any{uint8(p.Code), binaryOrNil(p.AdditionalData)}, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// AppendPerformative appends p's encoding: the described list, trailing nulls left out,
// then a Transfer's payload.
func AppendPerformative(b []byte, p Performative) ([]byte, error) {
	list, err := p.fieldList()
	if err != nil {
		return b, err
	}
	if e := performativeError(p); e != nil && e.Condition == "" {
		return b, fmt.Errorf("amqp: encode: an error without a condition")
	}
	b, err = appendSection(b, p.descriptor(), trimList(list))
	if err != nil {
		return b, err
	}
	if t, ok := p.(*Transfer); ok {
		b = append(b, t.Payload...)
	}
	return b, nil
}

func performativeError(p Performative) *Error {
	switch p := p.(type) {
	case *Detach:
		return p.Error
	case *End:
		return p.Error
	case *Close:
		return p.Error
	}
	return nil
}

// DecodePerformative decodes a frame body. A Transfer's Payload is the rest of the body (a
// slice of body, not a copy); other performatives must fill the body.
func DecodePerformative(body []byte) (Performative, error) {
	code, val, n, err := unmarshalDescribed(body)
	if err != nil {
		return nil, err
	}
	name, ok := performativeNames[code]
	if !ok {
		return nil, decodeErrorf("descriptor 0x%x is not a performative", code)
	}
	f, err := newFields(name, val)
	if err != nil {
		return nil, err
	}
	var p Performative
	switch code {
	case descOpen:
		p = decodeOpen(f)
	case descBegin:
		p = decodeBegin(f)
	case descAttach:
		p = decodeAttach(f)
	case descFlow:
		p = decodeFlow(f)
	case descTransfer:
		t := decodeTransfer(f)
		t.Payload = body[n:]
		p = t
	case descDisposition:
		p = decodeDisposition(f)
	case descDetach:
		p = decodeDetach(f)
	case descEnd:
		p = &End{Error: describedField(f, 0, decodeError)}
	case descClose:
		p = &Close{Error: describedField(f, 0, decodeError)}
	case descSASLMechs:
		p = &SASLMechanisms{Mechanisms: f.symbols(0)}
		if len(p.(*SASLMechanisms).Mechanisms) == 0 {
			f.fail(0, "mandatory field is absent")
		}
	case descSASLInit:
		p = &SASLInit{Mechanism: mandatory[Symbol](f, 0), InitialResponse: withDefault[[]byte](f, 1, nil),
			Hostname: withDefault(f, 2, "")}
	case descSASLChallenge:
		p = &SASLChallenge{Challenge: mandatory[[]byte](f, 0)}
	case descSASLResponse:
		p = &SASLResponse{Response: mandatory[[]byte](f, 0)}
	case descSASLOutcome:
		p = &SASLOutcome{Code: SASLCode(mandatory[uint8](f, 0)), AdditionalData: withDefault[[]byte](f, 1, nil)}
	}
	if f.err != nil {
		return nil, f.err
	}
	if code != descTransfer && n != len(body) {
		return nil, decodeErrorf("%d bytes after a %s", len(body)-n, name)
	}
	return p, nil
}

var performativeNames = map[uint64]string{
	descOpen: "open", descBegin: "begin", descAttach: "attach", descFlow: "flow",
	descTransfer: "transfer", descDisposition: "disposition", descDetach: "detach", descEnd: "end",
	descClose: "close", descSASLMechs: "sasl-mechanisms", descSASLInit: "sasl-init",
	descSASLChallenge: "sasl-challenge", descSASLResponse: "sasl-response", descSASLOutcome: "sasl-outcome",
}

// PerformativeName is p's name in the spec ("open", "sasl-init", ...), for logs.
func PerformativeName(p Performative) string { return performativeNames[p.descriptor()] }
