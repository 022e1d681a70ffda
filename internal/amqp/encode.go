package amqp

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// maxDepth bounds the nesting of lists, maps, arrays and described values, both ways: a
// hostile peer cannot make the decoder recurse without end, nor a cyclic []any the encoder.
const maxDepth = 64

// Marshal encodes v as one AMQP value. See the package comment for the Go types it takes.
func Marshal(v any) ([]byte, error) {
	return AppendValue(nil, v)
}

// AppendValue appends the encoding of v to b, choosing the smallest constructor.
func AppendValue(b []byte, v any) ([]byte, error) {
	return appendValue(b, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, fmt.Errorf("amqp: encode: nested deeper than %d", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(b, codeNull), nil
	case bool:
		if v {
			return append(b, codeTrue), nil
		}
		return append(b, codeFalse), nil
	case uint8:
		return append(b, codeUbyte, v), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(b, codeUshort), v), nil
	case uint32:
		switch {
		case v == 0:
			return append(b, codeUint0), nil
		case v < 256:
			return append(b, codeSmallUint, byte(v)), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeUint), v), nil
	case uint64:
		switch {
		case v == 0:
			return append(b, codeUlong0), nil
		case v < 256:
			return append(b, codeSmallUlong, byte(v)), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeUlong), v), nil
	case int8:
		return append(b, codeByte, byte(v)), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(b, codeShort), uint16(v)), nil
	case int32:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return append(b, codeSmallInt, byte(v)), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeInt), uint32(v)), nil
	case int64:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return append(b, codeSmallLong, byte(v)), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeLong), uint64(v)), nil
	case []byte:
		if len(v) < 256 {
			return appendBody(append(b, codeVbin8), codeVbin8, v, depth)
		}
		return appendBody(append(b, codeVbin32), codeVbin32, v, depth)
	case string:
		if len(v) < 256 {
			return appendBody(append(b, codeStr8), codeStr8, v, depth)
		}
		return appendBody(append(b, codeStr32), codeStr32, v, depth)
	case Symbol:
		if len(v) < 256 {
			return appendBody(append(b, codeSym8), codeSym8, v, depth)
		}
		return appendBody(append(b, codeSym32), codeSym32, v, depth)
	case []any:
		if len(v) == 0 {
			return append(b, codeList0), nil
		}
		start := len(b)
		b = append(b, codeList32, 0, 0, 0, 0, 0, 0, 0, 0)
		var err error
		for _, it := range v {
			if b, err = appendValue(b, it, depth+1); err != nil {
				return b, err
			}
		}
		return finishCompound(b, start, codeList8, len(v))
	case Map:
		start := len(b)
		b = append(b, codeMap32, 0, 0, 0, 0, 0, 0, 0, 0)
		var err error
		for _, p := range v {
			if b, err = appendValue(b, p.Key, depth+1); err != nil {
				return b, err
			}
			if b, err = appendValue(b, p.Value, depth+1); err != nil {
				return b, err
			}
		}
		return finishCompound(b, start, codeMap8, 2*len(v))
	case map[string]any:
		return appendGoMap(b, v, depth)
	case map[Symbol]any:
		return appendGoMap(b, v, depth)
	case map[any]any:
		m := make(Map, 0, len(v))
		for k, val := range v {
			m = append(m, Pair{k, val})
		}
		return appendValue(b, m, depth)
	case Described:
		b = append(b, codeDescribed)
		b, err := appendValue(b, v.Descriptor, depth+1)
		if err != nil {
			return b, err
		}
		return appendValue(b, v.Value, depth+1)
	case Array:
		return appendArray(b, v.Descriptor, v.Code, v.Values, depth)
	}
	if code, ok := fixedCode(v); ok {
		return appendBody(append(b, code), code, v, depth)
	}
	if code, values, ok := typedSlice(v); ok {
		return appendArray(b, nil, code, values, depth)
	}
	return b, fmt.Errorf("amqp: encode: no AMQP type for %T", v)
}

// fixedCode is the one constructor of the fixed-width types that have no smaller form.
func fixedCode(v any) (byte, bool) {
	switch v.(type) {
	case float32:
		return codeFloat, true
	case float64:
		return codeDouble, true
	case Decimal32:
		return codeDecimal32, true
	case Decimal64:
		return codeDecimal64, true
	case Decimal128:
		return codeDecimal128, true
	case Char:
		return codeChar, true
	case time.Time:
		return codeTimestamp, true
	case UUID:
		return codeUUID, true
	}
	return 0, false
}

