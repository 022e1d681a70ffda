package amqp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// ServerConfig is the listening side's part of a connection's negotiation.
type ServerConfig struct {
	ContainerID string
	// MaxFrameSize is the largest frame this side reads (default 262144, Service Bus
	// Standard's); ChannelMax the highest channel a peer may begin a session on (default 15).
	MaxFrameSize uint32
	ChannelMax   uint16
	// IdleTimeout is advertised in open: a peer silent for longer is closed with
	// amqp:resource-limit-exceeded (default 60s). Heartbeats answer the peer's own timeout.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the protocol headers, SASL and open (default 20s).
	HandshakeTimeout time.Duration
	// SASLMechanisms offered, in order (default ANONYMOUS). EXTERNAL is accepted only on a
	// TLS connection whose peer presented a verified certificate.
	SASLMechanisms []Symbol
	// WriteTimeout bounds each frame write (default 30s).
	WriteTimeout time.Duration
	// MaxMessageSize bounds a delivery received on any link (default 1 MiB); a peer's
	// attach may ask for less, never more.
	MaxMessageSize uint64
	// Handler gets the links; nil refuses every attach.
	Handler Handler
}

func (c *ServerConfig) withDefaults() ServerConfig {
	out := *c
	if out.MaxFrameSize == 0 {
		out.MaxFrameSize = 262144
	}
	if out.MaxFrameSize < MinMaxFrameSize {
		out.MaxFrameSize = MinMaxFrameSize
	}
	if out.ChannelMax == 0 {
		out.ChannelMax = 15
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = time.Minute
	}
	if out.HandshakeTimeout == 0 {
		out.HandshakeTimeout = 20 * time.Second
	}
	if len(out.SASLMechanisms) == 0 {
		out.SASLMechanisms = []Symbol{SASLAnonymous}
	}
	if out.WriteTimeout == 0 {
		out.WriteTimeout = 30 * time.Second
	}
	if out.MaxMessageSize == 0 {
		out.MaxMessageSize = 1 << 20
	}
	if out.ContainerID == "" {
		out.ContainerID = "lanyard"
	}
	return out
}

// Handler is the broker behind a connection. Its methods run on the connection's reading
// goroutine: they must not block (Link.Send from them would wait for credit that the same
// goroutine has to read).
type Handler interface {
	// Attach is the peer attaching a link; an error refuses it (the link is attached and
	// at once detached with the error, as part 2.6.3 asks). On success the handler grants
	// credit to receiving links with IssueCredit.
	Attach(l *Link) *Error
	// Deliver is a whole delivery arriving on a receiving link.
	Deliver(l *Link, d *Delivery)
	// Disposition is the peer's outcome for a delivery this side sent unsettled on l. In
	// receiver settle mode second the handler answers with l.SettleSent.
	Disposition(l *Link, deliveryID uint32, settled bool, state DeliveryState)
	// Detach is the link's end, by the peer or by the connection ending (err says why).
	Detach(l *Link, err *Error)
}

// Conn is one accepted AMQP connection, server side.
type Conn struct {
	nc      net.Conn
	cfg     ServerConfig
	handler Handler

	// Set by the peer's open.
	PeerOpen     *Open
	peerMaxFrame uint32

	// SASL outcome: the mechanism the peer used.
	Mechanism Symbol

	openSent bool // written by the reading goroutine only, before heartbeats start

	writeMu    sync.Mutex
	transferMu sync.Mutex // held across the frames of one split transfer
	mu         sync.Mutex // guards sessions, and the sessions' and links' state
	closed     chan struct{}
	closeMu    sync.Once

	sessions map[uint16]*Session // by the peer's channel
}

// Serve runs the connection until it closes: headers, SASL, open, then frames. It returns
// nil when the peer closed cleanly, and otherwise why the connection ended (after telling
// the peer with a close frame where the protocol allows). nc is closed on return.
func Serve(ctx context.Context, nc net.Conn, cfg *ServerConfig) error {
	c := &Conn{nc: nc, cfg: cfg.withDefaults(), closed: make(chan struct{}), sessions: map[uint16]*Session{}}
	c.handler = c.cfg.Handler
	defer c.shutdown(&Error{Condition: ErrConnectionForced, Description: "connection ended"})
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()

	if err := c.handshake(); err != nil {
		return err
	}
	go c.heartbeats()
	return c.readLoop(ctx)
}

