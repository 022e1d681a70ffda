package amqp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"
)

// cbsHandler answers put-token requests as rbac.md §3a describes, on the reply link the
// request names, and keeps batches sent to other nodes.
type cbsHandler struct {
	mu       sync.Mutex
	replyTo  map[string]*Link // sending links by their target address
	batches  [][]*Message
	requests []*Message
	detached []string
	attached []string // "receiver q1" (this side's role, the node), in order
	refuse   string   // a node address whose attach is refused
}

func (h *cbsHandler) Attach(l *Link) *Error {
	address := ""
	if l.Role == RoleReceiver && l.Target != nil {
		address = l.Target.Address
	}
	if l.Role == RoleSender && l.Source != nil {
		address = l.Source.Address
	}
	if address == h.refuse {
		return &Error{Condition: ErrNotFound, Description: "no node " + address}
	}
	h.mu.Lock()
	role := "receiver"
	if l.Role == RoleSender {
		role = "sender"
	}
	h.attached = append(h.attached, role+" "+address)
	h.mu.Unlock()
	if l.Role == RoleReceiver {
		return errorOf(l.IssueCredit(10))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.replyTo == nil {
		h.replyTo = map[string]*Link{}
	}
	h.replyTo[l.Target.Address] = l
	return nil
}

func errorOf(err error) *Error {
	if err == nil {
		return nil
	}
	return &Error{Condition: ErrInternal, Description: err.Error()}
}

func (h *cbsHandler) Deliver(l *Link, d *Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var state DeliveryState = &Accepted{}
	if d.First.MessageFormat != nil && *d.First.MessageFormat == BatchMessageFormat {
		if _, msgs, err := UnmarshalBatch(d.Payload); err == nil {
			h.batches = append(h.batches, msgs)
		} else {
			state = &Rejected{Error: &Error{Condition: ErrDecode, Description: err.Error()}}
		}
	}
	msg, err := UnmarshalMessage(d.Payload)
	if err != nil {
		state = &Rejected{Error: &Error{Condition: ErrDecode, Description: err.Error()}}
	} else {
		h.requests = append(h.requests, msg)
	}
	if !d.Settled {
		_ = l.Settle(*d.First.DeliveryID, true, state)
	}
	if msg == nil || msg.Properties == nil || msg.Properties.ReplyTo == "" {
		return
	}
	reply := h.replyTo[msg.Properties.ReplyTo]
	if reply == nil {
		return
	}
	resp, err := (&Message{
		Properties: &Properties{CorrelationID: msg.Properties.MessageID},
		// A long description: the response spans several of the client's 512-byte frames.
		ApplicationProperties: Map{{"status-code", int32(202)}, {"status-description", strings.Repeat("A", 2000)}},
	}).Marshal()
	if err != nil {
		return
	}
	// Send waits for credit, which this goroutine reads: never from the handler itself.
	go func() { _, _ = reply.Send(context.Background(), []byte{1}, resp, 0, true) }()
}

func (h *cbsHandler) Disposition(*Link, uint32, bool, DeliveryState) {}

func (h *cbsHandler) Detach(l *Link, _ *Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.detached = append(h.detached, l.Name)
}

func startServer(t *testing.T, cfg *ServerConfig) (addr string, result <-chan error) {
	t.Helper()
	return startServerContext(t.Context(), t, cfg)
}

func startServerContext(ctx context.Context, t *testing.T, cfg *ServerConfig) (addr string, result <-chan error) {
	t.Helper()
	return startServerTLS(ctx, t, cfg, nil)
}

// startServerTLS serves one connection, over TLS when tlsConfig is set.
func startServerTLS(ctx context.Context, t *testing.T, cfg *ServerConfig, tlsConfig *tls.Config) (addr string, result <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		if tlsConfig != nil {
			nc = tls.Server(nc, tlsConfig)
		}
		done <- Serve(ctx, nc, cfg)
	}()
	return ln.Addr().String(), done
}

