package audit

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// MaxLimit bounds the events one query returns.
const MaxLimit = 10000

// maxFilterValue bounds any one filter value: ids and actions are short.
const maxFilterValue = 512

// ParseFilter reads a filter from query parameters: principal, action, decision
// (allowed|denied), kind, uti, requestId, since and until (RFC 3339), after (a sequence number) and
// limit (1 to MaxLimit; MaxLimit when absent). Unknown parameters are errors, except
// api-version, which every management call carries.
func ParseFilter(q url.Values) (lanyard.AuditFilter, error) {
	f := lanyard.AuditFilter{Limit: MaxLimit}
	for name, vs := range q {
		if len(vs) != 1 {
			return f, fmt.Errorf("parameter %q is given %d times", clip(name), len(vs))
		}
		v := vs[0]
		if len(v) > maxFilterValue {
			return f, fmt.Errorf("parameter %q is too long", clip(name))
		}
		var err error
		switch name {
		case "api-version":
		case "principal":
			f.Principal = v
		case "action":
			f.Action = v
		case "decision":
			if v != Allowed && v != Denied {
				return f, fmt.Errorf("decision %q: use allowed or denied", clip(v))
			}
			f.Decision = v
		case "kind":
			if !slices.Contains(Kinds, Kind(v)) {
				return f, fmt.Errorf("kind %q: use one of %s", clip(v), kindList())
			}
			f.Kind = v
		case "uti":
			f.TokenID = v
		case "requestId":
			f.RequestID = v
		case "since":
			f.Since, err = parseTime(name, v)
		case "until":
			f.Until, err = parseTime(name, v)
		case "after":
			f.AfterSeq, err = strconv.ParseInt(v, 10, 64)
			if err == nil && f.AfterSeq < 0 {
				err = fmt.Errorf("after %d is negative", f.AfterSeq)
			}
		case "limit":
			f.Limit, err = strconv.Atoi(v)
			if err == nil && (f.Limit < 1 || f.Limit > MaxLimit) {
				err = fmt.Errorf("limit %d: use 1 to %d", f.Limit, MaxLimit)
			}
		default:
			return f, fmt.Errorf("unknown parameter %q", clip(name))
		}
		if err != nil {
			return f, fmt.Errorf("parameter %s: %w", name, err)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, fmt.Errorf("until must be after since")
	}
	return f, nil
}

// FilterQuery is the inverse of ParseFilter, for clients.
func FilterQuery(f lanyard.AuditFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("principal", f.Principal)
	set("action", f.Action)
	set("decision", f.Decision)
	set("kind", f.Kind)
	set("uti", f.TokenID)
	set("requestId", f.RequestID)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.AfterSeq > 0 {
		q.Set("after", strconv.FormatInt(f.AfterSeq, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

func parseTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%s %q is not an RFC 3339 time", name, clip(v))
	}
	return t.UTC(), nil
}

// ParseTime reads a time given on a command line: RFC 3339, or a duration before now
// ("90m", "2h", "7d").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 90m, 2h or 7d", clip(s))
	}
	return now.Add(-d).UTC(), nil
}

// ParseDuration reads a Go duration, or a whole number of days such as "90d".
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn.") {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("duration %q: use a whole number of days up to 36500", clip(s))
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use a Go duration such as 36h, or days such as 90d", clip(s))
	}
	return d, nil
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func clip(s string) string { return lanyard.Clip(s, 64) }