func (c *Conn) handshake() error {
	_ = c.nc.SetDeadline(time.Now().Add(c.cfg.HandshakeTimeout))
	h, err := ReadProtocolHeader(c.nc)
	if err != nil {
		return fmt.Errorf("amqp: protocol header: %w", err)
	}
	if h != HeaderSASL {
		// Part 2.2: answer with the header we speak, then close.
		_, _ = c.nc.Write(HeaderSASL.Bytes())
		return fmt.Errorf("amqp: peer sent %v; SASL is required", h)
	}
	if _, err := c.nc.Write(HeaderSASL.Bytes()); err != nil {
		return err
	}
	if err := c.sasl(); err != nil {
		return err
	}
	if h, err = ReadProtocolHeader(c.nc); err != nil {
		return fmt.Errorf("amqp: protocol header after SASL: %w", err)
	}
	if h != HeaderAMQP {
		_, _ = c.nc.Write(HeaderAMQP.Bytes())
		return fmt.Errorf("amqp: peer sent %v after SASL", h)
	}
	if _, err := c.nc.Write(HeaderAMQP.Bytes()); err != nil {
		return err
	}
	// Part 2.7.1: before open is exchanged, frames are at most 512 bytes.
	f, err := ReadFrame(c.nc, MinMaxFrameSize)
	if err != nil {
		return c.fail(err)
	}
	p, err := DecodePerformative(f.Body)
	if err != nil {
		return c.fail(err)
	}
	open, ok := p.(*Open)
	if !ok || f.Type != FrameAMQP {
		c.closeWith(&Error{Condition: ErrNotAllowed, Description: "the first frame must be open"})
		return fmt.Errorf("amqp: first frame is %s", PerformativeName(p))
	}
	c.PeerOpen = open
	c.peerMaxFrame = max(min(open.MaxFrameSize, 1<<24), MinMaxFrameSize) // our writes stay modest
	if err := c.sendOpen(); err != nil {
		return err
	}
	if open.MaxFrameSize < MinMaxFrameSize {
		c.closeWith(&Error{Condition: ErrFrameSizeTooSmall, Description: "max-frame-size below 512"})
		return errors.New("amqp: peer's max-frame-size below 512")
	}
	_ = c.nc.SetDeadline(time.Time{})
	return nil
}

// sasl runs the server side of part 5.3: mechanisms, init, outcome.
func (c *Conn) sasl() error {
	if err := c.writeFrame(FrameSASL, 0, &SASLMechanisms{Mechanisms: c.cfg.SASLMechanisms}); err != nil {
		return err
	}
	f, err := ReadFrame(c.nc, MinMaxFrameSize)
	if err != nil {
		return fmt.Errorf("amqp: sasl-init: %w", err)
	}
	p, err := DecodePerformative(f.Body)
	if err != nil {
		return fmt.Errorf("amqp: sasl-init: %w", err)
	}
	init, ok := p.(*SASLInit)
	if !ok || f.Type != FrameSASL {
		return fmt.Errorf("amqp: expected sasl-init, got %s", PerformativeName(p))
	}
	code := SASLAuth
	if c.offered(init.Mechanism) && c.mechanismOK(init.Mechanism) {
		code = SASLOK
	}
	if err := c.writeFrame(FrameSASL, 0, &SASLOutcome{Code: code}); err != nil {
		return err
	}
	if code != SASLOK {
		return fmt.Errorf("amqp: SASL %s refused", init.Mechanism)
	}
	c.Mechanism = init.Mechanism
	return nil
}

func (c *Conn) offered(m Symbol) bool {
	for _, o := range c.cfg.SASLMechanisms {
		if o == m {
			return true
		}
	}
	return false
}

