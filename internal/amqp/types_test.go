package amqp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecVectors checks encodings computed by hand from the tables of part 1.6.
func TestSpecVectors(t *testing.T) {
	ts := time.UnixMilli(1311704463521).UTC()
	for _, c := range []struct {
		name string
		v    any
		hex  string
	}{
		{"null", nil, "40"},
		{"true", true, "41"},
		{"false", false, "42"},
		{"ubyte", uint8(7), "50 07"},
		{"ushort", uint16(0x1234), "60 1234"},
		{"uint0", uint32(0), "43"},
		{"smalluint", uint32(255), "52 ff"},
		{"uint", uint32(256), "70 00000100"},
		{"ulong0", uint64(0), "44"},
		{"smallulong", uint64(0x10), "53 10"},
		{"ulong", uint64(1 << 40), "80 0000010000000000"},
		{"byte", int8(-1), "51 ff"},
		{"short", int16(-2), "61 fffe"},
		{"smallint", int32(-128), "54 80"},
		{"int", int32(128), "71 00000080"},
		{"smalllong", int64(127), "55 7f"},
		{"long", int64(-129), "81 ffffffffffffff7f"},
		{"float", float32(1.5), "72 3fc00000"},
		{"double", float64(-2), "82 c000000000000000"},
		{"decimal32", Decimal32{1, 2, 3, 4}, "74 01020304"},
		{"decimal64", Decimal64{1, 2, 3, 4, 5, 6, 7, 8}, "84 0102030405060708"},
		{"decimal128", Decimal128{15: 9}, "94 00000000000000000000000000000009"},
		{"char", Char('é'), "73 000000e9"},
		{"timestamp", ts, "83 0000013167adb8a1"},
		{"uuid", UUID{0: 0xde, 15: 0xad}, "98 de0000000000000000000000000000ad"},
		{"vbin8", []byte{1, 2}, "a0 02 0102"},
		{"str8", "hi", "a1 02 6869"},
		{"sym8", Symbol("a:b"), "a3 03 613a62"},
		{"list0", []any{}, "45"},
		{"list8", []any{true, uint32(1)}, "c0 04 02 41 52 01"},
		{"map8", Map{{Symbol("k"), "v"}}, "c1 07 02 a3 01 6b a1 01 76"},
		{"array8 of symbols", []Symbol{"a", "bc"}, "e0 07 02 a3 01 61 02 6263"},
		{"array8 of ints", []int32{1, -1}, "e0 0a 02 71 00000001 ffffffff"},
		{"array8 of booleans", []bool{true, false}, "e0 04 02 56 01 00"},
		{"array of described", Array{Descriptor: uint64(0x75), Code: codeVbin8, Values: []any{[]byte{1}}},
			"e0 07 01 00 53 75 a0 01 01"},
		{"open descriptor", Described{uint64(0x10), []any{"c"}}, "00 53 10 c0 04 01 a1 01 63"},
		{"symbolic descriptor", Described{Symbol("amqp:accepted:list"), []any{}},
			"00 a3 12 616d71703a61636365707465643a6c697374 45"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(t, c.hex)
			got, err := Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal(%#v) = % x, want % x", c.v, got, want)
			}
			v, n, err := Unmarshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Fatalf("Unmarshal took %d of %d bytes", n, len(want))
			}
			if !reflect.DeepEqual(v, c.v) {
				t.Fatalf("Unmarshal = %#v, want %#v", v, c.v)
			}
		})
	}
}

// TestDecodeWideForms decodes the constructors the encoder never chooses (it picks the
// smallest), as peers may send them.
func TestDecodeWideForms(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want any
	}{
		{"56 01", true},
		{"56 00", false},
		{"70 00000001", uint32(1)},
		{"80 0000000000000002", uint64(2)},
		{"71 00000003", int32(3)},
		{"81 0000000000000004", int64(4)},
		{"b0 00000001 ff", []byte{0xff}},
		{"b1 00000001 61", "a"},
		{"b3 00000001 61", Symbol("a")},
		{"c0 01 00", []any{}},
		{"d0 00000005 00000001 40", []any{nil}},
		{"d1 00000004 00000000", Map{}},
		{"f0 00000007 00000001 a3 01 61", []Symbol{"a"}},
		{"e0 03 01 52 07", []uint32{7}},
		{"e0 04 02 50 01 02", Array{Code: codeUbyte, Values: []any{uint8(1), uint8(2)}}},
		{"e0 02 01 40", Array{Code: codeNull, Values: []any{nil}}},
		{"e0 04 02 45", nil}, // list0 elements: count 2 > 1 byte left, refused (hostile form)
	} {
		v, _, err := Unmarshal(unhex(t, c.hex))
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: decoded %#v, want an error", c.hex, v)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.hex, err)
			continue
		}
		if !reflect.DeepEqual(v, c.want) {
			t.Errorf("%s = %#v, want %#v", c.hex, v, c.want)
		}
	}
}

