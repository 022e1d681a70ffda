package amqp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// allPerformatives holds one of each performative with every field set, and some with only
// the mandatory ones.
func allPerformatives() []Performative {
	errFull := &Error{Condition: ErrNotFound, Description: "no such queue", Info: Map{{Symbol("k"), "v"}}}
	return []Performative{
		&Open{ContainerID: "c1", Hostname: "ns.servicebus.windows.net", MaxFrameSize: 65536, ChannelMax: 4,
			IdleTimeout: 30 * time.Second, OutgoingLocales: []Symbol{"en-US"}, IncomingLocales: []Symbol{"en-US", "de"},
			OfferedCapabilities: []Symbol{"a"}, DesiredCapabilities: []Symbol{"b"},
			Properties: Map{{Symbol("product"), "MSGolangClient"}}},
		&Open{ContainerID: "", MaxFrameSize: 0xffffffff, ChannelMax: 0xffff},
		&Begin{RemoteChannel: ptr[uint16](3), NextOutgoingID: 1, IncomingWindow: 5000, OutgoingWindow: 4000,
			HandleMax: 7, OfferedCapabilities: []Symbol{"x"}, DesiredCapabilities: []Symbol{"y"}, Properties: Map{}},
		&Begin{NextOutgoingID: 0, IncomingWindow: 0, OutgoingWindow: 0, HandleMax: 0xffffffff},
		&Attach{Name: "link", Handle: 9, Role: RoleReceiver, SndSettleMode: ptr(SenderSettleSettled),
			RcvSettleMode: ptr(ReceiverSettleSecond),
			Source: &Source{Address: "q1/$management", Durable: DurableUnsettled, ExpiryPolicy: ExpiryNever, Timeout: 60,
				Dynamic: true, DynamicNodeProperties: Map{{Symbol("lifetime-policy"), Described{uint64(0x2b), []any{}}}},
				DistributionMode: "move", Filter: Map{{Symbol("f"), Described{Symbol("apache.org:selector-filter:string"), "a = 1"}}},
				DefaultOutcome: &Released{}, Outcomes: []Symbol{"amqp:accepted:list"}, Capabilities: []Symbol{"queue"}},
			Target: &Target{Address: "cbs-reply-to-1", Durable: DurableConfiguration, ExpiryPolicy: ExpiryLinkDetach,
				Timeout: 1, Dynamic: true, DynamicNodeProperties: Map{}, Capabilities: []Symbol{"topic"}},
			Unsettled: Map{{[]byte("tag"), Described{descAccepted, []any{}}}}, IncompleteUnsettled: true,
			InitialDeliveryCount: ptr[uint32](0), MaxMessageSize: 1 << 20, OfferedCapabilities: []Symbol{"o"},
			DesiredCapabilities: []Symbol{"d"}, Properties: Map{{Symbol("com.microsoft:timeout"), uint32(60000)}}},
		&Attach{Name: "s", Handle: 0, Role: RoleSender},
		&Attach{Name: "txn", Handle: 1, Role: RoleSender, Source: &Source{Outcomes: []Symbol{"amqp:accepted:list"}},
			Target: &Target{Coordinator: true, Capabilities: []Symbol{"amqp:local-transactions"}}},
		&Flow{NextIncomingID: ptr[uint32](1), IncomingWindow: 2, NextOutgoingID: 3, OutgoingWindow: 4,
			Handle: ptr[uint32](5), DeliveryCount: ptr[uint32](6), LinkCredit: ptr[uint32](7), Available: ptr[uint32](8),
			Drain: true, Echo: true, Properties: Map{{Symbol("p"), int64(1)}}},
		&Flow{IncomingWindow: 0, NextOutgoingID: 0, OutgoingWindow: 0},
		&Transfer{Handle: 1, DeliveryID: ptr[uint32](2), DeliveryTag: []byte{1, 2, 3}, MessageFormat: ptr(BatchMessageFormat),
			Settled: true, More: true, RcvSettleMode: ptr(ReceiverSettleFirst),
			State: &Received{SectionNumber: 1, SectionOffset: 2}, Resume: true, Aborted: true, Batchable: true,
			Payload: []byte("payload")},
		&Transfer{Handle: 0, Payload: []byte{}},
		&Disposition{Role: RoleReceiver, First: 1, Last: ptr[uint32](3), Settled: true,
			State: &Rejected{Error: errFull}, Batchable: true},
		&Disposition{Role: RoleSender, First: 0, State: &Modified{DeliveryFailed: true, UndeliverableHere: true,
			MessageAnnotations: Map{{Symbol("x-opt-a"), "b"}}}},
		&Disposition{First: 0, State: &Accepted{}},
		&Disposition{First: 0, State: &Rejected{}},
		&Detach{Handle: 4, Closed: true, Error: errFull},
		&Detach{Handle: 0},
		&End{Error: &Error{Condition: ErrWindowViolation}},
		&End{},
		&Close{Error: &Error{Condition: ErrDecode, Description: "bad frame"}},
		&Close{},
		&SASLMechanisms{Mechanisms: []Symbol{SASLAnonymous, SASLExternal}},
		&SASLInit{Mechanism: SASLAnonymous, InitialResponse: []byte("anonymous"), Hostname: "localhost"},
		&SASLInit{Mechanism: SASLExternal},
		&SASLChallenge{Challenge: []byte("c")},
		&SASLResponse{Response: []byte{}},
		&SASLOutcome{Code: SASLAuth, AdditionalData: []byte("why")},
		&SASLOutcome{Code: SASLOK},
	}
}