func (c *Conn) mechanismOK(m Symbol) bool {
	switch m {
	case SASLAnonymous:
		return true
	case SASLExternal:
		tc, ok := c.nc.(*tls.Conn)
		return ok && len(tc.ConnectionState().VerifiedChains) > 0
	}
	return false
}

// TLS is the connection's TLS state, if it came over TLS.
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	if tc, ok := c.nc.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// heartbeats sends an empty frame at half the peer's idle timeout (part 2.4.5).
func (c *Conn) heartbeats() {
	if c.PeerOpen.IdleTimeout <= 0 {
		return
	}
	every := max(c.PeerOpen.IdleTimeout/2, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
			if err := c.writeRaw(Frame{Type: FrameAMQP}); err != nil {
				return
			}
		}
	}
}

func (c *Conn) readLoop(ctx context.Context) error {
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
		if ctx.Err() != nil { // cancelled since the AfterFunc's deadline: set it again
			_ = c.nc.SetReadDeadline(time.Now())
		}
		f, err := ReadFrame(c.nc, c.cfg.MaxFrameSize)
		if err != nil && ctx.Err() != nil {
			c.closeWith(&Error{Condition: ErrConnectionForced, Description: "the server is shutting down"})
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				c.closeWith(&Error{Condition: ErrResourceLimit, Description: "idle timeout: no frame within " + c.cfg.IdleTimeout.String()})
				return fmt.Errorf("amqp: idle timeout: %w", err)
			}
			return c.fail(err)
		}
		if len(f.Body) == 0 {
			continue // a heartbeat
		}
		p, err := DecodePerformative(f.Body)
		if err != nil {
			return c.fail(err)
		}
		if f.Type != FrameAMQP {
			c.closeWith(&Error{Condition: ErrFramingError, Description: "a SASL frame after SASL"})
			return errors.New("amqp: SASL frame after SASL")
		}
		done, err := c.dispatch(f.Channel, p)
		if err != nil || done {
			return err
		}
	}
}

// fail closes the connection for a read or decode error: amqp:decode-error for bytes that
// are not AMQP, framing-error for frames too large, nothing for a connection already gone.
func (c *Conn) fail(err error) error {
	var de *DecodeError
	switch {
	case errors.As(err, &de):
		c.closeWith(&Error{Condition: ErrDecode, Description: de.Reason})
	case errors.Is(err, ErrFrameTooLarge):
		c.closeWith(&Error{Condition: ErrFramingError, Description: err.Error()})
	case errors.Is(err, io.EOF):
		return fmt.Errorf("amqp: peer closed the socket: %w", err)
	}
	return err
}

// dispatch handles one performative; done is the peer's close.
func (c *Conn) dispatch(channel uint16, p Performative) (done bool, err error) {
	switch p := p.(type) {
	case *Open:
		c.closeWith(&Error{Condition: ErrNotAllowed, Description: "a second open"})
		return true, errors.New("amqp: a second open")
	case *Close:
		_ = c.write(0, &Close{})
		if p.Error != nil {
			return true, fmt.Errorf("amqp: peer closed: %w", p.Error)
		}
		return true, nil
	case *Begin:
		return false, c.begin(channel, p)
	}
	c.mu.Lock()
	s := c.sessions[channel]
	c.mu.Unlock()
	if _, end := p.(*End); end && s == nil {
		// go-amqp ends a session it abandoned when its Begin's deadline passed, which may
		// be before the Begin was written: there is nothing to end, and no answer to give
		// (an End for a channel it no longer knows fails its connection).
		return false, nil
	}
	if s == nil {
		c.closeWith(&Error{Condition: ErrNotFound, Description: fmt.Sprintf("no session on channel %d", channel)})
		return true, fmt.Errorf("amqp: %s on channel %d without a session", PerformativeName(p), channel)
	}
	if err := s.handle(p); err != nil {
		var amqpErr *Error
		if errors.As(err, &amqpErr) {
			c.closeWith(amqpErr)
		}
		return true, err
	}
	return false, nil
}

