package amqp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
)

// sessionWindow is the incoming window this side grants: transfers the peer may send
// before this side's next session flow. Reopened at half.
const sessionWindow = 5000

// Session is one begun session (part 2.5). Its state is guarded by the connection's mu.
type Session struct {
	conn          *Conn
	remoteChannel uint16 // the peer's channel: where its frames arrive
	localChannel  uint16 // ours: where we send (the same number; channels are per direction)
	handleMax     uint32
	links         map[uint32]*Link // by the peer's handle

	nextIncomingID uint32 // the next transfer id expected from the peer
	incomingWindow uint32
	nextOutgoingID uint32 // our next transfer id
	remoteIncoming uint32 // how many more transfers the peer takes
	remoteOutgoing uint32
	nextDeliveryID uint32
	windowOpened   broadcast        // when remoteIncoming may have grown
	unsettledOut   map[uint32]*Link // deliveries this side sent that the peer has not settled
}

func (c *Conn) begin(channel uint16, b *Begin) error {
	if b.RemoteChannel != nil {
		c.closeWith(&Error{Condition: ErrNotAllowed, Description: "a server does not begin sessions"})
		return errors.New("amqp: begin answering a session this side never began")
	}
	if channel > c.cfg.ChannelMax {
		c.closeWith(&Error{Condition: ErrFramingError, Description: fmt.Sprintf("channel %d above channel-max %d", channel, c.cfg.ChannelMax)})
		return fmt.Errorf("amqp: channel %d above channel-max", channel)
	}
	c.mu.Lock()
	if _, dup := c.sessions[channel]; dup {
		c.mu.Unlock()
		c.closeWith(&Error{Condition: ErrNotAllowed, Description: fmt.Sprintf("channel %d already has a session", channel)})
		return fmt.Errorf("amqp: second begin on channel %d", channel)
	}
	s := &Session{conn: c, remoteChannel: channel, localChannel: channel, handleMax: 255,
		links: map[uint32]*Link{}, nextIncomingID: b.NextOutgoingID, incomingWindow: sessionWindow,
		remoteIncoming: b.IncomingWindow, remoteOutgoing: b.OutgoingWindow,
		unsettledOut: map[uint32]*Link{}}
	c.sessions[channel] = s
	c.mu.Unlock()
	return c.write(s.localChannel, &Begin{RemoteChannel: &channel, NextOutgoingID: s.nextOutgoingID,
		IncomingWindow: sessionWindow, OutgoingWindow: math.MaxUint32, HandleMax: s.handleMax})
}

// handle takes a session-level performative. An *Error return closes the connection with it.
func (s *Session) handle(p Performative) error {
	c := s.conn
	switch p := p.(type) {
	case *End:
		c.mu.Lock()
		links := s.detachAllLocked()
		delete(c.sessions, s.remoteChannel)
		c.mu.Unlock()
		s.notifyDetached(links, p.Error)
		return c.write(s.localChannel, &End{})
	case *Attach:
		return s.attach(p)
	case *Flow:
		return s.flow(p)
	case *Transfer:
		return s.transfer(p)
	case *Disposition:
		return s.disposition(p)
	case *Detach:
		c.mu.Lock()
		l := s.links[p.Handle]
		c.mu.Unlock()
		if l == nil {
			return &Error{Condition: ErrUnattachedHandle, Description: fmt.Sprintf("detach of handle %d", p.Handle)}
		}
		l.wmu.Lock() // a frame naming the handle being written goes out before the answer
		c.mu.Lock()
		delete(s.links, p.Handle)
		l.markClosed()
		answered := l.detachSent
		pending := l.attachPending
		l.attachPending = false
		c.mu.Unlock()
		l.wmu.Unlock()
		if answered {
			return nil // the peer's answer to this side's detach
		}
		if pending { // the peer gave up waiting: answer its attach, with no terminus
			reply := &Attach{Name: l.Name, Handle: l.localHandle, Role: l.Role}
			if l.Role == RoleSender {
				zero := uint32(0)
				reply.InitialDeliveryCount = &zero
				reply.Target = l.Target
			} else {
				reply.Source = l.Source
			}
			if err := c.write(s.localChannel, reply); err != nil {
				return err
			}
		}
		if c.handler != nil && l.handlerKnows {
			c.handler.Detach(l, p.Error)
		}
		return c.write(s.localChannel, &Detach{Handle: l.localHandle, Closed: p.Closed})
	}
	return &Error{Condition: ErrNotAllowed, Description: PerformativeName(p) + " on a session"}
}

