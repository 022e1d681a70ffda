package amqp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fullMessage() *Message {
	return &Message{
		Header:              &Header{Durable: true, Priority: 9, TTL: time.Minute, FirstAcquirer: true, DeliveryCount: 2},
		DeliveryAnnotations: Map{{Symbol("x-opt-lock-token"), UUID{1}}},
		MessageAnnotations: Map{{Symbol("x-opt-sequence-number"), int64(42)},
			{Symbol("x-opt-enqueued-time"), time.UnixMilli(1700000000000).UTC()}},
		Properties: &Properties{MessageID: "m1", UserID: []byte("u"), To: "q1", Subject: "s", ReplyTo: "r",
			CorrelationID: UUID{2}, ContentType: "application/json", ContentEncoding: "gzip",
			AbsoluteExpiryTime: time.UnixMilli(1800000000000).UTC(), CreationTime: time.UnixMilli(1700000000001).UTC(),
			GroupID: "g", GroupSequence: ptr[uint32](3), ReplyToGroupID: "rg"},
		ApplicationProperties: Map{{"operation", "put-token"}, {"server-timeout", uint32(60000)}},
		Data:                  [][]byte{[]byte("hello"), {}},
		Footer:                Map{{Symbol("f"), true}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []*Message{
		fullMessage(),
		{},
		{HasValue: true},
		{Value: "jwt", HasValue: true, Properties: &Properties{MessageID: uint64(7)}},
		{Sequence: [][]any{{int32(1)}, {}}},
		{Header: &Header{Priority: 4}, Data: [][]byte{{1}}},
		{Properties: &Properties{MessageID: []byte{1}, CorrelationID: "c"}, ApplicationProperties: Map{}},
	} {
		enc, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalMessage(enc)
		if err != nil {
			t.Fatalf("%v (% x)", err, enc)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
		}
	}
}

// TestMessageSpecVector is the $cbs put-token request of rbac.md §3a, composed by hand.
func TestMessageSpecVector(t *testing.T) {
	m := &Message{
		Properties:            &Properties{MessageID: "1", ReplyTo: "r"},
		ApplicationProperties: Map{{"operation", "put-token"}},
		Value:                 "t",
		HasValue:              true,
	}
	want := unhex(t, "00 53 73 c0 0a 05 a1 01 31 40 40 40 a1 01 72"+
		"00 53 74 c1 17 02 a1 09 6f7065726174696f6e a1 09 7075742d746f6b656e"+
		"00 53 77 a1 01 74")
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("\n got % x\nwant % x", got, want)
	}
}

func TestMessageRefuses(t *testing.T) {
	for _, c := range []struct{ name, hex, want string }{
		{"properties after application-properties", "00 53 74 c1 01 00 00 53 73 45", "out of order"},
		{"two headers", "00 53 70 45 00 53 70 45", "out of order"},
		{"data then value", "00 53 75 a0 00 00 53 77 40", "out of order"},
		{"two values", "00 53 77 40 00 53 77 40", "out of order"},
		{"data of the wrong type", "00 53 75 a1 00", "data section"},
		{"application property key a symbol", "00 53 74 c1 05 02 a3 01 61 40", "key of type"},
		{"message id of the wrong type", "00 53 73 c0 02 01 41", "message id"},
		{"a performative as a section", "00 53 10 45", "not a message section"},
		{"annotations not a map", "00 53 72 45", "not a map"},
		{"not described", "40", "described value"},
	} {
		_, err := UnmarshalMessage(unhex(t, c.hex))
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a DecodeError about %q", c.name, err, c.want)
		}
	}
	if _, err := (&Message{Data: [][]byte{{1}}, Value: 1, HasValue: true}).Marshal(); err == nil {
		t.Error("two kinds of body encoded")
	}
	if _, err := (&Message{Properties: &Properties{MessageID: int32(1)}}).Marshal(); err == nil {
		t.Error("an int32 message id encoded")
	}
}

