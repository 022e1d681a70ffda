package blob

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseTagExpressions(t *testing.T) {
	tags := Tags{"Project": "Cascade", "Date": "2026-03-04", "n": "5", "with space": "a b"}
	cases := []struct {
		expr string
		find bool // also valid for Find
		cond bool // also valid for x-ms-if-tags
		want bool
	}{
		{`Project = 'Cascade'`, true, true, true},
		{`"Project"='Cascade'`, true, true, true},
		{`project = 'Cascade'`, true, true, false}, // keys are case-sensitive
		{`Date >= '2026-01-01' AND Date < '2026-12-31'`, true, true, true},
		{`Date > '2026-03-04'`, true, true, false},
		{`Date <= '2026-03-04' and n = '5'`, true, true, true},
		{`"with space" = 'a b'`, true, true, true},
		{`missing = ''`, true, true, false},
		{`n <> '4'`, false, true, true},
		{`missing <> 'x'`, false, true, false},
		{`n = '4' OR Project = 'Cascade'`, false, true, true},
		{`(n = '4' OR n = '6') AND Project = 'Cascade'`, false, true, false},
		{`@container = 'box' AND n = '5'`, true, false, true},
		{`n = 5`, false, false, false},
		{`n = '5' AND`, false, false, false},
		{`= '5'`, false, false, false},
		{`n == '5'`, false, false, false},
		{`"n = '5'`, false, false, false},
		{`n = '5`, false, false, false},
		{`n = 'é'`, false, false, false},
		{`@container = 'box'`, false, false, false},
		{`@container = 'box' AND @container = 'box' AND n = '1'`, false, false, false},
		{`@container > 'box' AND n = '1'`, false, false, false},
		{`(n = '5'`, false, false, false},
		{``, false, false, false},
		{`n = '5' n = '5'`, false, false, false},
	}
	for _, tc := range cases {
		q, err := ParseFindQuery(tc.expr, "")
		if (err == nil) != tc.find {
			t.Errorf("Find %q: err %v", tc.expr, err)
		} else if err == nil && q.Match(tags) != tc.want {
			t.Errorf("Find %q matched %v", tc.expr, !tc.want)
		} else if err != nil && CodeOf(err) != CodeInvalidQueryValue {
			t.Errorf("Find %q: code %s", tc.expr, CodeOf(err))
		}
		q, err = ParseTagCondition(tc.expr)
		if tc.expr == "" {
			if q != nil || err != nil {
				t.Errorf("empty condition: %v %v", q, err)
			}
			continue
		}
		if (err == nil) != tc.cond {
			t.Errorf("condition %q: err %v", tc.expr, err)
		} else if err == nil && q.Match(tags) != tc.want {
			t.Errorf("condition %q matched %v", tc.expr, !tc.want)
		} else if err != nil && CodeOf(err) != CodeInvalidHeaderValue {
			t.Errorf("condition %q: code %s", tc.expr, CodeOf(err))
		}
	}
	if _, err := ParseTagCondition(strings.Repeat("(", 40) + "n = '5'" + strings.Repeat(")", 40)); err == nil {
		t.Error("nesting beyond the limit accepted")
	}
	if _, err := ParseFindQuery(strings.Repeat("n = '5' AND ", 20)+"n = '5'", ""); err == nil {
		t.Error("21 comparisons accepted")
	}
	if _, err := ParseFindQuery("n = '"+strings.Repeat("a", MaxTagQueryLength)+"'", ""); err == nil {
		t.Error("overlong expression accepted")
	}
	q, err := ParseFindQuery(`n = '1'`, "box")
	if err != nil || q.Container != "box" {
		t.Fatalf("container scope: %v %v", q, err)
	}
	// At container scope @container may name that container, never another.
	if q, err := ParseFindQuery(`@container = 'box' AND n = '1'`, "box"); err != nil || q.Container != "box" {
		t.Errorf("@container naming the container searched: %v %v", q, err)
	}
	if _, err := ParseFindQuery(`@container = 'other' AND n = '1'`, "box"); err == nil {
		t.Error("@container naming another container accepted at container scope")
	}
}