// TestServeGoAMQPClient runs the connection engine against go-amqp's client: SASL, open,
// begin, the $cbs link pair, a put-token answered on the reply link (split over the client's
// 512-byte frames), a batch split over the server's, then a clean close.
func TestServeGoAMQPClient(t *testing.T) {
	h := &cbsHandler{}
	addr, result := startServer(t, &ServerConfig{MaxFrameSize: MinMaxFrameSize, Handler: h})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	status, err := putToken(ctx, "amqp://"+addr, strings.Repeat("j", 1024), MinMaxFrameSize)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	if status != 202 {
		t.Fatalf("status %d", status)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) != 2 || len(h.batches) != 1 || len(h.batches[0]) != 2 {
		t.Fatalf("requests %d, batches %v", len(h.requests), h.batches)
	}
	if op, _ := h.requests[0].ApplicationProperties.Get("operation"); op != "put-token" {
		t.Fatalf("request %#v", h.requests[0])
	}
	if len(h.detached) != 3 {
		t.Fatalf("detached %v", h.detached)
	}
}

func TestServeRefusesAttach(t *testing.T) {
	addr, result := startServer(t, &ServerConfig{Handler: &cbsHandler{refuse: "nope"}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := goamqp.Dial(ctx, "amqp://"+addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.NewSender(ctx, "nope", nil)
	var amqpErr *goamqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Condition != goamqp.ErrCondNotFound {
		t.Fatalf("attach to a refused node: %v", err)
	}
	// The session still works.
	if _, err := sess.NewSender(ctx, "q1", nil); err != nil {
		t.Fatalf("attach after a refusal: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// rawClient speaks to the engine byte by byte, for what a well-behaved client never sends.
type rawClient struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawClient{t: t, nc: nc}
}

func (r *rawClient) send(typ byte, channel uint16, p Performative) {
	r.t.Helper()
	body, err := AppendPerformative(nil, p)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := WriteFrame(r.nc, Frame{Type: typ, Channel: channel, Body: body}); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next frame's performative, or nil for an empty frame.
func (r *rawClient) read() Performative {
	r.t.Helper()
	f, err := ReadFrame(r.nc, 1<<20)
	if err != nil {
		r.t.Fatal(err)
	}
	if len(f.Body) == 0 {
		return nil
	}
	p, err := DecodePerformative(f.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rawClient) header(h ProtocolHeader) {
	r.t.Helper()
	if _, err := r.nc.Write(h.Bytes()); err != nil {
		r.t.Fatal(err)
	}
	got, err := ReadProtocolHeader(r.nc)
	if err != nil || got != h {
		r.t.Fatalf("header %v, %v", got, err)
	}
}

// open runs the handshake up to the server's open.
func (r *rawClient) open(idle time.Duration) *Open {
	r.t.Helper()
	r.header(HeaderSASL)
	if _, ok := r.read().(*SASLMechanisms); !ok {
		r.t.Fatal("no sasl-mechanisms")
	}
	r.send(FrameSASL, 0, &SASLInit{Mechanism: SASLAnonymous})
	if o, ok := r.read().(*SASLOutcome); !ok || o.Code != SASLOK {
		r.t.Fatalf("sasl outcome %#v", o)
	}
	r.header(HeaderAMQP)
	r.send(FrameAMQP, 0, &Open{ContainerID: "raw", MaxFrameSize: 65536, ChannelMax: 7, IdleTimeout: idle})
	o, ok := r.read().(*Open)
	if !ok {
		r.t.Fatal("no open")
	}
	return o
}

// closeError reads frames (skipping heartbeats) until the close, and returns its error.
func (r *rawClient) closeError() *Error {
	r.t.Helper()
	for {
		switch p := r.read().(type) {
		case nil:
		case *Close:
			return p.Error
		default:
			r.t.Fatalf("a %s before the close", PerformativeName(p))
		}
	}
}

func TestServeMalformedFrameIsDecodeError(t *testing.T) {
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"not a performative", []byte{0x57, 0x00}},
		{"truncated list", []byte{0x00, 0x53, 0x11, 0xc0, 0x10, 0x01}},
		{"begin without its windows", []byte{0x00, 0x53, 0x11, 0x45}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, result := startServer(t, &ServerConfig{Handler: &cbsHandler{}})
			r := dialRaw(t, addr)
			o := r.open(0)
			if o.ContainerID != "lanyard" || o.MaxFrameSize != 262144 || o.ChannelMax != 15 || o.IdleTimeout != time.Minute {
				t.Fatalf("server open %#v", o)
			}
			if err := WriteFrame(r.nc, Frame{Type: FrameAMQP, Body: c.body}); err != nil {
				t.Fatal(err)
			}
			if e := r.closeError(); e == nil || e.Condition != ErrDecode {
				t.Fatalf("close error %v", e)
			}
			var de *DecodeError
			if err := <-result; !errors.As(err, &de) {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

func TestServeProtocolErrors(t *testing.T) {
	t.Run("frame above max-frame-size", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{MaxFrameSize: 1024})
		r := dialRaw(t, addr)
		r.open(0)
		if err := WriteFrame(r.nc, Frame{Type: FrameAMQP, Body: make([]byte, 2000)}); err != nil {
			t.Fatal(err)
		}
		if e := r.closeError(); e == nil || e.Condition != ErrFramingError {
			t.Fatalf("close error %v", e)
		}
		if err := <-result; !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("server: %v", err)
		}
	})
	t.Run("begin above channel-max", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{ChannelMax: 1})
		r := dialRaw(t, addr)
		r.open(0)
		r.send(FrameAMQP, 2, &Begin{IncomingWindow: 10, OutgoingWindow: 10})
		if e := r.closeError(); e == nil || e.Condition != ErrFramingError {
			t.Fatalf("close error %v", e)
		}
		if err := <-result; err == nil {
			t.Fatal("server ended without an error")
		}
	})
	t.Run("attach without a session", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{})
		r := dialRaw(t, addr)
		r.open(0)
		r.send(FrameAMQP, 3, &Attach{Name: "a", Handle: 0, Role: RoleSender})
		if e := r.closeError(); e == nil || e.Condition != ErrNotFound {
			t.Fatalf("close error %v", e)
		}
		<-result
	})
	t.Run("end without a session is ignored", func(t *testing.T) {
		// go-amqp's End for a session whose Begin it abandoned unsent; the connection
		// goes on serving.
		addr, _ := startServer(t, &ServerConfig{})
		r := dialRaw(t, addr)
		r.open(0)
		r.send(FrameAMQP, 0, &End{})
		r.send(FrameAMQP, 0, &Begin{IncomingWindow: 10, OutgoingWindow: 10})
		if b, ok := r.read().(*Begin); !ok || b.RemoteChannel == nil || *b.RemoteChannel != 0 {
			t.Fatalf("begin after an end without a session: %#v", b)
		}
	})
	t.Run("transfer without credit detaches the link", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{Handler: &cbsHandler{}})
		r := dialRaw(t, addr)
		r.open(0)
		r.send(FrameAMQP, 0, &Begin{IncomingWindow: 10, OutgoingWindow: 10})
		if _, ok := r.read().(*Begin); !ok {
			t.Fatal("no begin")
		}
		// A sender link to a node that gets no credit: the handler gives 10, so send 11.
		r.send(FrameAMQP, 0, &Attach{Name: "s", Handle: 0, Role: RoleSender, Target: &Target{Address: "q"},
			InitialDeliveryCount: ptr[uint32](0)})
		if a, ok := r.read().(*Attach); !ok || a.Role != RoleReceiver {
			t.Fatalf("attach reply %#v", a)
		}
		if f, ok := r.read().(*Flow); !ok || f.LinkCredit == nil || *f.LinkCredit != 10 {
			t.Fatalf("credit %#v", f)
		}
		payload, _ := (&Message{Value: "x", HasValue: true}).Marshal()
		for i := range uint32(11) {
			r.send(FrameAMQP, 0, &Transfer{Handle: 0, DeliveryID: ptr(i), DeliveryTag: []byte{byte(i)},
				MessageFormat: ptr[uint32](0), Settled: true, Payload: payload})
		}
		d, ok := r.read().(*Detach)
		if !ok || d.Error == nil || d.Error.Condition != ErrTransferLimit {
			t.Fatalf("detach %#v", d)
		}
		r.send(FrameAMQP, 0, &Detach{Handle: 0, Closed: true})
		r.send(FrameAMQP, 0, &Close{})
		if e := r.closeError(); e != nil {
			t.Fatalf("close error %v", e)
		}
		if err := <-result; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
	t.Run("message above max-message-size detaches the link", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{Handler: &cbsHandler{}, MaxMessageSize: 1000})
		r := dialRaw(t, addr)
		r.open(0)
		r.send(FrameAMQP, 0, &Begin{IncomingWindow: 10, OutgoingWindow: 10})
		if _, ok := r.read().(*Begin); !ok {
			t.Fatal("no begin")
		}
		r.send(FrameAMQP, 0, &Attach{Name: "s", Handle: 0, Role: RoleSender, Target: &Target{Address: "q"},
			InitialDeliveryCount: ptr[uint32](0), MaxMessageSize: 1 << 30})
		if a, ok := r.read().(*Attach); !ok || a.MaxMessageSize != 1000 {
			t.Fatalf("attach reply %#v", a)
		}
		r.read() // the credit
		r.send(FrameAMQP, 0, &Transfer{Handle: 0, DeliveryID: ptr[uint32](0), DeliveryTag: []byte{0},
			MessageFormat: ptr[uint32](0), More: true, Payload: make([]byte, 600)})
		r.send(FrameAMQP, 0, &Transfer{Handle: 0, Payload: make([]byte, 600)})
		d, ok := r.read().(*Detach)
		if !ok || d.Error == nil || d.Error.Condition != ErrMessageSizeLimit {
			t.Fatalf("detach %#v", d)
		}
		r.send(FrameAMQP, 0, &Close{})
		if e := r.closeError(); e != nil {
			t.Fatalf("close error %v", e)
		}
		if err := <-result; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
	t.Run("a malformed first frame gets an open, then the close", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{})
		r := dialRaw(t, addr)
		r.header(HeaderSASL)
		r.read()
		r.send(FrameSASL, 0, &SASLInit{Mechanism: SASLAnonymous})
		r.read()
		r.header(HeaderAMQP)
		if err := WriteFrame(r.nc, Frame{Type: FrameAMQP, Body: []byte{0x00, 0x53, 0x10, 0xc0, 0x09}}); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.read().(*Open); !ok {
			t.Fatal("no open before the close")
		}
		if e := r.closeError(); e == nil || e.Condition != ErrDecode {
			t.Fatalf("close error %v", e)
		}
		<-result
	})
	t.Run("AMQP header without SASL", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{})
		r := dialRaw(t, addr)
		if _, err := r.nc.Write(HeaderAMQP.Bytes()); err != nil {
			t.Fatal(err)
		}
		if h, err := ReadProtocolHeader(r.nc); err != nil || h != HeaderSASL {
			t.Fatalf("header %v %v", h, err)
		}
		if err := <-result; err == nil {
			t.Fatal("served without SASL")
		}
	})
	t.Run("EXTERNAL without a client certificate", func(t *testing.T) {
		addr, result := startServer(t, &ServerConfig{SASLMechanisms: []Symbol{SASLAnonymous, SASLExternal}})
		r := dialRaw(t, addr)
		r.header(HeaderSASL)
		if m, ok := r.read().(*SASLMechanisms); !ok || len(m.Mechanisms) != 2 {
			t.Fatalf("mechanisms %#v", m)
		}
		r.send(FrameSASL, 0, &SASLInit{Mechanism: SASLExternal})
		if o, ok := r.read().(*SASLOutcome); !ok || o.Code != SASLAuth {
			t.Fatalf("outcome %#v", o)
		}
		if err := <-result; err == nil {
			t.Fatal("EXTERNAL accepted without a certificate")
		}
	})
}