func TestPerformativeRoundTrip(t *testing.T) {
	for _, p := range allPerformatives() {
		enc, err := AppendPerformative(nil, p)
		if err != nil {
			t.Fatalf("%s: %v", PerformativeName(p), err)
		}
		got, err := DecodePerformative(enc)
		if err != nil {
			t.Fatalf("%s: decode: %v (% x)", PerformativeName(p), err, enc)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("%s round trip:\n got %#v\nwant %#v", PerformativeName(p), got, p)
		}
		// Encoding is deterministic and trailing nulls are gone: the list never ends in 0x40.
		again, _ := AppendPerformative(nil, got)
		if !bytes.Equal(again, enc) {
			t.Fatalf("%s: re-encoding differs", PerformativeName(p))
		}
	}
}

// TestPerformativeSpecVectors checks whole performatives against bytes composed by hand.
func TestPerformativeSpecVectors(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Performative
		hex  string
	}{
		// open: descriptor 0x53 0x10, list8 with only container-id "c".
		{"open", &Open{ContainerID: "c", MaxFrameSize: 0xffffffff, ChannelMax: 0xffff}, "00 53 10 c0 04 01 a1 01 63"},
		// open with max-frame-size 512, channel-max 0 and idle-time-out 1000 ms.
		{"open limits", &Open{ContainerID: "c", MaxFrameSize: 512, ChannelMax: 0, IdleTimeout: time.Second},
			"00 53 10 c0 12 05 a1 01 63 40 70 00000200 60 0000 70 000003e8"},
		// begin: remote-channel absent, next-outgoing-id 0 (uint0), windows 100 (smalluint).
		{"begin", &Begin{IncomingWindow: 100, OutgoingWindow: 100, HandleMax: 0xffffffff},
			"00 53 11 c0 07 04 40 43 52 64 52 64"},
		// attach sender "a" handle 0 target "$cbs".
		{"attach", &Attach{Name: "a", Handle: 0, Role: RoleSender, Target: &Target{Address: "$cbs"}},
			"00 53 12 c0 15 07 a1 01 61 43 42 40 40 40 00 53 29 c0 07 01 a1 04 24636273"},
		// flow: incoming-window 1, next-outgoing-id 0, outgoing-window 1, handle 0, link-credit 10.
		{"flow", &Flow{IncomingWindow: 1, NextOutgoingID: 0, OutgoingWindow: 1, Handle: ptr[uint32](0),
			DeliveryCount: ptr[uint32](0), LinkCredit: ptr[uint32](10)},
			"00 53 13 c0 0b 07 40 52 01 43 52 01 43 43 52 0a"},
		// transfer handle 0, delivery-id 0, tag 0x01, format 0, then payload 0xff.
		{"transfer", &Transfer{Handle: 0, DeliveryID: ptr[uint32](0), DeliveryTag: []byte{1}, MessageFormat: ptr[uint32](0),
			Payload: []byte{0xff}}, "00 53 14 c0 07 04 43 43 a0 01 01 43 ff"},
		// disposition receiver first 0 settled accepted.
		{"disposition", &Disposition{Role: RoleReceiver, First: 0, Settled: true, State: &Accepted{}},
			"00 53 15 c0 09 05 41 43 40 41 00 53 24 45"},
		{"detach", &Detach{Handle: 1, Closed: true}, "00 53 16 c0 04 02 52 01 41"},
		{"end", &End{}, "00 53 17 45"},
		{"close with error", &Close{Error: &Error{Condition: "x"}}, "00 53 18 c0 0a 01 00 53 1d c0 04 01 a3 01 78"},
		{"sasl-mechanisms", &SASLMechanisms{Mechanisms: []Symbol{"ANONYMOUS"}},
			"00 53 40 c0 0f 01 e0 0c 01 a3 09 414e4f4e594d4f5553"},
		{"sasl-outcome", &SASLOutcome{Code: SASLOK}, "00 53 44 c0 03 01 50 00"},
	} {
		want := unhex(t, c.hex)
		got, err := AppendPerformative(nil, c.p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, got, want)
		}
		dec, err := DecodePerformative(want)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		if !reflect.DeepEqual(dec, c.p) {
			t.Errorf("%s: decoded %#v", c.name, dec)
		}
	}
}