func (s *Session) detachAllLocked() []*Link {
	var links []*Link
	for h, l := range s.links {
		l.markClosed()
		links = append(links, l)
		delete(s.links, h)
	}
	return links
}

func (s *Session) notifyDetached(links []*Link, err *Error) {
	if s.conn.handler == nil {
		return
	}
	for _, l := range links {
		if l.handlerKnows {
			s.conn.handler.Detach(l, err)
		}
	}
}

func (s *Session) attach(a *Attach) error {
	c := s.conn
	if a.Handle > s.handleMax {
		return &Error{Condition: ErrNotAllowed, Description: fmt.Sprintf("handle %d above handle-max %d", a.Handle, s.handleMax)}
	}
	c.mu.Lock()
	if _, dup := s.links[a.Handle]; dup {
		c.mu.Unlock()
		return &Error{Condition: ErrHandleInUse, Description: fmt.Sprintf("handle %d is attached", a.Handle)}
	}
	// Pending from the start: a handler that defers its answer may answer (CompleteAttach)
	// before its Attach returns.
	l := &Link{session: s, Remote: a, Name: a.Name, Role: !a.Role, remoteHandle: a.Handle, localHandle: a.Handle,
		Source: a.Source, Target: a.Target, closed: make(chan struct{}), attachPending: true,
		assembler: Assembler{MaxSize: c.cfg.MaxMessageSize}}
	if a.MaxMessageSize != 0 && a.MaxMessageSize < l.assembler.MaxSize {
		l.assembler.MaxSize = a.MaxMessageSize
	}
	if a.Role == RoleSender && a.InitialDeliveryCount != nil {
		l.deliveryCount = *a.InitialDeliveryCount
	}
	s.links[a.Handle] = l
	c.mu.Unlock()

	var refusal *Error
	if c.handler == nil {
		refusal = &Error{Condition: ErrNotFound, Description: "no such node"}
	} else {
		refusal = c.handler.Attach(l)
	}
	c.mu.Lock()
	if refusal == AttachLater {
		if !l.handlerKnows { // CompleteAttach may have run already, from the handler's goroutine
			l.handlerKnows = true // it owns the link now, and hears of its end
		}
		c.mu.Unlock()
		return nil
	}
	l.attachPending = false
	c.mu.Unlock()
	return l.answerAttach(refusal)
}

// AttachLater is what a Handler's Attach returns to answer the attach later, from another
// goroutine, with CompleteAttach: a broker that waits for something (a session to become
// available) before it can say yes or no.
var AttachLater = &Error{Condition: "lanyard:attach-later"}

// CompleteAttach answers an attach its Handler deferred with AttachLater: nil accepts it
// (with the link's Source, Target and Properties as they are now), an error refuses it.
// It does nothing if the link ended meanwhile (its attach was then answered with a refusal).
func (l *Link) CompleteAttach(refusal *Error) error {
	c := l.session.conn
	c.mu.Lock()
	pending := l.attachPending && !l.closedOnce
	l.attachPending = false
	c.mu.Unlock()
	if !pending {
		return nil
	}
	return l.answerAttach(refusal)
}

// answerAttach sends the attach that answers the peer's: a refusal is an attach with a
// null terminus followed by a detach with the error (part 2.6.3).
func (l *Link) answerAttach(refusal *Error) error {
	s := l.session
	c := s.conn
	a := l.Remote
	reply := &Attach{Name: a.Name, Handle: l.localHandle, Role: l.Role, SndSettleMode: a.SndSettleMode,
		RcvSettleMode: a.RcvSettleMode, Source: l.Source, Target: l.Target, Properties: l.Properties}
	if l.Role == RoleReceiver {
		reply.MaxMessageSize = l.assembler.MaxSize
	}
	if l.Role == RoleSender {
		zero := uint32(0)
		reply.InitialDeliveryCount = &zero
	}
	if refusal != nil {
		if l.Role == RoleSender {
			reply.Source = nil
		} else {
			reply.Target = nil
		}
		reply.Properties = nil
		c.mu.Lock()
		l.detachSent = true // kept until the peer's detach answers
		l.markClosed()
		c.mu.Unlock()
		if err := c.write(s.localChannel, reply); err != nil {
			return err
		}
		return c.write(s.localChannel, &Detach{Handle: l.localHandle, Closed: true, Error: refusal})
	}
	c.mu.Lock()
	if !l.handlerKnows { // a deferred attach's link is known already, and read unlocked
		l.handlerKnows = true
	}
	c.mu.Unlock()
	if err := c.write(s.localChannel, reply); err != nil {
		return err
	}
	c.mu.Lock()
	credit := l.pendingCredit
	l.pendingCredit = 0
	c.mu.Unlock()
	if credit > 0 {
		return l.IssueCredit(credit)
	}
	return nil
}