// TestServeIdle checks both sides of part 2.4.5: empty frames for a peer that asked for
// them, and a close for a peer that went silent beyond the server's idle timeout.
func TestServeIdle(t *testing.T) {
	addr, result := startServer(t, &ServerConfig{IdleTimeout: time.Second})
	r := dialRaw(t, addr)
	if o := r.open(100 * time.Millisecond); o.IdleTimeout != time.Second {
		t.Fatalf("open %#v", o)
	}
	heartbeats := 0
	for {
		p := r.read()
		if p == nil {
			heartbeats++
			continue
		}
		c, ok := p.(*Close)
		if !ok || c.Error == nil || c.Error.Condition != ErrResourceLimit {
			t.Fatalf("%#v", p)
		}
		break
	}
	if heartbeats == 0 {
		t.Fatal("no empty frame before the idle close")
	}
	if err := <-result; err == nil || !strings.Contains(err.Error(), "idle") {
		t.Fatalf("server: %v", err)
	}
}

func TestServeShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addr, result := startServerContext(ctx, t, &ServerConfig{})
	r := dialRaw(t, addr)
	r.open(0)
	cancel()
	if e := r.closeError(); e == nil || e.Condition != ErrConnectionForced {
		t.Fatalf("close error %v", e)
	}
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("server: %v", err)
	}
}

