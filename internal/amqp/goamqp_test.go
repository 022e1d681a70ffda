package amqp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"
)

// scriptedPeer plays the broker for one connection from github.com/Azure/go-amqp's client,
// speaking only through this package, and keeps every frame the client sent. It answers as
// Service Bus answers a $cbs put-token: accepted, then a response on the reply-to link.
type scriptedPeer struct {
	t        *testing.T
	conn     net.Conn
	captured bytes.Buffer // every byte the client sent
	in       io.Reader
	sent     []Performative // what the client sent, decoded, in order
	requests []*Message     // messages the client transferred
	batches  [][]*Message   // the messages of each batch transfer (format 0x80013700)
	maxFrame uint32
}

func (p *scriptedPeer) send(typ byte, channel uint16, perf Performative) error {
	body, err := AppendPerformative(nil, perf)
	if err != nil {
		return err
	}
	return WriteFrame(p.conn, Frame{Type: typ, Channel: channel, Body: body})
}

// next reads the client's next non-empty frame.
func (p *scriptedPeer) next() (Frame, Performative, error) {
	for {
		f, err := ReadFrame(p.in, p.maxFrame)
		if err != nil {
			return Frame{}, nil, err
		}
		if len(f.Body) == 0 {
			continue // heartbeat
		}
		perf, err := DecodePerformative(f.Body)
		if err != nil {
			return Frame{}, nil, fmt.Errorf("decoding a frame the client sent (% x): %w", f.Body, err)
		}
		p.sent = append(p.sent, perf)
		return f, perf, nil
	}
}