func TestTagSeek(t *testing.T) {
	cases := []struct {
		expr string
		want TagSeek
	}{
		{`a > '1' AND b = 'x'`, TagSeek{Key: "b", Lo: "x", LoIncl: true, Hi: "x", HiIncl: true, HasHi: true, Exact: true}},
		{`a > '1' AND a <= '5' AND a >= '0'`, TagSeek{Key: "a", Lo: "1", Hi: "5", HiIncl: true, HasHi: true}},
		{`a < '5' AND a < '3'`, TagSeek{Key: "a", LoIncl: true, Hi: "3", HasHi: true}},
		{`a >= '2'`, TagSeek{Key: "a", Lo: "2", LoIncl: true}},
	}
	for _, tc := range cases {
		q, err := ParseFindQuery(tc.expr, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Seek(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: seek %+v, want %+v", tc.expr, got, tc.want)
		}
	}
}

// FuzzTagQuery: the parser never panics, and whatever it accepts, the seek range covers
// every tag set the query matches (the invariant a store's index relies on).
func FuzzTagQuery(f *testing.F) {
	for _, s := range []string{`a = 'b'`, `"k y" >= '1' AND k < '9'`, `@container = 'box' AND a = 'b'`,
		`(a = 'b' OR c <> 'd') AND e <= 'f'`, `a='b'AND c='d'`} {
		f.Add(s, "b", "d")
	}
	f.Fuzz(func(t *testing.T, s, v1, v2 string) {
		for _, find := range []bool{true, false} {
			q, err := parseTagExpr(s, find)
			if err != nil {
				continue
			}
			if len(q.Comparisons) == 0 || len(q.Comparisons) > MaxTagConditionComparisons || find && len(q.Comparisons) > MaxTagQueryComparisons {
				t.Fatalf("%q: %d comparisons", s, len(q.Comparisons))
			}
			if !find {
				continue
			}
			seek := q.Seek()
			tags := Tags{}
			for i, c := range q.Comparisons {
				tags[c.Key] = []string{v1, v2, c.Value}[i%3]
			}
			if q.Match(tags) && !seek.InRange(tags[seek.Key]) {
				t.Fatalf("%q matches %v outside its seek %+v", s, tags, seek)
			}
		}
	})
}

// FuzzTagsHeader: x-ms-tags parses or is refused without panicking, and what it accepts
// is within the limits and renders back to the same tags.
func FuzzTagsHeader(f *testing.F) {
	for _, s := range []string{"a=b", "k1=v1&k2=v%202", "=x", "a=b&a=c", "a+b=c%2Fd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTagsHeader(s)
		if err != nil {
			return
		}
		if len(tags) > MaxTags {
			t.Fatalf("%q: %d tags", s, len(tags))
		}
		for k, v := range tags {
			if k == "" || len(k) > MaxTagKeyLength || len(v) > MaxTagValueLen || !validTagText(k) || !validTagText(v) {
				t.Fatalf("%q: accepted %q=%q", s, k, v)
			}
		}
		back, err := ParseTagsHeader(tags.Header())
		if err != nil || !reflect.DeepEqual(back, tags) {
			t.Fatalf("%q: round trip %v -> %v (%v)", s, tags, back, err)
		}
	})
}

// A Find expression names at most 10 distinct tag keys (a key compared twice counts
// once); an x-ms-if-tags condition has no such limit.
func TestFindQueryTagLimit(t *testing.T) {
	expr := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf("k%d = 'v'", i))
		}
		return strings.Join(parts, " AND ")
	}
	if _, err := ParseFindQuery(expr(10)+" AND k0 < 'w'", ""); err != nil {
		t.Fatalf("10 keys: %v", err)
	}
	_, err := ParseFindQuery(expr(11), "")
	if err == nil || !strings.Contains(err.Error(), "there can be at most 10 unique tags in a query") {
		t.Fatalf("11 keys: %v", err)
	}
	if _, err := ParseTagCondition(expr(11)); err != nil {
		t.Fatalf("x-ms-if-tags with 11 keys: %v", err)
	}
}