// typedSlice turns a typed Go slice into an array's element constructor and values. Variable
// width elements take the 32-bit form as soon as one of them needs it: an array has one
// constructor for all its elements.
func typedSlice(v any) (byte, []any, bool) {
	switch v := v.(type) {
	case []bool:
		return codeBool, boxAll(v), true
	case []int8:
		return codeByte, boxAll(v), true
	case []int16:
		return codeShort, boxAll(v), true
	case []int32:
		return codeInt, boxAll(v), true
	case []int64:
		return codeLong, boxAll(v), true
	case []uint16:
		return codeUshort, boxAll(v), true
	case []uint32:
		return codeUint, boxAll(v), true
	case []uint64:
		return codeUlong, boxAll(v), true
	case []float32:
		return codeFloat, boxAll(v), true
	case []float64:
		return codeDouble, boxAll(v), true
	case []Decimal32:
		return codeDecimal32, boxAll(v), true
	case []Decimal64:
		return codeDecimal64, boxAll(v), true
	case []Decimal128:
		return codeDecimal128, boxAll(v), true
	case []Char:
		return codeChar, boxAll(v), true
	case []time.Time:
		return codeTimestamp, boxAll(v), true
	case []UUID:
		return codeUUID, boxAll(v), true
	case []string:
		return variableCode(v, codeStr8, codeStr32), boxAll(v), true
	case []Symbol:
		return variableCode(v, codeSym8, codeSym32), boxAll(v), true
	case [][]byte:
		return variableCode(v, codeVbin8, codeVbin32), boxAll(v), true
	}
	return 0, nil, false
}

func boxAll[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func variableCode[T ~string | ~[]byte](s []T, small, large byte) byte {
	for _, v := range s {
		if len(v) > 255 {
			return large
		}
	}
	return small
}

func appendGoMap[K string | Symbol](b []byte, m map[K]any, depth int) ([]byte, error) {
	// Sorted keys: the same map always encodes to the same bytes.
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(a, b) })
	pairs := make(Map, len(keys))
	for i, k := range keys {
		pairs[i] = Pair{k, m[k]}
	}
	return appendValue(b, pairs, depth)
}

// finishCompound fills in the 32-bit header reserved at start, or the 8-bit header in its
// place (moving the items back) when size and count fit in a byte. An array's element
// constructor counts as part of its items.
func finishCompound(b []byte, start int, code8 byte, count int) ([]byte, error) {
	body := len(b) - start - 9
	if body+1 < 256 && count < 256 {
		b[start] = code8
		b[start+1] = byte(body + 1)
		b[start+2] = byte(count)
		copy(b[start+3:], b[start+9:])
		return b[:len(b)-6], nil
	}
	if uint64(body)+4 > math.MaxUint32 || uint64(count) > math.MaxUint32 {
		return b, fmt.Errorf("amqp: encode: compound of %d bytes is too large", body)
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(body+4))
	binary.BigEndian.PutUint32(b[start+5:], uint32(count))
	return b, nil
}

func appendArray(b []byte, descriptor any, code byte, values []any, depth int) ([]byte, error) {
	start := len(b)
	b = append(b, codeArray32, 0, 0, 0, 0, 0, 0, 0, 0)
	var err error
	if descriptor != nil {
		b = append(b, codeDescribed)
		if b, err = appendValue(b, descriptor, depth+1); err != nil {
			return b, err
		}
	}
	b = append(b, code)
	for _, v := range values {
		if b, err = appendBody(b, code, v, depth+1); err != nil {
			return b, err
		}
	}
	return finishCompound(b, start, codeArray8, len(values))
}

