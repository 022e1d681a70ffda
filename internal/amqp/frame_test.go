package amqp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	open, err := AppendPerformative(nil, &Open{ContainerID: "c", MaxFrameSize: 0xffffffff, ChannelMax: 0xffff})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	frames := []Frame{
		{Type: FrameAMQP, Channel: 0, Body: open},
		{Type: FrameAMQP, Channel: 7, Body: []byte{}}, // empty frame: a heartbeat
		{Type: FrameSASL, Channel: 0, Body: []byte{0x00, 0x53, 0x44, 0x45}},
	}
	for _, f := range frames {
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	// The first frame on the wire: size 17, doff 2, type 0, channel 0, then the open.
	want := append(unhex(t, "00000011 02 00 0000"), open...)
	if !bytes.Equal(buf.Bytes()[:len(want)], want) {
		t.Fatalf("header % x", buf.Bytes()[:8])
	}
	for _, f := range frames {
		got, err := ReadFrame(&buf, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("read %#v, want %#v", got, f)
		}
	}
	if _, err := ReadFrame(&buf, 1024); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestReadFrameExtendedHeader(t *testing.T) {
	// doff 3: four bytes of extended header, skipped.
	in := unhex(t, "0000000e 03 00 0005 deadbeef 0053")
	f, err := ReadFrame(bytes.NewReader(in), 512)
	if err != nil {
		t.Fatal(err)
	}
	if f.Channel != 5 || !bytes.Equal(f.Body, []byte{0x00, 0x53}) {
		t.Fatalf("%#v", f)
	}
}

func TestReadFrameRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want error // nil: a DecodeError
	}{
		{"size below the header", "00000007 02 00 0000", nil},
		{"size above the maximum, before reading it", "ffffffff 02 00 0000", ErrFrameTooLarge},
		{"doff below 2", "00000008 01 00 0000", nil},
		{"doff beyond the frame", "0000000c 04 00 0000 00000000", nil},
		{"truncated body", "00000010 02 00 0000 0102", io.ErrUnexpectedEOF},
		{"truncated header", "000000", io.ErrUnexpectedEOF},
	} {
		_, err := ReadFrame(bytes.NewReader(unhex(t, c.in)), 1024)
		var de *DecodeError
		if c.want == nil && !errors.As(err, &de) {
			t.Errorf("%s: err = %v, want a DecodeError", c.name, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestProtocolHeaders(t *testing.T) {
	if got := HeaderAMQP.Bytes(); string(got) != "AMQP\x00\x01\x00\x00" {
		t.Fatalf("% x", got)
	}
	if got := HeaderSASL.Bytes(); string(got) != "AMQP\x03\x01\x00\x00" {
		t.Fatalf("% x", got)
	}
	h, err := ReadProtocolHeader(bytes.NewReader([]byte("AMQP\x03\x01\x00\x00")))
	if err != nil || h != HeaderSASL {
		t.Fatalf("%v %v", h, err)
	}
	_, err = ReadProtocolHeader(bytes.NewReader([]byte("HTTP/1.1")))
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("HTTP accepted: %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(unhex(f, "00000011 02 00 0000 0053 10 c0 04 01 a1 01 63"))
	f.Add(unhex(f, "00000008 02 00 0000"))
	f.Add(unhex(f, "0000000e 03 01 0005 deadbeef 0053"))
	f.Add(unhex(f, "ffffffff 02 00 0000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			fr, err := ReadFrame(r, 4096)
			if err != nil {
				return
			}
			// The frame never claims more than was there, and re-reads the same after writing.
			var buf bytes.Buffer
			if err := WriteFrame(&buf, fr); err != nil {
				t.Fatal(err)
			}
			again, err := ReadFrame(&buf, 4096)
			if err != nil || !reflect.DeepEqual(again, fr) {
				t.Fatalf("re-read %#v as %#v (%v)", fr, again, err)
			}
			if len(fr.Body) > 0 {
				_, _ = DecodePerformative(fr.Body)
			}
		}
	})
}