func TestRoundTripValues(t *testing.T) {
	long := strings.Repeat("x", 300)
	values := []any{
		nil, true, false, uint8(255), uint16(65535), uint32(math.MaxUint32), uint64(math.MaxUint64),
		int8(math.MinInt8), int16(math.MinInt16), int32(math.MinInt32), int64(math.MinInt64),
		float32(math.Inf(-1)), math.MaxFloat64, Char(0x10ffff), time.UnixMilli(-1).UTC(),
		[]byte{}, make([]byte, 300), "", long, Symbol(long), []any{nil, []any{}, Map{}},
		Map{{uint64(1), "a"}, {[]byte{1}, []any{int64(1)}}, {Symbol("x"), Described{Symbol("d"), long}}},
		[]string{"a", long}, []Symbol{Symbol(long)}, [][]byte{{1}, make([]byte, 256)}, []UUID{{1}, {2}},
		[]int8{-1}, []int16{-1}, []int64{math.MaxInt64}, []uint16{1}, []uint64{1}, []float32{1},
		[]float64{2}, []Char{'a'}, []time.Time{time.UnixMilli(5).UTC()}, []Decimal32{{1}},
		[]Decimal64{{2}}, []Decimal128{{3}}, []bool{true},
		Array{Code: codeList32, Values: []any{[]any{uint32(1)}, []any{}}},
		Array{Code: codeMap32, Values: []any{Map{{"a", "b"}}}},
		Array{Code: codeArray32, Values: []any{[]int32{1, 2}, []int32{}}},
		Array{Descriptor: Symbol("com.example:x"), Code: codeStr32, Values: []any{"a", long}},
		make([]any, 300),
	}
	for _, v := range values {
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%T): %v", v, err)
		}
		got, n, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%T)): %v (% x)", v, err, enc)
		}
		if n != len(enc) {
			t.Fatalf("%T: took %d of %d bytes", v, n, len(enc))
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("round trip of %T: got %#v", v, got)
		}
	}
}

func TestMarshalGoMaps(t *testing.T) {
	enc, err := Marshal(map[string]any{"b": int32(2), "a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := Unmarshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Map{{"a", "x"}, {"b", int32(2)}}); !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
	m := v.(Map)
	if x, ok := m.Get("b"); !ok || x != int32(2) {
		t.Fatalf("Get(b) = %v, %v", x, ok)
	}
	if _, ok := m.Get(Symbol("b")); ok {
		t.Fatal("a Symbol key matched a string key")
	}
	m.Set("b", int32(3))
	m.Set([]byte("c"), true)
	if x, _ := m.Get("b"); x != int32(3) || len(m) != 3 {
		t.Fatalf("after Set: %#v", m)
	}
	if _, err := Marshal(map[any]any{Symbol("s"): uint64(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Marshal(struct{}{}); err == nil {
		t.Fatal("a struct encoded")
	}
	if _, err := Marshal(Array{Code: codeUint, Values: []any{"x"}}); err == nil {
		t.Fatal("a string encoded as a uint array element")
	}
}

// TestHostileInput feeds lengths and counts far beyond the input and deep nesting: each must
// be a DecodeError, quickly and without a large allocation.
func TestHostileInput(t *testing.T) {
	deep := bytes.Repeat([]byte{0xc0, 0x02, 0x01}, 100) // each list8 claims 2 bytes: truncated anyway
	nested := []byte{}
	for range 200 {
		nested = append([]byte{0x00, 0x53, 0x01}, nested...)
	}
	nested = append(nested, 0x40)
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"vbin32 length 4 GiB", unhex(t, "b0 ffffffff 00")},
		{"str32 length beyond input", unhex(t, "b1 00000010 61")},
		{"list32 count 4 G", unhex(t, "d0 00000004 ffffffff")},
		{"list32 size 4 GiB", unhex(t, "d0 ffffffff ffffffff")},
		{"map32 odd count", unhex(t, "d1 00000005 00000001 40")},
		{"array32 count 4 G of nulls", unhex(t, "f0 00000005 ffffffff 40")},
		{"array8 of uuids truncated", unhex(t, "e0 04 02 98 0000")},
		{"nested lists", deep},
		{"described 200 deep", nested},
		{"unknown constructor", []byte{0x57}},
		{"bad boolean", unhex(t, "56 02")},
		{"invalid utf-8", unhex(t, "a1 01 ff")},
		{"non-ascii symbol", unhex(t, "a3 01 ff")},
		{"surrogate char", unhex(t, "73 0000d800")},
		{"leftover bytes in list", unhex(t, "c0 03 01 40 40")},
		{"array described twice", unhex(t, "e0 05 01 00 40 00 40")},
	} {
		t.Run(c.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1, func() { _, _, _ = Unmarshal(c.in) })
			_, _, err := Unmarshal(c.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError", err)
			}
			if allocs > 1000 {
				t.Fatalf("%v allocations", allocs)
			}
		})
	}
	// Nesting at the limit still decodes.
	ok := []byte{}
	for range maxDepth - 1 {
		ok = append(ok, 0x00, 0x53, 0x01)
	}
	if _, _, err := Unmarshal(append(ok, 0x40)); err != nil {
		t.Fatalf("nesting within the limit: %v", err)
	}
}

func TestUUIDString(t *testing.T) {
	u := UUID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	if got := u.String(); got != "12345678-9abc-def0-0123-456789abcdef" {
		t.Fatal(got)
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{"40", "c0 04 02 41 52 01", "e0 07 02 a3 01 61 02 6263", "00 53 10 c0 04 01 a1 01 63",
		"d1 00000004 00000000", "f0 00000007 00000001 a3 01 61", "e0 07 01 00 53 75 a0 01 01"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, n, err := Unmarshal(in)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DecodeError", err)
			}
			return
		}
		if n > len(in) {
			t.Fatalf("took %d of %d bytes", n, len(in))
		}
		// What decodes re-encodes, and decodes to the same value (encodings may differ:
		// the encoder picks the smallest constructor).
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
		again, _, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		// Compared as bytes: NaNs keep their bits but are never DeepEqual.
		if enc2, err := Marshal(again); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("%#v re-decoded as %#v (%v)", v, again, err)
		}
	})
}