func (p *scriptedPeer) serve() error {
	p.in = io.TeeReader(p.conn, &p.captured)
	if h, err := ReadProtocolHeader(p.in); err != nil || h != HeaderSASL {
		return fmt.Errorf("SASL header: %v %w", h, err)
	}
	if _, err := p.conn.Write(HeaderSASL.Bytes()); err != nil {
		return err
	}
	if err := p.send(FrameSASL, 0, &SASLMechanisms{Mechanisms: []Symbol{SASLAnonymous}}); err != nil {
		return err
	}
	if _, perf, err := p.next(); err != nil {
		return err
	} else if init, ok := perf.(*SASLInit); !ok || init.Mechanism != SASLAnonymous {
		return fmt.Errorf("sasl-init: %#v", perf)
	}
	if err := p.send(FrameSASL, 0, &SASLOutcome{Code: SASLOK}); err != nil {
		return err
	}
	if h, err := ReadProtocolHeader(p.in); err != nil || h != HeaderAMQP {
		return fmt.Errorf("AMQP header: %v %w", h, err)
	}
	if _, err := p.conn.Write(HeaderAMQP.Bytes()); err != nil {
		return err
	}
	links := map[uint32]*Attach{} // the client's links by handle (ours use the same numbers)
	credit := map[uint32]uint32{}
	var pending []*Message // responses waiting for the reply link's credit
	var nextDelivery uint32
	assemblers := map[uint32]*Assembler{}
	flush := func(channel uint16) error {
		for len(pending) > 0 {
			var replyHandle *uint32
			for h, a := range links {
				if a.Role == RoleReceiver && credit[h] > 0 {
					replyHandle = &h
				}
			}
			if replyHandle == nil {
				return nil
			}
			payload, err := pending[0].Marshal()
			if err != nil {
				return err
			}
			pending = pending[1:]
			credit[*replyHandle]--
			id := nextDelivery
			nextDelivery++
			if err := p.send(FrameAMQP, channel, &Transfer{Handle: *replyHandle, DeliveryID: &id,
				DeliveryTag: []byte{byte(id)}, MessageFormat: ptr[uint32](0), Settled: true, Payload: payload}); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		f, perf, err := p.next()
		if err != nil {
			return err
		}
		switch perf := perf.(type) {
		case *Open:
			if err := p.send(FrameAMQP, 0, &Open{ContainerID: "lanyard", MaxFrameSize: p.maxFrame, ChannelMax: 0,
				IdleTimeout: time.Minute}); err != nil {
				return err
			}
		case *Begin:
			if err := p.send(FrameAMQP, f.Channel, &Begin{RemoteChannel: &f.Channel, NextOutgoingID: 0,
				IncomingWindow: 5000, OutgoingWindow: 5000, HandleMax: 0xffffffff}); err != nil {
				return err
			}
		case *Attach:
			links[perf.Handle] = perf
			reply := &Attach{Name: perf.Name, Handle: perf.Handle, Role: !perf.Role, Source: perf.Source,
				Target: perf.Target, SndSettleMode: perf.SndSettleMode, RcvSettleMode: perf.RcvSettleMode}
			if perf.Role == RoleReceiver {
				reply.InitialDeliveryCount = ptr[uint32](0)
			}
			if err := p.send(FrameAMQP, f.Channel, reply); err != nil {
				return err
			}
			if perf.Role == RoleSender {
				assemblers[perf.Handle] = &Assembler{MaxSize: 1 << 20}
				if err := p.send(FrameAMQP, f.Channel, &Flow{NextIncomingID: ptr[uint32](0), IncomingWindow: 5000,
					NextOutgoingID: nextDelivery, OutgoingWindow: 5000, Handle: ptr(perf.Handle),
					DeliveryCount: ptr[uint32](0), LinkCredit: ptr[uint32](10)}); err != nil {
					return err
				}
			}
		case *Flow:
			if perf.Handle != nil && perf.LinkCredit != nil {
				credit[*perf.Handle] = *perf.LinkCredit
			}
			if err := flush(f.Channel); err != nil {
				return err
			}
		case *Transfer:
			d, err := assemblers[perf.Handle].Add(perf)
			if err != nil {
				return err
			}
			if d == nil {
				continue
			}
			if d.First.MessageFormat != nil && *d.First.MessageFormat == BatchMessageFormat {
				_, batch, err := UnmarshalBatch(d.Payload)
				if err != nil {
					return fmt.Errorf("decoding the client's batch: %w", err)
				}
				p.batches = append(p.batches, batch)
			}
			msg, err := UnmarshalMessage(d.Payload)
			if err != nil {
				return fmt.Errorf("decoding the client's message: %w", err)
			}
			p.requests = append(p.requests, msg)
			if !d.Settled {
				if err := p.send(FrameAMQP, f.Channel, &Disposition{Role: RoleReceiver, First: *d.First.DeliveryID,
					Settled: true, State: &Accepted{}}); err != nil {
					return err
				}
			}
			if msg.Properties != nil && msg.Properties.ReplyTo != "" {
				pending = append(pending, &Message{
					Properties:            &Properties{CorrelationID: msg.Properties.MessageID},
					ApplicationProperties: Map{{"status-code", int32(202)}, {"status-description", "Accepted"}},
				})
			}
			if err := flush(f.Channel); err != nil {
				return err
			}
		case *Disposition:
		case *Detach:
			if err := p.send(FrameAMQP, f.Channel, &Detach{Handle: perf.Handle, Closed: true}); err != nil {
				return err
			}
		case *End:
			if err := p.send(FrameAMQP, f.Channel, &End{}); err != nil {
				return err
			}
		case *Close:
			return p.send(FrameAMQP, 0, &Close{})
		}
	}
}

// TestGoAMQPClient has go-amqp's client do what azservicebus does to put a token on a
// connection (rbac.md §3a): SASL ANONYMOUS, open, begin, the $cbs receiver and sender, the
// put-token request; the broker side here is this package only. The broker's 512-byte frames
// make the client split the 1 KiB token over several transfers.
func TestGoAMQPClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := &scriptedPeer{t: t, maxFrame: MinMaxFrameSize}
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		peer.conn = c
		served <- peer.serve()
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	jwt := strings.Repeat("j", 1024)
	status, err := putToken(ctx, "amqp://"+ln.Addr().String(), jwt, 0)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	if status != 202 {
		t.Fatalf("status-code %d", status)
	}
	if err := <-served; err != nil {
		t.Fatalf("peer: %v", err)
	}

	// What the client sent, decoded.
	var open *Open
	var attaches []*Attach
	transfers := 0
	for _, perf := range peer.sent {
		switch perf := perf.(type) {
		case *Open:
			open = perf
		case *Attach:
			attaches = append(attaches, perf)
		case *Transfer:
			transfers++
		}
	}
	if open == nil || open.ContainerID != "azservicebus-like" || open.ChannelMax != 65535 ||
		open.Hostname != "127.0.0.1" || open.MaxFrameSize != 65536 {
		t.Fatalf("open %#v", open)
	}
	if product, _ := open.Properties.Get(Symbol("product")); product != "MSGolangClient" {
		t.Fatalf("open properties %#v", open.Properties)
	}
	if len(attaches) != 3 || attaches[0].Role != RoleReceiver || attaches[0].Source.Address != "$cbs" ||
		attaches[0].Target.Address != "cbs-reply-to-1" || attaches[1].Role != RoleSender ||
		attaches[1].Target.Address != "$cbs" {
		t.Fatalf("attaches %#v %#v", attaches[0], attaches[1])
	}
	if transfers < 3 {
		t.Fatalf("%d transfers for a 1 KiB token in 512-byte frames", transfers)
	}
	if len(peer.requests) != 2 {
		t.Fatalf("%d requests", len(peer.requests))
	}
	if len(peer.batches) != 1 || len(peer.batches[0]) != 2 {
		t.Fatalf("batches %#v", peer.batches)
	}
	m1, m2 := peer.batches[0][0], peer.batches[0][1]
	if pk, _ := m1.MessageAnnotations.Get(Symbol("x-opt-partition-key")); m1.Properties.MessageID != "m1" ||
		string(m1.Data[0]) != "one" || pk != "p" {
		t.Fatalf("batch message 1 %#v", m1)
	}
	if n, _ := m2.ApplicationProperties.Get("n"); m2.Properties.MessageID != "m2" || len(m2.Data[0]) != 1024 || n != int64(2) {
		t.Fatalf("batch message 2 %#v", m2)
	}
	req := peer.requests[0]
	for key, want := range map[string]any{"operation": "put-token", "type": "jwt",
		"name": "amqps://ns.servicebus.windows.net/q1", "expiration": "1700000000"} {
		if got, _ := req.ApplicationProperties.Get(key); got != want {
			t.Errorf("application property %s = %#v, want %#v", key, got, want)
		}
	}
	if !req.HasValue || req.Value != jwt || req.Properties.ReplyTo != "cbs-reply-to-1" || req.Properties.MessageID != "req-1" {
		t.Fatalf("request %#v %#v", req, req.Properties)
	}

	// And the captured bytes decode again from the start: headers, then every frame.
	r := bytes.NewReader(peer.captured.Bytes())
	if h, err := ReadProtocolHeader(r); err != nil || h != HeaderSASL {
		t.Fatal(h, err)
	}
	if f, err := ReadFrame(r, MinMaxFrameSize); err != nil || f.Type != FrameSASL {
		t.Fatal(f, err)
	}
	if h, err := ReadProtocolHeader(r); err != nil || h != HeaderAMQP {
		t.Fatal(h, err)
	}
	frames := 0
	for {
		f, err := ReadFrame(r, MinMaxFrameSize)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Body) > 0 {
			if _, err := DecodePerformative(f.Body); err != nil {
				t.Fatal(err)
			}
		}
		frames++
	}
	if frames != len(peer.sent)-1 { // the SASL init was read above
		t.Fatalf("%d AMQP frames re-read, %d decoded live", frames, len(peer.sent)-1)
	}
}