func TestBatch(t *testing.T) {
	first := &Message{Properties: &Properties{MessageID: "a"}, MessageAnnotations: Map{{Symbol("x-opt-partition-key"), "p"}},
		Data: [][]byte{[]byte("one")}}
	second := &Message{Properties: &Properties{MessageID: "b"}, ApplicationProperties: Map{{"k", int64(1)}},
		Data: [][]byte{[]byte("two")}}
	payload, err := MarshalBatch([]*Message{first, second})
	if err != nil {
		t.Fatal(err)
	}
	envelope, msgs, err := UnmarshalBatch(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(msgs, []*Message{first, second}) {
		t.Fatalf("batch messages %#v", msgs)
	}
	if envelope.Properties.MessageID != "a" || len(envelope.Data) != 2 || envelope.MessageAnnotations == nil {
		t.Fatalf("envelope %#v", envelope)
	}
	if _, err := MarshalBatch(nil); err == nil {
		t.Fatal("an empty batch encoded")
	}
	bad, _ := (&Message{Data: [][]byte{{0x57}}}).Marshal()
	if _, _, err := UnmarshalBatch(bad); err == nil {
		t.Fatal("a batch holding a broken message decoded")
	}
	value, _ := (&Message{Value: "x", HasValue: true}).Marshal()
	if _, _, err := UnmarshalBatch(value); err == nil {
		t.Fatal("a batch with a value body decoded")
	}
}

func TestAssembler(t *testing.T) {
	a := Assembler{MaxSize: 10}
	id := ptr[uint32](5)
	d, err := a.Add(&Transfer{DeliveryID: id, DeliveryTag: []byte("t"), More: true, Payload: []byte("abc")})
	if d != nil || err != nil || !a.InProgress() {
		t.Fatalf("first part: %v %v", d, err)
	}
	d, err = a.Add(&Transfer{More: true, Payload: []byte("de")})
	if d != nil || err != nil {
		t.Fatalf("second part: %v %v", d, err)
	}
	d, err = a.Add(&Transfer{DeliveryID: id, Settled: true, Payload: []byte("f")})
	if err != nil || d == nil || string(d.Payload) != "abcdef" || !d.Settled || *d.First.DeliveryID != 5 || a.InProgress() {
		t.Fatalf("last part: %#v %v", d, err)
	}
	// One transfer, no copy.
	p := []byte("x")
	d, _ = a.Add(&Transfer{DeliveryID: id, Payload: p})
	if &d.Payload[0] != &p[0] {
		t.Fatal("a single-transfer delivery was copied")
	}
	// Aborted.
	_, _ = a.Add(&Transfer{DeliveryID: id, More: true, Payload: []byte("abc")})
	d, err = a.Add(&Transfer{Aborted: true})
	if err != nil || !d.Aborted || d.Payload != nil || a.InProgress() {
		t.Fatalf("aborted: %#v %v", d, err)
	}
	// Too large.
	_, _ = a.Add(&Transfer{DeliveryID: id, More: true, Payload: make([]byte, 8)})
	if _, err := a.Add(&Transfer{Payload: make([]byte, 3)}); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	// A continuation naming another delivery, and a first transfer without an id.
	_, _ = a.Add(&Transfer{DeliveryID: id, More: true})
	var amqpErr *Error
	if _, err := a.Add(&Transfer{DeliveryID: ptr[uint32](6)}); !errors.As(err, &amqpErr) || amqpErr.Condition != ErrInvalidField {
		t.Fatalf("mismatched continuation: %v", err)
	}
	if _, err := a.Add(&Transfer{}); err == nil {
		t.Fatal("a first transfer without a delivery id")
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []*Message{fullMessage(), {Value: "jwt", HasValue: true}, {Sequence: [][]any{{nil}}}} {
		enc, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	batch, err := MarshalBatch([]*Message{fullMessage(), {Data: [][]byte{{1}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(batch)
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _, _ = UnmarshalBatch(in)
		m, err := UnmarshalMessage(in)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DecodeError", err)
			}
			return
		}
		enc, err := m.Marshal()
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", m, err)
		}
		again, err := UnmarshalMessage(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		if enc2, err := again.Marshal(); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("%#v re-decoded as %#v", m, again)
		}
	})
}
