// Package amqp is Lanyard's AMQP 1.0 (OASIS, 2012): the type system (part 1), frames
// (part 2.3), the transport and SASL performatives (parts 2.7 and 5.3), the message format
// (part 3.2), and the server side of a connection (Serve): protocol headers, SASL, open,
// sessions, links, credit and heartbeats, with a Handler for the broker behind it. It knows
// nothing of Service Bus entities, tokens or storage.
//
// AMQP values decode to Go values by type, not by constructor:
//
//	null → nil            boolean → bool         ubyte..ulong → uint8..uint64
//	byte..long → int8..int64                     float, double → float32, float64
//	decimal32/64/128 → Decimal32/64/128 (raw)    char → Char
//	timestamp → time.Time (UTC, ms)              uuid → UUID
//	binary → []byte       string → string        symbol → Symbol
//	list → []any          map → Map              described → Described
//	array → a typed slice ([]Symbol, []UUID, []int64, ...) or Array
//
// and Marshal accepts the same Go values (plus map[string]any, map[Symbol]any, map[any]any
// and the typed slices), so decoding then encoding reproduces the value.
package amqp

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Symbol is an AMQP symbol: ASCII, used for descriptors, conditions and annotation keys.
type Symbol string

// UUID is an AMQP uuid in RFC 4122 byte order.
type UUID [16]byte

// String formats the UUID as 8-4-4-4-12 lowercase hex.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Char is an AMQP char: one UTF-32BE code point. A named type so it is not taken for an int.
type Char rune

// Decimal32, Decimal64 and Decimal128 are IEEE 754 decimals kept as their raw big-endian bytes:
// nothing in Lanyard computes with them, and raw bytes round-trip exactly.
type (
	Decimal32  [4]byte
	Decimal64  [8]byte
	Decimal128 [16]byte
)

// Described is a described value: a descriptor (a Symbol or a uint64 code) and the value it describes.
type Described struct {
	Descriptor any
	Value      any
}

// Pair is one entry of a Map.
type Pair struct {
	Key, Value any
}

// Map is an AMQP map in wire order. A slice, not a Go map, because AMQP keys may be values
// Go cannot hash ([]byte, lists) and because order is kept on the wire.
type Map []Pair

// Get returns the value of the first entry whose key equals key (compared as Go values of the
// same type: a Symbol key does not match a string).
func (m Map) Get(key any) (any, bool) {
	for _, p := range m {
		if keyEqual(p.Key, key) {
			return p.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or appends the entry.
func (m *Map) Set(key, value any) {
	for i, p := range *m {
		if keyEqual(p.Key, key) {
			(*m)[i].Value = value
			return
		}
	}
	*m = append(*m, Pair{key, value})
}

func keyEqual(a, b any) bool {
	switch a := a.(type) {
	case []byte:
		b, ok := b.([]byte)
		return ok && string(a) == string(b)
	case []any, Map, Described, Array:
		return false
	}
	switch b.(type) {
	case []byte, []any, Map, Described, Array:
		return false
	}
	return isComparable(a) && isComparable(b) && a == b
}

// isComparable reports whether comparing v with == cannot panic (typed slices can).
func isComparable(v any) bool {
	switch v.(type) {
	case nil, bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float32, float64,
		Decimal32, Decimal64, Decimal128, Char, time.Time, UUID, string, Symbol:
		return true
	}
	return false
}

// Array is an AMQP array whose element type has no typed Go slice of its own: ubyte, null,
// boolean constructors without width, lists, maps, arrays and described elements. Code is the
// element constructor; Descriptor is non-nil for an array of described values (Values then
// hold the undescribed values).
type Array struct {
	Descriptor any
	Code       byte
	Values     []any
}

// Constructor codes (part 1.6).
const (
	codeDescribed  = 0x00
	codeNull       = 0x40
	codeBool       = 0x56
	codeTrue       = 0x41
	codeFalse      = 0x42
	codeUbyte      = 0x50
	codeUshort     = 0x60
	codeUint       = 0x70
	codeSmallUint  = 0x52
	codeUint0      = 0x43
	codeUlong      = 0x80
	codeSmallUlong = 0x53
	codeUlong0     = 0x44
	codeByte       = 0x51
	codeShort      = 0x61
	codeInt        = 0x71
	codeSmallInt   = 0x54
	codeLong       = 0x81
	codeSmallLong  = 0x55
	codeFloat      = 0x72
	codeDouble     = 0x82
	codeDecimal32  = 0x74
	codeDecimal64  = 0x84
	codeDecimal128 = 0x94
	codeChar       = 0x73
	codeTimestamp  = 0x83
	codeUUID       = 0x98
	codeVbin8      = 0xa0
	codeVbin32     = 0xb0
	codeStr8       = 0xa1
	codeStr32      = 0xb1
	codeSym8       = 0xa3
	codeSym32      = 0xb3
	codeList0      = 0x45
	codeList8      = 0xc0
	codeList32     = 0xd0
	codeMap8       = 0xc1
	codeMap32      = 0xd1
	codeArray8     = 0xe0
	codeArray32    = 0xf0
)

// DecodeError is returned for input that is not valid AMQP. A connection answers it with
// the amqp:decode-error condition.
type DecodeError struct {
	Reason string
}

func (e *DecodeError) Error() string { return "amqp: decode: " + e.Reason }

func decodeErrorf(format string, args ...any) error {
	return &DecodeError{Reason: fmt.Sprintf(format, args...)}
}
