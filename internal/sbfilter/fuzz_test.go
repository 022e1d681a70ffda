package sbfilter

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	TrueFilter, FalseFilter,
	"sys.CorrelationId = 'email' AND sender = 'joseph' AND (importance IS NULL OR importance = 'high')",
	"sys.Label LIKE '%bus%' OR user.tag IN ('queue', 'topic', 'subscription')",
	"sys.To NOT IN ('Store1','Store2') OR StoreId NOT IN ('Store1')",
	"path LIKE 'ABC\\%' ESCAPE '\\'",
	"NOT EXISTS(user.ignore) OR [user].ignore NOT LIKE 'true'",
	"priority * 2 + -weight / 3 % 2 >= 1.5E3",
	"p('sys.' + 'Label') = newid()",
	`"quoted ""name""" = 'it''s'`,
	"[br]]acket] IS NOT NULL",
	"sender LIKE pct ESCAPE [pct]",
	"SET a = 1; SET b = a + 1; REMOVE sender;",
	"SET sys.Label = sys.Label + '!' REMOVE x",
	"SET sys.MessageId = newid()",
	"-9223372036854775808 / -1 = 1",
	"((((1=1))))",
}

// fuzzMessages are messages of every value type, for Match and Apply to run on.
func fuzzMessages() []Properties {
	return []Properties{
		{},
		message(),
		{User: map[string]any{"a": "%", "b": int64(0), "sender": nil, "pct": "!", "x": -1.0, "weight": int64(-9223372036854775808)}},
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseFilter(%q): %T %v", expr, err, err)
			}
			return
		}
		for _, m := range fuzzMessages() {
			ok, err := flt.Eval(m)
			var ee *EvalError
			if err != nil && (ok || !errors.As(err, &ee)) {
				t.Fatalf("Eval(%q): %v, %T %v", expr, ok, err, err)
			}
			if flt.Match(m) != (ok && err == nil) {
				t.Fatalf("Match(%q) disagrees with Eval", expr)
			}
		}
	})
}

func FuzzParseAction(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		a, err := ParseAction(expr)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseAction(%q): %T %v", expr, err, err)
			}
			return
		}
		for _, m := range fuzzMessages() {
			before := len(m.User)
			err := a.Apply(&m)
			var ee *EvalError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("Apply(%q): %T %v", expr, err, err)
			}
			if err != nil && len(m.User) != before {
				t.Fatalf("Apply(%q) failed and still changed the message", expr)
			}
		}
	})
}
