package amqp

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf8"
)

// Unmarshal decodes one AMQP value from the start of b and returns it with the number of
// bytes it took. Lengths and counts are checked against the bytes actually present before
// anything is allocated, so hostile input costs at most a small multiple of its own size.
func Unmarshal(b []byte) (v any, n int, err error) {
	d := decoder{b: b}
	v, err = d.value()
	return v, d.pos, err
}

type decoder struct {
	b     []byte
	pos   int
	depth int
}

func (d *decoder) remaining() int { return len(d.b) - d.pos }

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, decodeErrorf("need %d bytes at offset %d, have %d", n, d.pos, d.remaining())
	}
	s := d.b[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return s, nil
}

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, decodeErrorf("unexpected end of input at offset %d", d.pos)
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return decodeErrorf("nested deeper than %d", maxDepth)
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

// value reads a constructor and the value it introduces.
func (d *decoder) value() (any, error) {
	code, err := d.byte()
	if err != nil {
		return nil, err
	}
	if code != codeDescribed {
		return d.body(code)
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	desc, err := d.value()
	if err != nil {
		return nil, err
	}
	val, err := d.value()
	if err != nil {
		return nil, err
	}
	return Described{Descriptor: desc, Value: val}, nil
}

// body reads what follows constructor code.
func (d *decoder) body(code byte) (any, error) {
	switch code {
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeUint0:
		return uint32(0), nil
	case codeUlong0:
		return uint64(0), nil
	case codeList0:
		return []any{}, nil
	}
	switch code >> 4 {
	case 0x5, 0x6, 0x7, 0x8, 0x9: // fixed width: 1, 2, 4, 8, 16 bytes
		raw, err := d.take(1 << (code>>4 - 0x5))
		if err != nil {
			return nil, err
		}
		return fixedValue(code, raw)
	case 0xa, 0xb: // variable width
		n, err := d.length(code == codeVbin32 || code == codeStr32 || code == codeSym32)
		if err != nil {
			return nil, err
		}
		raw, err := d.take(n)
		if err != nil {
			return nil, err
		}
		return variableValue(code, raw)
	case 0xc, 0xd, 0xe, 0xf: // compound and array
		wide := code&0x10 != 0
		size, err := d.length(wide)
		if err != nil {
			return nil, err
		}
		inner, err := d.take(size)
		if err != nil {
			return nil, err
		}
		sub := decoder{b: inner, depth: d.depth}
		if err := sub.enter(); err != nil {
			return nil, err
		}
		count, err := sub.length(wide)
		if err != nil {
			return nil, err
		}
		// Every element takes at least one byte, except in arrays of zero-width elements,
		// which this codec does not accept beyond their size: a count above the bytes left
		// is hostile.
		if count > sub.remaining() {
			return nil, decodeErrorf("count %d exceeds the %d bytes left", count, sub.remaining())
		}
		var v any
		switch code &^ 0x10 {
		case codeList8:
			v, err = sub.listItems(count)
		case codeMap8:
			v, err = sub.mapItems(count)
		case codeArray8:
			v, err = sub.arrayItems(count)
		default:
			return nil, decodeErrorf("unknown constructor 0x%02x", code)
		}
		if err != nil {
			return nil, err
		}
		if sub.remaining() != 0 {
			return nil, decodeErrorf("%d bytes left over in a compound of constructor 0x%02x", sub.remaining(), code)
		}
		return v, nil
	}
	return nil, decodeErrorf("unknown constructor 0x%02x", code)
}

func (d *decoder) length(wide bool) (int, error) {
	if !wide {
		c, err := d.byte()
		return int(c), err
	}
	raw, err := d.take(4)
	if err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(raw)
	if uint64(n) > uint64(d.remaining()) {
		return 0, decodeErrorf("length %d exceeds the %d bytes left", n, d.remaining())
	}
	return int(n), nil
}

func fixedValue(code byte, raw []byte) (any, error) {
	switch code {
	case codeUbyte:
		return raw[0], nil
	case codeSmallUint:
		return uint32(raw[0]), nil
	case codeSmallUlong:
		return uint64(raw[0]), nil
	case codeByte:
		return int8(raw[0]), nil
	case codeSmallInt:
		return int32(int8(raw[0])), nil
	case codeSmallLong:
		return int64(int8(raw[0])), nil
	case codeBool:
		switch raw[0] {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return nil, decodeErrorf("boolean byte 0x%02x", raw[0])
	case codeUshort:
		return binary.BigEndian.Uint16(raw), nil
	case codeShort:
		return int16(binary.BigEndian.Uint16(raw)), nil
	case codeUint:
		return binary.BigEndian.Uint32(raw), nil
	case codeInt:
		return int32(binary.BigEndian.Uint32(raw)), nil
	case codeFloat:
		return math.Float32frombits(binary.BigEndian.Uint32(raw)), nil
	case codeDecimal32:
		return Decimal32(raw), nil
	case codeChar:
		r := rune(binary.BigEndian.Uint32(raw))
		if !utf8.ValidRune(r) {
			return nil, decodeErrorf("char 0x%x is not a Unicode code point", uint32(r))
		}
		return Char(r), nil
	case codeUlong:
		return binary.BigEndian.Uint64(raw), nil
	case codeLong:
		return int64(binary.BigEndian.Uint64(raw)), nil
	case codeDouble:
		return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
	case codeDecimal64:
		return Decimal64(raw), nil
	case codeTimestamp:
		return time.UnixMilli(int64(binary.BigEndian.Uint64(raw))).UTC(), nil
	case codeDecimal128:
		return Decimal128(raw), nil
	case codeUUID:
		return UUID(raw), nil
	}
	return nil, decodeErrorf("unknown constructor 0x%02x", code)
}

func variableValue(code byte, raw []byte) (any, error) {
	switch code {
	case codeVbin8, codeVbin32:
		out := make([]byte, len(raw))
		copy(out, raw)
		return out, nil
	case codeStr8, codeStr32:
		if !utf8.Valid(raw) {
			return nil, decodeErrorf("string is not UTF-8")
		}
		return string(raw), nil
	case codeSym8, codeSym32:
		for _, c := range raw {
			if c >= 0x80 {
				return nil, decodeErrorf("symbol is not ASCII")
			}
		}
		return Symbol(raw), nil
	}
	return nil, decodeErrorf("unknown constructor 0x%02x", code)
}

func (d *decoder) listItems(count int) ([]any, error) {
	items := make([]any, count)
	for i := range items {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		items[i] = v
	}
	return items, nil
}

func (d *decoder) mapItems(count int) (Map, error) {
	if count%2 != 0 {
		return nil, decodeErrorf("map with an odd count %d", count)
	}
	m := make(Map, count/2)
	for i := range m {
		k, err := d.value()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[i] = Pair{k, v}
	}
	return m, nil
}

// arrayItems reads an array's element constructor (possibly described) and count bodies.
func (d *decoder) arrayItems(count int) (any, error) {
	code, err := d.byte()
	if err != nil {
		return nil, err
	}
	var descriptor any
	if code == codeDescribed {
		if descriptor, err = d.value(); err != nil {
			return nil, err
		}
		if code, err = d.byte(); err != nil {
			return nil, err
		}
		if code == codeDescribed {
			return nil, decodeErrorf("array element constructor described twice")
		}
	}
	values := make([]any, count)
	for i := range values {
		v, err := d.body(code)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	if descriptor != nil {
		return Array{Descriptor: descriptor, Code: code, Values: values}, nil
	}
	return typedArray(code, values), nil
}

// typedArray gives an array of one primitive type as the matching Go slice; the others
// (ubyte, whose []uint8 would read as binary, zero-width constructors, compounds) stay Array.
func typedArray(code byte, values []any) any {
	switch code {
	case codeBool:
		return unboxAll[bool](values)
	case codeByte:
		return unboxAll[int8](values)
	case codeShort:
		return unboxAll[int16](values)
	case codeInt, codeSmallInt:
		return unboxAll[int32](values)
	case codeLong, codeSmallLong:
		return unboxAll[int64](values)
	case codeUshort:
		return unboxAll[uint16](values)
	case codeUint, codeSmallUint:
		return unboxAll[uint32](values)
	case codeUlong, codeSmallUlong:
		return unboxAll[uint64](values)
	case codeFloat:
		return unboxAll[float32](values)
	case codeDouble:
		return unboxAll[float64](values)
	case codeDecimal32:
		return unboxAll[Decimal32](values)
	case codeDecimal64:
		return unboxAll[Decimal64](values)
	case codeDecimal128:
		return unboxAll[Decimal128](values)
	case codeChar:
		return unboxAll[Char](values)
	case codeTimestamp:
		return unboxAll[time.Time](values)
	case codeUUID:
		return unboxAll[UUID](values)
	case codeStr8, codeStr32:
		return unboxAll[string](values)
	case codeSym8, codeSym32:
		return unboxAll[Symbol](values)
	case codeVbin8, codeVbin32:
		return unboxAll[[]byte](values)
	}
	return Array{Code: code, Values: values}
}

func unboxAll[T any](values []any) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = v.(T)
	}
	return out
}