func TestPerformativeDecodeForms(t *testing.T) {
	// Symbolic descriptors, a single symbol for a multiple field, wide constructors.
	p, err := DecodePerformative(unhex(t, "00 a3 0e 616d71703a6f70656e3a6c697374 d0 00000010 00000008 a1 01 63 40 40 40 40 40 40 a3 01 78"))
	if err != nil {
		t.Fatal(err)
	}
	if o := p.(*Open); o.ContainerID != "c" || !reflect.DeepEqual(o.OfferedCapabilities, []Symbol{"x"}) ||
		o.MaxFrameSize != 0xffffffff || o.ChannelMax != 0xffff {
		t.Fatalf("%#v", o)
	}
	for _, c := range []struct{ name, hex, want string }{
		{"open without container-id", "00 53 10 45", "mandatory"},
		{"open with a null container-id", "00 53 10 c0 02 01 40", "mandatory"},
		{"begin without windows", "00 53 11 c0 03 02 40 43", "mandatory"},
		{"attach role of the wrong type", "00 53 12 c0 06 03 a1 01 61 43 43", "where a bool belongs"},
		{"unknown descriptor", "00 53 99 45", "not a performative"},
		{"unknown symbolic descriptor", "00 a3 01 78 45", "unknown descriptor"},
		{"delivery state descriptor as performative", "00 53 24 45", "not a performative"},
		{"not described", "c0 01 00", "described value"},
		{"body not a list", "00 53 10 a1 01 63", "list belongs"},
		{"trailing bytes after open", "00 53 10 c0 04 01 a1 01 63 40", "after a open"},
		{"source of the wrong descriptor", "00 53 12 c0 0c 06 a1 01 61 43 42 40 40 00 53 29 45", "where a source"},
		{"error without condition", "00 53 18 c0 05 01 00 53 1d 45", "mandatory"},
		{"unknown delivery state", "00 53 15 c0 09 05 41 43 40 41 00 53 33 45", "delivery state belongs"},
		{"sender settle mode 3", "00 53 12 c0 08 04 a1 01 61 43 42 50 03", "settle mode"},
		{"delivery tag of 33 bytes", "00 53 14 c0 26 03 43 43 a0 21 000000000000000000000000000000000000000000000000000000000000000000", "at most 32"},
		{"sasl-mechanisms empty", "00 53 40 45", "mandatory"},
	} {
		_, err := DecodePerformative(unhex(t, c.hex))
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: err = %v, want a DecodeError", c.name, err)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one about %q", c.name, err, c.want)
		}
	}
	if _, err := AppendPerformative(nil, &Close{Error: &Error{}}); err == nil {
		t.Error("an error without a condition encoded")
	}
	if _, err := AppendPerformative(nil, &SASLMechanisms{}); err == nil {
		t.Error("sasl-mechanisms without mechanisms encoded")
	}
}

func TestErrorString(t *testing.T) {
	var err error = &Error{Condition: ErrNotFound, Description: "q1"}
	if err.Error() != "amqp: amqp:not-found: q1" {
		t.Fatal(err.Error())
	}
	if (&Error{Condition: ErrInternal}).Error() != "amqp: amqp:internal-error" {
		t.Fatal("condition only")
	}
}

func FuzzDecodePerformative(f *testing.F) {
	for _, p := range allPerformatives() {
		enc, err := AppendPerformative(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodePerformative(in)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DecodeError", err)
			}
			return
		}
		enc, err := AppendPerformative(nil, p)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", p, err)
		}
		again, err := DecodePerformative(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding of %#v: %v", p, err)
		}
		// Compared as bytes: NaNs keep their bits but are never DeepEqual.
		if enc2, err := AppendPerformative(nil, again); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("%#v re-decoded as %#v (%v)", p, again, err)
		}
	})
}
