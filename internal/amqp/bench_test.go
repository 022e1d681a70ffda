package amqp

import (
	"bytes"
	"testing"
	"time"
)

// benchMessage is a 1 KiB message shaped as azservicebus sends one.
func benchMessage() *Message {
	return &Message{
		Header:             &Header{Durable: true, Priority: 4},
		MessageAnnotations: Map{{Symbol("x-opt-partition-key"), "p"}},
		Properties: &Properties{MessageID: "0f9b9a3e-3f4a-4d8c-9d7a-3c2f1e0d9b8a", ContentType: "application/octet-stream",
			CreationTime: time.UnixMilli(1700000000000).UTC()},
		ApplicationProperties: Map{{"tenant", "contoso"}, {"attempt", int64(1)}},
		Data:                  [][]byte{bytes.Repeat([]byte{'x'}, 1024)},
	}
}

// BenchmarkEncodeTransfer encodes a 1 KiB message, its transfer performative and the frame.
func BenchmarkEncodeTransfer(b *testing.B) {
	m := benchMessage()
	id := uint32(1)
	format := uint32(0)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		payload, err := AppendMessage(buf[:0], m)
		if err != nil {
			b.Fatal(err)
		}
		body, err := AppendPerformative(make([]byte, 0, 64+len(payload)), &Transfer{Handle: 0, DeliveryID: &id,
			DeliveryTag: []byte{1, 2, 3, 4}, MessageFormat: &format, Payload: payload})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := AppendFrame(make([]byte, 0, 8+len(body)), Frame{Channel: 0, Body: body}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(body)))
	}
}

// BenchmarkDecodeTransfer reads the frame, decodes the transfer and the message.
func BenchmarkDecodeTransfer(b *testing.B) {
	payload, err := benchMessage().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	id := uint32(1)
	body, err := AppendPerformative(nil, &Transfer{Handle: 0, DeliveryID: &id, DeliveryTag: []byte{1, 2, 3, 4}, Payload: payload})
	if err != nil {
		b.Fatal(err)
	}
	frame, err := AppendFrame(nil, Frame{Body: body})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	r := bytes.NewReader(frame)
	for b.Loop() {
		r.Reset(frame)
		f, err := ReadFrame(r, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		p, err := DecodePerformative(f.Body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := UnmarshalMessage(p.(*Transfer).Payload); err != nil {
			b.Fatal(err)
		}
	}
}
