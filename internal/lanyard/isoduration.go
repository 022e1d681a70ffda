package lanyard

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// neverISO is .NET's TimeSpan.MaxValue as Azure writes it: what Service Bus answers for a
// time to live or an auto-delete that never comes.
const neverISO = "P10675199DT2H48M5.4775807S"

var errISODuration = errors.New("not an ISO 8601 duration such as PT1M, P14D or PT30S")

// ParseISODuration reads an ISO 8601 duration as Azure's APIs write them: P, then weeks
// and days, then T and hours, minutes and seconds (with a fraction), e.g. PT1M, P14D,
// PT30S, P1DT2H30M. Years and months, whose length varies, are refused. A duration longer
// than a time.Duration holds (.NET's TimeSpan reaches 29,000 years) is Never.
func ParseISODuration(s string) (time.Duration, error) {
	if len(s) > 64 {
		return 0, fmt.Errorf("duration %q: %w", Clip(s, 64), errISODuration)
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("duration %q: %w", s, errISODuration)
	}
	date, clock, hasT := strings.Cut(rest, "T")
	if hasT && clock == "" {
		return 0, fmt.Errorf("duration %q: %w", s, errISODuration)
	}
	var total float64 // seconds; a float so that overflow is seen, not wrapped
	var nanos int64
	parse := func(part, units string, unit []float64, fracUnit byte) error {
		next := 0 // units must come in order, each once
		for part != "" {
			i := 0
			for i < len(part) && (part[i] >= '0' && part[i] <= '9' || part[i] == '.') {
				i++
			}
			if i == 0 || i == len(part) {
				return errISODuration
			}
			num, u := part[:i], part[i]
			part = part[i+1:]
			k := strings.IndexByte(units[next:], u)
			if k < 0 {
				return errISODuration
			}
			next += k + 1
			whole, frac, hasFrac := strings.Cut(num, ".")
			if whole == "" || hasFrac && (u != fracUnit || frac == "" || strings.Contains(frac, ".")) {
				return errISODuration
			}
			n, err := strconv.ParseUint(whole, 10, 64)
			if err != nil {
				return errISODuration
			}
			total += float64(n) * unit[next-1]
			if hasFrac {
				f := (frac + "000000000")[:9]
				if strings.Trim(frac, "0123456789") != "" {
					return errISODuration
				}
				v, _ := strconv.ParseInt(f, 10, 64)
				nanos += v
			}
		}
		return nil
	}
	if err := parse(date, "WD", []float64{7 * 86400, 86400}, 0); err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if err := parse(clock, "HMS", []float64{3600, 60, 1}, 'S'); err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if total >= float64(math.MaxInt64/int64(time.Second)) {
		return Never, nil
	}
	d := time.Duration(total)*time.Second + time.Duration(nanos)
	if d < 0 {
		return Never, nil
	}
	return d, nil
}

// FormatISODuration writes d as Azure does: P14D, PT1M, P1DT2H30M5.5S, PT0S; Never (or
// anything negative) as TimeSpan.MaxValue.
func FormatISODuration(d time.Duration) string {
	if d == Never || d < 0 {
		return neverISO
	}
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	if days := d / (24 * time.Hour); days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		return b.String()
	}
	b.WriteByte('T')
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
		d -= m * time.Minute
	}
	if d > 0 {
		sec := d / time.Second
		b.WriteString(strconv.FormatInt(int64(sec), 10))
		if frac := d - sec*time.Second; frac > 0 {
			b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", int64(frac)), "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}