func (s *Session) flow(f *Flow) error {
	c := s.conn
	c.mu.Lock()
	// Part 2.5.6: the peer's incoming window, counted from our next-outgoing-id.
	next := s.nextOutgoingID
	if f.NextIncomingID != nil {
		next = *f.NextIncomingID
	}
	s.remoteIncoming = next + f.IncomingWindow - s.nextOutgoingID
	s.remoteOutgoing = f.OutgoingWindow
	s.windowOpened.signal()
	var l *Link
	if f.Handle != nil {
		l = s.links[*f.Handle]
		if l == nil {
			c.mu.Unlock()
			return &Error{Condition: ErrUnattachedHandle, Description: fmt.Sprintf("flow for handle %d", *f.Handle)}
		}
	}
	echo := f.Echo
	drained := false
	if l != nil && l.Role == RoleSender {
		// Part 2.6.7: credit counts from the receiver's view of the delivery count.
		count := l.deliveryCount
		if f.DeliveryCount != nil {
			count = *f.DeliveryCount
		}
		if f.LinkCredit != nil {
			l.credit = count + *f.LinkCredit - l.deliveryCount
		}
		l.drain = f.Drain
		if l.drain && l.sending == 0 {
			// Nothing being sent: a drain uses up the credit at once, and says so (go-amqp
			// waits for a flow with drain set, even when it asked with a credit of 0).
			l.deliveryCount += l.credit
			l.credit = 0
			drained = true
		}
		l.credited.signal()
	}
	c.mu.Unlock()
	if drained || (echo && l != nil) {
		return l.sendFlow(drained)
	}
	if echo {
		return s.sendFlow()
	}
	return nil
}

func (s *Session) sendFlow() error {
	c := s.conn
	c.mu.Lock()
	f := &Flow{NextIncomingID: ptrTo(s.nextIncomingID), IncomingWindow: s.incomingWindow,
		NextOutgoingID: s.nextOutgoingID, OutgoingWindow: math.MaxUint32}
	c.mu.Unlock()
	return c.write(s.localChannel, f)
}

func (s *Session) transfer(t *Transfer) error {
	c := s.conn
	c.mu.Lock()
	l := s.links[t.Handle]
	if l == nil {
		c.mu.Unlock()
		return &Error{Condition: ErrUnattachedHandle, Description: fmt.Sprintf("transfer on handle %d", t.Handle)}
	}
	if s.incomingWindow == 0 {
		c.mu.Unlock()
		return &Error{Condition: ErrWindowViolation, Description: "transfer beyond the session's incoming window"}
	}
	s.nextIncomingID++
	s.incomingWindow--
	reopen := s.incomingWindow < sessionWindow/2
	if reopen {
		s.incomingWindow = sessionWindow
	}
	if l.detachSent {
		c.mu.Unlock()
		return nil // in flight when this side detached
	}
	if l.Role != RoleReceiver {
		c.mu.Unlock()
		return &Error{Condition: ErrNotAllowed, Description: "transfer on a link whose sender is this side"}
	}
	first := !l.assembler.InProgress()
	if first && l.credit == 0 && !t.Aborted {
		c.mu.Unlock()
		return l.Detach(&Error{Condition: ErrTransferLimit, Description: "transfer without link credit"})
	}
	d, err := l.assembler.Add(t)
	if err != nil {
		c.mu.Unlock()
		var amqpErr *Error
		if errors.As(err, &amqpErr) {
			return l.Detach(amqpErr)
		}
		return err
	}
	if d != nil && !d.Aborted {
		l.deliveryCount++
		l.credit--
	}
	c.mu.Unlock()
	if reopen {
		if err := s.sendFlow(); err != nil {
			return err
		}
	}
	if d != nil && !d.Aborted && c.handler != nil {
		c.handler.Deliver(l, d)
	}
	return nil
}