// A Find expression that does not parse is answered as Azure answers it: "Error parsing
// query at or near character position N: <reason>", with Azure's reasons for keys and
// values.
func TestFindQueryErrorMessages(t *testing.T) {
	for expr, reason := range map[string]string{
		`k='` + strings.Repeat("v", 257) + `'`:     "tag value must be between 0 and 256 characters in length",
		`"` + strings.Repeat("k", 129) + `" = 'v'`: "tag must be between 1 and 128 characters in length",
		`k = 'a!b'`:                        "'!' not permitted in tag name or value",
		`'key 1'='v'`:                      "not permitted in tag name or value",
		`key1='v' and @container11='1111'`: "unsupported parameter",
		`astring`:                          "expected an operator",
		`key+1='v'`:                        "'+' not permitted in tag name or value",
		`key1='ab' or key2='cd'`:           "OR is not supported",
	} {
		_, err := ParseFindQuery(expr, "")
		if err == nil || !strings.HasPrefix(err.Error(), "Error parsing query at or near character position ") || !strings.Contains(err.Error(), reason) {
			t.Errorf("%.40q: %v; want the position and %q", expr, err, reason)
		}
	}
}

// An x-ms-if-tags that does not parse answers Azure's message first (the SDKs' callers
// match it), then what is wrong.
func TestTagConditionErrorMessage(t *testing.T) {
	_, err := ParseTagCondition(`a = 'b' AND`)
	if err == nil || !strings.HasPrefix(err.Error(), "The value for one of the HTTP headers is not in the correct format. Header: x-ms-if-tags") {
		t.Fatalf("x-ms-if-tags error: %v", err)
	}
}

// An x-ms-if-tags condition may hold hundreds of comparisons, as Azure's does; a Find's
// stays bounded.
func TestTagConditionSize(t *testing.T) {
	expr := "tag1 <> 'v0'"
	for i := 1; i < 700; i++ {
		expr += fmt.Sprintf(" and tag1 <> 'v%d'", i)
	}
	q, err := ParseTagCondition(expr)
	if err != nil || len(q.Comparisons) != 700 {
		t.Fatalf("700 comparisons: %v", err)
	}
	if !q.Match(Tags{"tag1": "val1"}) || q.Match(Tags{"tag1": "v5"}) {
		t.Fatal("700 comparisons evaluated wrongly")
	}
	if _, err := ParseFindQuery(expr, ""); err == nil {
		t.Fatal("a Find of 700 comparisons accepted")
	}
	if _, err := ParseTagCondition(expr + strings.Repeat(" and tag1 <> 'x'", MaxTagConditionComparisons)); err == nil {
		t.Fatal("a condition past the limit accepted")
	}
}

// In an x-ms-if-tags condition a key or value longer than a tag's is a comparison like
// any other (no tag can satisfy it), not a malformed header, as in Azure; in a Find it is
// refused.
func TestTagConditionLongText(t *testing.T) {
	long := strings.Repeat("k", MaxTagKeyLength+1)
	q, err := ParseTagCondition(long + " <> 'v'")
	if err != nil || q.Match(Tags{"k": "v"}) {
		t.Fatalf("long key: %v", err)
	}
	q, err = ParseTagCondition("key1 <> '" + strings.Repeat("v", MaxTagValueLen+1) + "'")
	if err != nil || !q.Match(Tags{"key1": "value1"}) {
		t.Fatalf("long value: %v", err)
	}
	if _, err := ParseFindQuery(long+" = 'v'", ""); err == nil {
		t.Fatal("a Find with a long key accepted")
	}
}