// appendBody writes v's encoding after the constructor code: what an array element is.
func appendBody(b []byte, code byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, fmt.Errorf("amqp: encode: nested deeper than %d", maxDepth)
	}
	mismatch := func() ([]byte, error) {
		return b, fmt.Errorf("amqp: encode: %T does not fit constructor 0x%02x", v, code)
	}
	switch code {
	case codeNull:
		if v != nil {
			return mismatch()
		}
		return b, nil
	case codeTrue, codeFalse:
		if x, ok := v.(bool); !ok || x != (code == codeTrue) {
			return mismatch()
		}
		return b, nil
	case codeBool:
		x, ok := v.(bool)
		if !ok {
			return mismatch()
		}
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case codeUbyte:
		x, ok := v.(uint8)
		if !ok {
			return mismatch()
		}
		return append(b, x), nil
	case codeUshort:
		x, ok := v.(uint16)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint16(b, x), nil
	case codeUint, codeSmallUint, codeUint0:
		x, ok := v.(uint32)
		if !ok || (code == codeSmallUint && x > 255) || (code == codeUint0 && x != 0) {
			return mismatch()
		}
		switch code {
		case codeUint0:
			return b, nil
		case codeSmallUint:
			return append(b, byte(x)), nil
		}
		return binary.BigEndian.AppendUint32(b, x), nil
	case codeUlong, codeSmallUlong, codeUlong0:
		x, ok := v.(uint64)
		if !ok || (code == codeSmallUlong && x > 255) || (code == codeUlong0 && x != 0) {
			return mismatch()
		}
		switch code {
		case codeUlong0:
			return b, nil
		case codeSmallUlong:
			return append(b, byte(x)), nil
		}
		return binary.BigEndian.AppendUint64(b, x), nil
	case codeByte:
		x, ok := v.(int8)
		if !ok {
			return mismatch()
		}
		return append(b, byte(x)), nil
	case codeShort:
		x, ok := v.(int16)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint16(b, uint16(x)), nil
	case codeInt, codeSmallInt:
		x, ok := v.(int32)
		if !ok || (code == codeSmallInt && (x < math.MinInt8 || x > math.MaxInt8)) {
			return mismatch()
		}
		if code == codeSmallInt {
			return append(b, byte(x)), nil
		}
		return binary.BigEndian.AppendUint32(b, uint32(x)), nil
	case codeLong, codeSmallLong:
		x, ok := v.(int64)
		if !ok || (code == codeSmallLong && (x < math.MinInt8 || x > math.MaxInt8)) {
			return mismatch()
		}
		if code == codeSmallLong {
			return append(b, byte(x)), nil
		}
		return binary.BigEndian.AppendUint64(b, uint64(x)), nil
	case codeFloat:
		x, ok := v.(float32)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint32(b, math.Float32bits(x)), nil
	case codeDouble:
		x, ok := v.(float64)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case codeDecimal32:
		x, ok := v.(Decimal32)
		if !ok {
			return mismatch()
		}
		return append(b, x[:]...), nil
	case codeDecimal64:
		x, ok := v.(Decimal64)
		if !ok {
			return mismatch()
		}
		return append(b, x[:]...), nil
	case codeDecimal128:
		x, ok := v.(Decimal128)
		if !ok {
			return mismatch()
		}
		return append(b, x[:]...), nil
	case codeChar:
		x, ok := v.(Char)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint32(b, uint32(x)), nil
	case codeTimestamp:
		x, ok := v.(time.Time)
		if !ok {
			return mismatch()
		}
		return binary.BigEndian.AppendUint64(b, uint64(x.UnixMilli())), nil
	case codeUUID:
		x, ok := v.(UUID)
		if !ok {
			return mismatch()
		}
		return append(b, x[:]...), nil
	case codeVbin8, codeVbin32, codeStr8, codeStr32, codeSym8, codeSym32:
		var n int
		switch x := v.(type) {
		case []byte:
			if code != codeVbin8 && code != codeVbin32 {
				return mismatch()
			}
			n = len(x)
		case string:
			if code != codeStr8 && code != codeStr32 {
				return mismatch()
			}
			n = len(x)
		case Symbol:
			if code != codeSym8 && code != codeSym32 {
				return mismatch()
			}
			n = len(x)
		default:
			return mismatch()
		}
		if code&0xf0 == 0xa0 {
			if n > 255 {
				return mismatch()
			}
			b = append(b, byte(n))
		} else {
			if uint64(n) > math.MaxUint32 {
				return mismatch()
			}
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		// Appended from the value as it is: no copy through a string conversion.
		switch x := v.(type) {
		case []byte:
			return append(b, x...), nil
		case string:
			return append(b, x...), nil
		default:
			return append(b, v.(Symbol)...), nil
		}
	case codeList0, codeList8, codeList32, codeMap8, codeMap32, codeArray8, codeArray32:
		// Elements of one array share the constructor: re-encode in full, then check that the
		// encoder's choice is the element constructor, or widen it.
		return appendCompoundBody(b, code, v, depth)
	}
	return b, fmt.Errorf("amqp: encode: unknown constructor 0x%02x", code)
}

// appendCompoundBody writes a list, map or array body in exactly the 8- or 32-bit form the
// code names, as array elements must.
func appendCompoundBody(b []byte, code byte, v any, depth int) ([]byte, error) {
	enc, err := appendValue(nil, v, depth)
	if err != nil {
		return b, err
	}
	var kind byte // 0xc0 list, 0xc1 map, 0xe0 array
	switch enc[0] {
	case codeList0, codeList8, codeList32:
		kind = codeList8
	case codeMap8, codeMap32:
		kind = codeMap8
	case codeArray8, codeArray32:
		kind = codeArray8
	default:
		return b, fmt.Errorf("amqp: encode: %T does not fit constructor 0x%02x", v, code)
	}
	want := code
	if code == codeList0 {
		if enc[0] != codeList0 {
			return b, fmt.Errorf("amqp: encode: a non-empty list does not fit constructor list0")
		}
		return b, nil
	}
	if want&0xef != kind {
		return b, fmt.Errorf("amqp: encode: %T does not fit constructor 0x%02x", v, code)
	}
	size, count, rest := compoundParts(enc)
	if want&0x10 == 0 { // the 8-bit form
		if size > 255 || count > 255 {
			return b, fmt.Errorf("amqp: encode: element too large for constructor 0x%02x", code)
		}
		b = append(b, byte(size), byte(count))
		return append(b, rest...), nil
	}
	b = binary.BigEndian.AppendUint32(b, uint32(size+3))
	b = binary.BigEndian.AppendUint32(b, uint32(count))
	return append(b, rest...), nil
}

// compoundParts splits an encoded list, map or array into its size (as an 8-bit header
// would count it: the count byte plus the items), count, and items.
func compoundParts(enc []byte) (size, count int, items []byte) {
	switch enc[0] {
	case codeList0:
		return 1, 0, nil
	case codeList8, codeMap8, codeArray8:
		return int(enc[1]), int(enc[2]), enc[3:]
	}
	return int(binary.BigEndian.Uint32(enc[1:])) - 3, int(binary.BigEndian.Uint32(enc[5:])), enc[9:]
}