// write sends an AMQP performative, splitting a Transfer's payload over frames of the
// peer's max-frame-size.
func (c *Conn) write(channel uint16, p Performative) error {
	return c.writeFrame(FrameAMQP, channel, p)
}

func (c *Conn) writeFrame(typ byte, channel uint16, p Performative) error {
	if t, ok := p.(*Transfer); ok {
		_, err := c.writeTransfer(channel, t)
		return err
	}
	body, err := AppendPerformative(nil, p)
	if err != nil {
		return err
	}
	if len(body) > c.maxBody() {
		return fmt.Errorf("amqp: a %s of %d bytes exceeds the peer's frame size", PerformativeName(p), len(body))
	}
	return c.writeRaw(Frame{Type: typ, Channel: channel, Body: body})
}

func (c *Conn) maxBody() int {
	if c.peerMaxFrame == 0 {
		return MinMaxFrameSize - frameHeaderSize
	}
	return int(c.peerMaxFrame) - frameHeaderSize
}

// writeTransfer sends t over as many frames as the peer's max-frame-size needs: the first
// carries the fields, the continuations only the handle and more. It returns the frame count.
// The frames of one delivery go out under one lock so no other delivery interleaves.
func (c *Conn) writeTransfer(channel uint16, t *Transfer) (uint32, error) {
	c.transferMu.Lock()
	defer c.transferMu.Unlock()
	maxBody := c.maxBody()
	payload := t.Payload
	first := *t
	var frames uint32
	for {
		head := first
		head.Payload = nil
		head.More = true
		perf, err := AppendPerformative(nil, &head)
		if err != nil {
			return frames, err
		}
		room := maxBody - len(perf)
		if room <= 0 {
			return frames, errors.New("amqp: transfer performative larger than the peer's frame size")
		}
		frames++
		if len(payload) <= room {
			head.More = t.More
			head.Payload = payload
			body, err := AppendPerformative(nil, &head)
			if err != nil {
				return frames, err
			}
			return frames, c.writeRaw(Frame{Type: FrameAMQP, Channel: channel, Body: body})
		}
		if err := c.writeRaw(Frame{Type: FrameAMQP, Channel: channel, Body: append(perf, payload[:room]...)}); err != nil {
			return frames, err
		}
		payload = payload[room:]
		first = Transfer{Handle: t.Handle}
	}
}

func (c *Conn) writeRaw(f Frame) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	return WriteFrame(c.nc, f)
}

// closeWith sends close with err (best effort) and ends the connection.
// Before this side's open, it sends one first: part 2.4.6 has a close follow an open.
func (c *Conn) closeWith(err *Error) {
	if !c.openSent {
		_ = c.sendOpen()
	}
	_ = c.write(0, &Close{Error: err})
	c.shutdown(err)
}

func (c *Conn) sendOpen() error {
	c.openSent = true
	return c.write(0, &Open{ContainerID: c.cfg.ContainerID, MaxFrameSize: c.cfg.MaxFrameSize,
		ChannelMax: c.cfg.ChannelMax, IdleTimeout: c.cfg.IdleTimeout})
}

// shutdown detaches every link (telling the handler) and closes the socket, once.
func (c *Conn) shutdown(err *Error) {
	c.closeMu.Do(func() {
		c.mu.Lock()
		var links []*Link
		for _, s := range c.sessions {
			for _, l := range s.links {
				links = append(links, l)
				l.markClosed()
			}
		}
		c.sessions = map[uint16]*Session{}
		c.mu.Unlock()
		c.writeMu.Lock()
		close(c.closed)
		_ = c.nc.Close()
		c.writeMu.Unlock()
		if c.handler != nil {
			for _, l := range links {
				c.handler.Detach(l, err)
			}
		}
	})
}

// Close ends the connection from this side with err, after the open exchange (a handler's
// links exist only then): a close frame, then the socket. Serve returns once its read fails.
func (c *Conn) Close(err *Error) {
	_ = c.write(0, &Close{Error: err})
	c.shutdown(err)
}

// Closed is closed when the connection has ended.
func (c *Conn) Closed() <-chan struct{} { return c.closed }
