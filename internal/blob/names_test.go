package blob

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func TestValidateMetadata(t *testing.T) {
	cases := []struct {
		md   Metadata
		code string
	}{
		{Metadata{"Good_Name1": "v"}, ""},
		{Metadata{"_x": ""}, ""},
		{Metadata{"1abc": "v"}, CodeInvalidMetadata},
		{Metadata{"a-b": "v"}, CodeInvalidMetadata},
		{Metadata{"ümlaut": "v"}, CodeInvalidMetadata},
		{Metadata{"a": "line\nbreak"}, CodeInvalidMetadata},
		{Metadata{"a": "non-ascii é"}, CodeInvalidMetadata},
		{Metadata{"Key": "1", "key": "2"}, CodeInvalidMetadata},
		{Metadata{"k": strings.Repeat("v", MaxMetadataSize-1)}, ""},
		{Metadata{"k": strings.Repeat("v", MaxMetadataSize)}, CodeMetadataTooLarge},
	}
	for _, c := range cases {
		out, err := ValidateMetadata(c.md)
		if lanyard.CodeOf(err) != c.code {
			t.Errorf("%v: %v, want code %q", c.md, err, c.code)
		}
		if err == nil {
			for k := range out {
				if k != strings.ToLower(k) {
					t.Errorf("name %q not lower-cased", k)
				}
			}
		}
	}
}

func TestBlockIDs(t *testing.T) {
	for id, n := range map[string]int{"QUFB": 3, "QUE=": 2, strings.Repeat("A", 88): 66, strings.Repeat("A", 84) + "AA==": 64} {
		got, err := blockIDLength(id)
		if n > MaxBlockIDBytes {
			if err == nil {
				t.Errorf("%q: accepted %d bytes", id, got)
			}
			continue
		}
		if err != nil || got != n {
			t.Errorf("%q: %d, %v; want %d", id, got, err, n)
		}
	}
	for _, bad := range []string{"", "QUF", "QU=B", "!!!!", "QUFB\n"} {
		if _, err := blockIDLength(bad); lanyard.CodeOf(err) != CodeInvalidBlockID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCRC64(t *testing.T) {
	// The CRC-64/NVME check value: the CRC of "123456789".
	if got := CRC64([]byte("123456789")); got != 0xAE8B14860A799888 {
		t.Fatalf("CRC64 check value = %#x", got)
	}
	h := NewCRC64()
	h.Write([]byte("1234"))
	h.Write([]byte("56789"))
	if h.Sum64() != 0xAE8B14860A799888 {
		t.Fatal("streaming CRC64 differs")
	}
	if b := CRC64Bytes(0x0102030405060708); b[0] != 8 || b[7] != 1 {
		t.Fatalf("CRC64Bytes is not little-endian: %v", b)
	}
}

func TestETagsGrow(t *testing.T) {
	now := time.Now()
	a, b := newETag(now), newETag(now)
	if a == b || len(a) < 3 || a[:2] != "0x" || strings.ToUpper(a[2:]) != a[2:] {
		t.Fatalf("etags %q %q", a, b)
	}
}
