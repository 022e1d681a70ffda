package amqp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types (part 2.3.1, 5.3.1).
const (
	FrameAMQP byte = 0x00
	FrameSASL byte = 0x01
)

// Frame sizes (part 2.7.1): no peer may ask for frames smaller than MinMaxFrameSize, and
// the 8-byte header is the whole of an empty frame.
const (
	MinMaxFrameSize   = 512
	frameHeaderSize   = 8
	minDataOffset     = 2
	protocolHeaderLen = 8
)

// Frame is one AMQP or SASL frame. Body is the performative followed by any payload; an empty
// body is an empty frame, the heartbeat of part 2.4.5.
type Frame struct {
	Type    byte
	Channel uint16
	Body    []byte
}

// ErrFrameTooLarge is returned by ReadFrame for a frame above the negotiated maximum.
var ErrFrameTooLarge = errors.New("amqp: frame larger than the maximum frame size")

// ReadFrame reads one frame, refusing (before reading its body) a declared size above
// maxSize or below the header, and a data offset outside the frame. Extended header bytes
// are skipped.
func ReadFrame(r io.Reader, maxSize uint32) (Frame, error) {
	var h [frameHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	size := binary.BigEndian.Uint32(h[0:4])
	doff := uint32(h[4])
	switch {
	case size < frameHeaderSize:
		return Frame{}, decodeErrorf("frame size %d is below the header size", size)
	case size > maxSize:
		return Frame{}, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, size, maxSize)
	case doff < minDataOffset || doff*4 > size:
		return Frame{}, decodeErrorf("frame data offset %d in a frame of %d bytes", doff, size)
	}
	rest := make([]byte, size-frameHeaderSize)
	if _, err := io.ReadFull(r, rest); err != nil {
		return Frame{}, fmt.Errorf("amqp: reading a frame of %d bytes: %w", size, io.ErrUnexpectedEOF)
	}
	return Frame{Type: h[5], Channel: binary.BigEndian.Uint16(h[6:8]), Body: rest[doff*4-frameHeaderSize:]}, nil
}

// AppendFrame appends f with the plain 8-byte header.
func AppendFrame(b []byte, f Frame) ([]byte, error) {
	size := uint64(frameHeaderSize) + uint64(len(f.Body))
	if size > 0xffffffff {
		return b, ErrFrameTooLarge
	}
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	b = append(b, minDataOffset, f.Type)
	b = binary.BigEndian.AppendUint16(b, f.Channel)
	return append(b, f.Body...), nil
}

// WriteFrame writes f in one Write call.
func WriteFrame(w io.Writer, f Frame) error {
	b, err := AppendFrame(make([]byte, 0, frameHeaderSize+len(f.Body)), f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ProtocolHeader is the 8 bytes each side sends before frames of a layer (part 2.2):
// "AMQP", a protocol id (0 AMQP, 2 TLS, 3 SASL) and the version.
type ProtocolHeader struct {
	ID                     byte
	Major, Minor, Revision byte
}

// The protocol headers Lanyard speaks: AMQP 1.0.0 and SASL for AMQP 1.0.0.
var (
	HeaderAMQP = ProtocolHeader{ID: 0, Major: 1}
	HeaderSASL = ProtocolHeader{ID: 3, Major: 1}
)

// Bytes is the header as sent.
func (h ProtocolHeader) Bytes() []byte {
	return []byte{'A', 'M', 'Q', 'P', h.ID, h.Major, h.Minor, h.Revision}
}

func (h ProtocolHeader) String() string {
	return fmt.Sprintf("AMQP %d %d.%d.%d", h.ID, h.Major, h.Minor, h.Revision)
}

// ReadProtocolHeader reads 8 bytes and checks that they start with "AMQP"; the caller
// decides whether the id and version are ones it speaks.
func ReadProtocolHeader(r io.Reader) (ProtocolHeader, error) {
	var b [protocolHeaderLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return ProtocolHeader{}, err
	}
	if string(b[:4]) != "AMQP" {
		return ProtocolHeader{}, decodeErrorf("protocol header % x does not start with AMQP", b[:])
	}
	return ProtocolHeader{ID: b[4], Major: b[5], Minor: b[6], Revision: b[7]}, nil
}