func (s *Session) disposition(d *Disposition) error {
	c := s.conn
	if d.Role != RoleReceiver {
		return nil // the peer as sender settling what it sent: nothing kept here
	}
	last := d.First
	if d.Last != nil {
		last = *d.Last
	}
	// The range may be as wide as the peer likes: walk what is unsettled, not the range.
	type hit struct {
		id   uint32
		link *Link
	}
	var hits []hit
	c.mu.Lock()
	for id, l := range s.unsettledOut {
		if id-d.First <= last-d.First { // in [first, last], serial-number arithmetic
			hits = append(hits, hit{id, l})
			if d.Settled {
				delete(s.unsettledOut, id)
			}
		}
	}
	c.mu.Unlock()
	if c.handler == nil {
		return nil
	}
	for _, h := range hits {
		c.handler.Disposition(h.link, h.id, d.Settled, d.State)
	}
	return nil
}

// broadcast wakes every waiter at once (a buffered channel would wake one Send of many).
// Both methods are called with the connection's mu held.
type broadcast struct{ ch chan struct{} }

func (b *broadcast) wait() <-chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) signal() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

func ptrTo[T any](v T) *T { return &v }

// Link is one attached link, seen from this side: Role is this side's role (RoleSender
// sends messages to the peer's receiver).
type Link struct {
	session *Session
	Remote  *Attach
	Name    string
	Role    Role
	Source  *Source
	Target  *Target
	// Properties are this side's attach properties, set by the Handler before it answers.
	Properties   Map
	remoteHandle uint32
	localHandle  uint32
	handlerKnows bool
	// attachPending: the Handler deferred its answer (AttachLater); guarded by mu.
	attachPending bool
	detachSent    bool // this side detached; waiting for the peer's detach
	// wmu is held across the check that the link is attached and the write of a frame
	// naming its handle (flow, transfer), and while it is marked detached: a peer forgets
	// a handle once detached, and ends the session over a frame naming one it forgot.
	wmu sync.Mutex

	// Guarded by the connection's mu.
	deliveryCount uint32
	credit        uint32
	pendingCredit uint32
	drain         bool
	sending       int
	assembler     Assembler
	closed        chan struct{}
	closedOnce    bool
	credited      broadcast // when credit may have grown
}

// Conn is the link's connection.
func (l *Link) Conn() *Conn { return l.session.conn }

// markClosed ends the link's waits and forgets its unsettled deliveries (caller holds mu).
func (l *Link) markClosed() {
	if !l.closedOnce {
		l.closedOnce = true
		close(l.closed)
		for id, owner := range l.session.unsettledOut {
			if owner == l {
				delete(l.session.unsettledOut, id)
			}
		}
	}
}

// IssueCredit lets the peer's sender send n more deliveries on this receiving link.
func (l *Link) IssueCredit(n uint32) error {
	c := l.session.conn
	c.mu.Lock()
	if l.Role != RoleReceiver {
		c.mu.Unlock()
		return errors.New("amqp: credit is issued on receiving links")
	}
	if !l.handlerKnows {
		l.pendingCredit += n // asked from Attach: sent after the attach reply
		c.mu.Unlock()
		return nil
	}
	l.credit += n
	c.mu.Unlock()
	return l.sendFlow(false)
}

// sendFlow sends the link's state; drained answers a receiver's drain (and ends it).
// Nothing is sent once the link is detached.
func (l *Link) sendFlow(drained bool) error {
	s := l.session
	c := s.conn
	l.wmu.Lock()
	defer l.wmu.Unlock()
	c.mu.Lock()
	if l.closedOnce {
		c.mu.Unlock()
		return nil
	}
	if drained {
		l.drain = false
	}
	f := &Flow{NextIncomingID: ptrTo(s.nextIncomingID), IncomingWindow: s.incomingWindow,
		NextOutgoingID: s.nextOutgoingID, OutgoingWindow: math.MaxUint32, Handle: ptrTo(l.localHandle),
		DeliveryCount: ptrTo(l.deliveryCount), LinkCredit: ptrTo(l.credit), Drain: drained}
	c.mu.Unlock()
	return c.write(s.localChannel, f)
}