// lockHandler hands the test its sending links and answers each disposition by settling
// with the same outcome, as Service Bus does in PeekLock (receiver settle mode second).
type lockHandler struct {
	senders  chan *Link
	mu       sync.Mutex
	outcomes map[uint32]DeliveryState
}

func (h *lockHandler) Attach(l *Link) *Error {
	if l.Role == RoleSender {
		h.senders <- l
	}
	return nil
}

func (h *lockHandler) Deliver(*Link, *Delivery) {}

func (h *lockHandler) Disposition(l *Link, id uint32, settled bool, state DeliveryState) {
	h.mu.Lock()
	h.outcomes[id] = state
	h.mu.Unlock()
	if !settled {
		_ = l.SettleSent(id, state)
	}
}

func (h *lockHandler) Detach(*Link, *Error) {}

// TestServePeekLockReceiver sends to go-amqp's receiver as azservicebus uses it for PeekLock:
// manual credit, receiver settle mode second. No credit, no transfer; the client's accept and
// modify reach the handler per delivery; a drain with nothing to send returns the credit.
func TestServePeekLockReceiver(t *testing.T) {
	h := &lockHandler{senders: make(chan *Link, 1), outcomes: map[uint32]DeliveryState{}}
	addr, result := startServer(t, &ServerConfig{Handler: h})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := goamqp.Dial(ctx, "amqp://"+addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := goamqp.ReceiverSettleModeSecond
	receiver, err := sess.NewReceiver(ctx, "q1", &goamqp.ReceiverOptions{Credit: -1, SettlementMode: &second})
	if err != nil {
		t.Fatal(err)
	}
	link := <-h.senders
	if link.Source == nil || link.Source.Address != "q1" || link.Remote.RcvSettleMode == nil ||
		*link.Remote.RcvSettleMode != ReceiverSettleSecond {
		t.Fatalf("link %#v", link.Remote)
	}

	// Without credit a send cannot go out: it waits until its context ends.
	payload, err := (&Message{Value: "m0", HasValue: true}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = link.Send(short, []byte("t0"), payload, 0, false)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send without credit: %v", err)
	}

	if err := receiver.IssueCredit(2); err != nil {
		t.Fatal(err)
	}
	lockToken := UUID{1, 2, 3}
	for i, body := range []string{"m1", "m2"} {
		msg, err := (&Message{
			DeliveryAnnotations: Map{{Symbol("x-opt-lock-token"), lockToken}},
			MessageAnnotations:  Map{{Symbol("x-opt-sequence-number"), int64(i + 1)}},
			Header:              &Header{Priority: 4, DeliveryCount: 1},
			Data:                [][]byte{[]byte(body)},
		}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := link.Send(ctx, lockToken[:], msg, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	m1, err := receiver.Receive(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := receiver.Receive(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(m1.GetData()) != "m1" || string(m2.GetData()) != "m2" || !bytes.Equal(m1.DeliveryTag, lockToken[:]) ||
		m1.Annotations["x-opt-sequence-number"] != int64(1) || m1.Header.DeliveryCount != 1 {
		t.Fatalf("received %#v %#v", m1, m2)
	}
	if err := receiver.AcceptMessage(ctx, m1); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if err := receiver.ModifyMessage(ctx, m2, &goamqp.ModifyMessageOptions{
		Annotations: goamqp.Annotations{"reason": "abandon"}}); err != nil {
		t.Fatalf("modify: %v", err)
	}
	h.mu.Lock()
	if len(h.outcomes) != 2 {
		t.Fatalf("outcomes %#v", h.outcomes)
	}
	for _, st := range h.outcomes {
		switch st := st.(type) {
		case *Accepted:
		case *Modified:
			if r, _ := st.MessageAnnotations.Get(Symbol("reason")); r != "abandon" {
				t.Fatalf("modified %#v", st)
			}
		default:
			t.Fatalf("outcome %#v", st)
		}
	}
	h.mu.Unlock()

	if err := receiver.IssueCredit(5); err != nil {
		t.Fatal(err)
	}
	if err := receiver.DrainCredit(ctx, nil); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// FuzzServe feeds arbitrary frames to a connection after a valid handshake: the engine must
// end the connection (never panic, never hang) whatever follows.
func FuzzServe(f *testing.F) {
	frame := func(channel uint16, p Performative) []byte {
		body, err := AppendPerformative(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		b, err := AppendFrame(nil, Frame{Channel: channel, Body: body})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	msg, err := (&Message{Properties: &Properties{MessageID: "1", ReplyTo: "r"}, Value: "t", HasValue: true}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	session := [][]byte{
		frame(0, &Begin{IncomingWindow: 100, OutgoingWindow: 100}),
		frame(0, &Attach{Name: "r", Handle: 1, Role: RoleReceiver, Source: &Source{Address: "$cbs"}, Target: &Target{Address: "r"}}),
		frame(0, &Flow{IncomingWindow: 100, NextOutgoingID: 0, OutgoingWindow: 100, Handle: ptr[uint32](1),
			DeliveryCount: ptr[uint32](0), LinkCredit: ptr[uint32](5)}),
		frame(0, &Attach{Name: "s", Handle: 0, Role: RoleSender, Target: &Target{Address: "$cbs"}, InitialDeliveryCount: ptr[uint32](0)}),
		frame(0, &Transfer{Handle: 0, DeliveryID: ptr[uint32](0), DeliveryTag: []byte{0}, MessageFormat: ptr[uint32](0), More: true, Payload: msg[:5]}),
		frame(0, &Transfer{Handle: 0, Payload: msg[5:]}),
		frame(0, &Disposition{Role: RoleReceiver, First: 0, Last: ptr[uint32](9), Settled: true, State: &Accepted{}}),
		frame(0, &Flow{IncomingWindow: 100, NextOutgoingID: 2, OutgoingWindow: 100, Handle: ptr[uint32](1),
			DeliveryCount: ptr[uint32](1), LinkCredit: ptr[uint32](0), Drain: true, Echo: true}),
		frame(0, &Detach{Handle: 0, Closed: true}),
		frame(0, &End{}),
		frame(0, &Close{}),
	}
	f.Add(bytes.Join(session, nil))
	f.Add(bytes.Join(session[:5], nil))
	f.Add([]byte{0, 0, 0, 8, 2, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0x45})

	var prefix []byte
	prefix = append(prefix, HeaderSASL.Bytes()...)
	prefix = append(prefix, frameOf(f, FrameSASL, &SASLInit{Mechanism: SASLAnonymous})...)
	prefix = append(prefix, HeaderAMQP.Bytes()...)
	prefix = append(prefix, frame(0, &Open{ContainerID: "fuzz", MaxFrameSize: 512, ChannelMax: 3})...)

	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- Serve(context.Background(), server, &ServerConfig{Handler: &cbsHandler{}, MaxFrameSize: 4096,
				IdleTimeout: 10 * time.Second, HandshakeTimeout: 10 * time.Second})
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_, _ = client.Write(append(append([]byte{}, prefix...), in...))
		_ = client.Close()
		<-done
	})
}

func frameOf(f *testing.F, typ byte, p Performative) []byte {
	body, err := AppendPerformative(nil, p)
	if err != nil {
		f.Fatal(err)
	}
	b, err := AppendFrame(nil, Frame{Type: typ, Body: body})
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// mechanismHandler records the SASL mechanism of the connection a link arrives on.
type mechanismHandler struct {
	cbsHandler
	mechanisms chan Symbol
}

func (h *mechanismHandler) Attach(l *Link) *Error {
	h.mechanisms <- l.Conn().Mechanism
	return h.cbsHandler.Attach(l)
}

// TestServeSASLExternal: over TLS with a verified client certificate, go-amqp's EXTERNAL is
// accepted; the same client without a certificate is refused.
func TestServeSASLExternal(t *testing.T) {
	pki := newTestPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, withCert := range []bool{true, false} {
		h := &mechanismHandler{mechanisms: make(chan Symbol, 1)}
		addr, result := startServerTLS(ctx, t, &ServerConfig{SASLMechanisms: []Symbol{SASLExternal}, Handler: h}, serverTLS)
		clientTLS := &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
		if withCert {
			clientTLS.Certificates = []tls.Certificate{pki.client}
		}
		conn, err := goamqp.Dial(ctx, "amqps://"+addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeExternal(""), TLSConfig: clientTLS})
		if !withCert {
			if err == nil {
				t.Fatal("EXTERNAL without a client certificate connected")
			}
			if err := <-result; err == nil {
				t.Fatal("server accepted EXTERNAL without a certificate")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sess, err := conn.NewSession(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sess.NewSender(ctx, "q1", nil); err != nil {
			t.Fatal(err)
		}
		if m := <-h.mechanisms; m != SASLExternal {
			t.Fatalf("mechanism %q", m)
		}
		if err := conn.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-result; err != nil {
			t.Fatalf("server: %v", err)
		}
	}
}

// TestServeConcurrentSendsShareCredit: sends waiting on one link all go out when one flow
// grants enough credit for all of them.
func TestServeConcurrentSendsShareCredit(t *testing.T) {
	h := &lockHandler{senders: make(chan *Link, 1), outcomes: map[uint32]DeliveryState{}}
	addr, result := startServer(t, &ServerConfig{Handler: h})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := goamqp.Dial(ctx, "amqp://"+addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := sess.NewReceiver(ctx, "q1", &goamqp.ReceiverOptions{Credit: -1})
	if err != nil {
		t.Fatal(err)
	}
	link := <-h.senders
	payload, err := (&Message{Value: "m", HasValue: true}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const senders = 3
	errs := make(chan error, senders)
	for range senders {
		go func() {
			_, err := link.Send(ctx, []byte("t"), payload, 0, true)
			errs <- err
		}()
	}
	if err := receiver.IssueCredit(senders); err != nil {
		t.Fatal(err)
	}
	for range senders {
		if _, err := receiver.Receive(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatalf("server: %v", err)
	}
}