// putToken is what azservicebus's NegotiateClaim does through go-amqp (rbac.md §3a).
func putToken(ctx context.Context, addr, jwt string, maxFrame uint32) (int32, error) {
	conn, err := goamqp.Dial(ctx, addr, &goamqp.ConnOptions{
		SASLType:     goamqp.SASLTypeAnonymous(),
		ContainerID:  "azservicebus-like",
		MaxSessions:  65535,
		MaxFrameSize: maxFrame,
		Properties:   map[string]any{"product": "MSGolangClient", "version": "test"},
	})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		return 0, err
	}
	receiver, err := sess.NewReceiver(ctx, "$cbs", &goamqp.ReceiverOptions{TargetAddress: "cbs-reply-to-1", Credit: 100})
	if err != nil {
		return 0, err
	}
	sender, err := sess.NewSender(ctx, "$cbs", nil)
	if err != nil {
		return 0, err
	}
	msg := &goamqp.Message{
		Properties: &goamqp.MessageProperties{MessageID: "req-1", ReplyTo: ptr("cbs-reply-to-1")},
		ApplicationProperties: map[string]any{"operation": "put-token", "type": "jwt",
			"name": "amqps://ns.servicebus.windows.net/q1", "expiration": "1700000000", "server-timeout": uint32(60000)},
		Value: jwt,
	}
	if err := sender.Send(ctx, msg, nil); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	resp, err := receiver.Receive(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if resp.Properties == nil || resp.Properties.CorrelationID != "req-1" {
		return 0, fmt.Errorf("response properties %#v", resp.Properties)
	}
	status, _ := resp.ApplicationProperties["status-code"].(int32)
	if err := sendBatch(ctx, sess); err != nil {
		return 0, fmt.Errorf("batch: %w", err)
	}
	if err := sender.Close(ctx); err != nil {
		return 0, err
	}
	if err := receiver.Close(ctx); err != nil {
		return 0, err
	}
	if err := sess.Close(ctx); err != nil {
		return 0, err
	}
	return status, conn.Close()
}

// sendBatch sends two messages as azservicebus's MessageBatch does (message_batch.go): each
// message marshalled, the first one's sections without body as the envelope, format 0x80013700.
func sendBatch(ctx context.Context, sess *goamqp.Session) error {
	sender, err := sess.NewSender(ctx, "q1", nil)
	if err != nil {
		return err
	}
	var data [][]byte
	msgs := []*goamqp.Message{
		{Properties: &goamqp.MessageProperties{MessageID: "m1"}, Data: [][]byte{[]byte("one")},
			Annotations: goamqp.Annotations{"x-opt-partition-key": "p"}},
		{Properties: &goamqp.MessageProperties{MessageID: "m2"}, Data: [][]byte{bytes.Repeat([]byte("2"), 1024)},
			ApplicationProperties: map[string]any{"n": int64(2)}},
	}
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		data = append(data, b)
	}
	envelope := *msgs[0]
	envelope.Data = data
	envelope.Format = BatchMessageFormat
	if err := sender.Send(ctx, &envelope, nil); err != nil {
		return err
	}
	return sender.Close(ctx)
}