// SettleSent settles a delivery this side sent on this link, after the peer's disposition
// (receiver settle mode second, part 2.6.12: the receiver waits for the sender to settle).
func (l *Link) SettleSent(deliveryID uint32, state DeliveryState) error {
	s := l.session
	s.conn.mu.Lock()
	delete(s.unsettledOut, deliveryID)
	s.conn.mu.Unlock()
	return s.conn.write(s.localChannel, &Disposition{Role: RoleSender, First: deliveryID, Settled: true, State: state})
}

// Settle sends the disposition of a delivery received on this link.
func (l *Link) Settle(deliveryID uint32, settled bool, state DeliveryState) error {
	return l.session.conn.write(l.session.localChannel, &Disposition{Role: RoleReceiver, First: deliveryID,
		Settled: settled, State: state})
}

// ErrLinkClosed is returned by Send on a detached link.
var ErrLinkClosed = errors.New("amqp: link detached")

// Send transfers one message (its encoded payload) on this sending link, waiting for link
// credit and session window. It returns the delivery id, for matching dispositions.
func (l *Link) Send(ctx context.Context, tag, payload []byte, format uint32, settled bool) (uint32, error) {
	if l.Role != RoleSender {
		return 0, errors.New("amqp: send on a receiving link")
	}
	s := l.session
	c := s.conn
	for {
		c.mu.Lock()
		if l.closedOnce {
			c.mu.Unlock()
			return 0, ErrLinkClosed
		}
		if l.credit > 0 && s.remoteIncoming > 0 {
			break
		}
		credited, windowOpened := l.credited.wait(), s.windowOpened.wait()
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-l.closed:
			return 0, ErrLinkClosed
		case <-credited:
		case <-windowOpened:
		}
	}
	id := s.nextDeliveryID
	s.nextDeliveryID++
	if !settled {
		s.unsettledOut[id] = l
	}
	l.credit--
	l.deliveryCount++
	l.sending++
	c.mu.Unlock()
	l.wmu.Lock()
	c.mu.Lock()
	detached := l.closedOnce
	c.mu.Unlock()
	frames, err := uint32(0), error(ErrLinkClosed)
	if !detached {
		frames, err = c.writeTransfer(s.localChannel, &Transfer{Handle: l.localHandle, DeliveryID: &id,
			DeliveryTag: tag, MessageFormat: &format, Settled: settled, Payload: payload})
	}
	l.wmu.Unlock()
	c.mu.Lock()
	l.sending--
	drained := l.drain && l.sending == 0
	if drained { // the drain the receiver asked for is done: say so once
		l.deliveryCount += l.credit
		l.credit = 0
	}
	// Each frame is a transfer (part 2.5.6). Only the first waited for the window: a split
	// message may overrun the peer's window by its extra frames.
	s.nextOutgoingID += frames
	s.remoteIncoming -= min(frames, s.remoteIncoming)
	c.mu.Unlock()
	if err == nil && drained {
		err = l.sendFlow(true)
	}
	return id, err
}

// Detach ends the link from this side with err (nil for a clean close); the link is
// forgotten when the peer's detach answers. From Handler.Attach, refuse by returning the
// error instead.
func (l *Link) Detach(err *Error) error {
	s := l.session
	c := s.conn
	l.wmu.Lock()
	c.mu.Lock()
	attached := s.links[l.remoteHandle] == l && !l.detachSent
	l.detachSent = true // the link stays in s.links until the peer's detach answers
	l.markClosed()
	c.mu.Unlock()
	l.wmu.Unlock()
	if !attached {
		return nil
	}
	if c.handler != nil && l.handlerKnows {
		c.handler.Detach(l, err)
	}
	return c.write(s.localChannel, &Detach{Handle: l.localHandle, Closed: true, Error: err})
}

// Credit returns the credit the peer's receiver has given this sending link, and a
// channel closed when it may have changed: a broker takes messages for a receiver only
// while it has credit, so none sits locked waiting for a receiver that stopped asking.
func (l *Link) Credit() (uint32, <-chan struct{}) {
	c := l.session.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	return l.credit, l.credited.wait()
}

// Detached is closed when the link has ended, from either side or with its connection.
func (l *Link) Detached() <-chan struct{} { return l.closed }
