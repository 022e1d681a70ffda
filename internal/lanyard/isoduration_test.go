package lanyard

import (
	"testing"
	"time"
)

func TestISODuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"PT1M", time.Minute, "PT1M"},
		{"P14D", 14 * 24 * time.Hour, "P14D"},
		{"PT30S", 30 * time.Second, "PT30S"},
		{"PT10M", 10 * time.Minute, "PT10M"},
		{"PT0S", 0, "PT0S"},
		{"P1W", 7 * 24 * time.Hour, "P7D"},
		{"P1DT2H30M5.5S", 26*time.Hour + 30*time.Minute + 5500*time.Millisecond, "P1DT2H30M5.5S"},
		{"PT90S", 90 * time.Second, "PT1M30S"},
		{"PT0.0000001S", 100, "PT0.0000001S"},
		{"P10675199DT2H48M5.4775807S", Never, "P10675199DT2H48M5.4775807S"},
		{"P200000D", Never, "P10675199DT2H48M5.4775807S"},
	} {
		got, err := ParseISODuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if s := FormatISODuration(got); s != tc.out {
			t.Errorf("FormatISODuration(%v) = %q, want %q", got, s, tc.out)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1M", "PT1", "P1Y", "P1M", "PT1H1H", "PT1S1M", "PT1.5M", "P1.5D", "PT-1S", "PT1..5S", "PT.5S", "pt1m", "PT1M ", "P1DT", "PT99999999999999999999S"} {
		if d, err := ParseISODuration(bad); err == nil {
			t.Errorf("ParseISODuration(%q) = %v, want an error", bad, d)
		}
	}
}

// FuzzISODuration: parsing never panics, and what parses formats to a text that parses to
// the same duration.
func FuzzISODuration(f *testing.F) {
	for _, s := range []string{"PT1M", "P14D", "PT30S", "P10675199DT2H48M5.4775807S", "P1W2DT3H4M5.678S", "PT0S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISODuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseISODuration(%q) = %v, negative", s, d)
		}
		out := FormatISODuration(d)
		back, err := ParseISODuration(out)
		if err != nil || back != d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, out, back, err)
		}
	})
}
