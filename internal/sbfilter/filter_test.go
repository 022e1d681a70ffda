package sbfilter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// message is the properties most filter tests run against.
func message() Properties {
	return Properties{
		System: System{
			MessageID: "m-1", CorrelationID: "email", To: "Store5", ReplyTo: "replies", Subject: "the bus stop",
			SessionID: "s-1", ContentType: "application/json", SequenceNumber: 42, DeliveryCount: 1, Size: 512,
			TimeToLive:   time.Hour,
			EnqueuedTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		},
		User: map[string]any{
			"sender": "joseph", "StoreId": "Store8", "priority": int64(5), "weight": 2.5, "vip": true,
			"Color": "Red", "nothing": nil, "Property With Space": "yes", "HR-EmployeeID": int32(7),
			"small": uint8(3), "when": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "path": "ABC%",
			"empty": "", "big": uint64(1 << 63), "blob": []byte{1}, "pct": "%", "ttl": 2 * time.Hour,
		},
	}
}

func TestFilterMatch(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want bool
	}{
		// The special filters.
		{TrueFilter, true},
		{FalseFilter, false},
		// System properties, any case, Label and Subject alike.
		{"sys.CorrelationId = 'email'", true},
		{"sys.correlationid = 'email'", true},
		{"SYS.MessageId = 'm-1'", true},
		{"sys.To = 'Store5'", true},
		{"sys.ReplyTo = 'replies'", true},
		{"sys.Label LIKE '%bus%'", true},
		{"sys.Subject = 'the bus stop'", true},
		{"sys.SessionId = 's-1'", true},
		{"sys.ContentType = 'application/json'", true},
		{"sys.SequenceNumber = 42", true},
		{"sys.SequenceNumber > 41.5", true},
		{"sys.DeliveryCount = 1", true},
		{"sys.Size >= 512", true},
		{"sys.ReplyToSessionId IS NULL", true},
		{"sys.PartitionKey IS NULL", true},
		{"sys.LockToken IS NULL", true},
		{"sys.ScheduledEnqueueTimeUtc IS NULL", true},
		{"sys.EnqueuedTimeUtc IS NOT NULL", true},
		{"sys.EnqueuedTimeUtc > [when]", true},
		{"sys.EnqueuedTimeUtc - [when] > ttl", true},
		{"sys.TimeToLive < ttl", true},
		{"sys.CorrelationId = 'EMAIL'", false}, // case-sensitive, as C#'s string =
		{"sys.To = 'Store6'", false},
		// User properties: bare, scoped, bracketed, quoted, any case.
		{"sender = 'joseph'", true},
		{"user.sender = 'joseph'", true},
		{"USER.sender = 'joseph'", true},
		{"[sender] = 'joseph'", true},
		{`"sender" = 'joseph'`, true},
		{"SENDER = 'joseph'", true},
		{"[Property With Space] = 'yes'", true},
		{"[HR-EmployeeID] = 7", true},
		{"user.[HR-EmployeeID] = 7", true},
		{"sender = 'Joseph'", false},
		{"sender <> 'joseph'", false},
		{"sender != 'someone'", true},
		// Numbers across long and double, and the Go integer types senders use.
		{"priority = 5", true},
		{"priority = 5.0", true},
		{"priority > 4", true},
		{"priority >= 5", true},
		{"priority < 5", false},
		{"priority <= 5", true},
		{"weight > 2", true},
		{"weight = 2.5", true},
		{"weight < 25E-1", false},
		{"weight = 0.025E2", true},
		{"small = 3", true},
		{"big > 9000000000000000000", true},
		{"priority = -5 * -1", true},
		{"-priority = -5", true},
		{"+priority = 5", true},
		// Arithmetic.
		{"priority + 1 = 6", true},
		{"priority - 1 = 4", true},
		{"priority * 2 = 10", true},
		{"priority / 2 = 2", true}, // long division
		{"priority / 2.0 = 2.5", true},
		{"priority % 3 = 2", true},
		{"weight % 1 = 0.5", true},
		{"1 + 2 * 3 = 7", true},
		{"(1 + 2) * 3 = 9", true},
		{"10 - 2 - 3 = 5", true},
		{"sender + '!' = 'joseph!'", true},
		{"'n' + priority = 'n5'", true},
		{"-9223372036854775808 < 0", true},
		// Booleans.
		{"vip = TRUE", true},
		{"vip = false", false},
		{"vip <> FALSE", true},
		// LIKE.
		{"sender LIKE 'jo%'", true},
		{"sender LIKE '%ph'", true},
		{"sender LIKE 'j_seph'", true},
		{"sender LIKE 'J%'", false},
		{"sender NOT LIKE 'J%'", true},
		{"path LIKE 'ABC\\%' ESCAPE '\\'", true},
		{"sender LIKE 'ABC\\%' ESCAPE '\\'", false},
		{"path LIKE 'ABC!%' ESCAPE '!'", true},
		{"empty LIKE ''", true},
		{"empty LIKE '%'", true},
		{"empty LIKE '_'", false},
		{"pct LIKE '%'", true},
		{"sender LIKE pct", true},
		// IN.
		{"StoreId IN ('Store1', 'Store2', 'Store8')", true},
		{"StoreId IN ('Store1')", false},
		{"StoreId NOT IN ('Store1', 'Store2')", true},
		{"priority IN (1, 5.0)", true},
		{"sys.To IN ('Store5','Store6') OR StoreId = 'Store8'", true},
		{"StoreId IN (NULL, 'Store8')", true},
		{"StoreId NOT IN (NULL, 'Store1')", true},
		// IS NULL and EXISTS.
		{"missing IS NULL", true},
		{"nothing IS NULL", true},
		{"sender IS NULL", false},
		{"sender IS NOT NULL", true},
		{"EXISTS(sender)", true},
		{"EXISTS(nothing)", true},
		{"EXISTS(missing)", false},
		{"NOT EXISTS(missing)", true},
		{"EXISTS(sys.CorrelationId)", true},
		{"EXISTS(sys.PartitionKey)", false},
		{"blob IS NOT NULL", true},
		// Logic and precedence: AND binds tighter than OR, NOT tighter than AND.
		{"sender = 'joseph' AND priority = 5", true},
		{"sender = 'joseph' AND priority = 6", false},
		{"sender = 'x' OR priority = 5", true},
		{"sender = 'x' OR priority = 6", false},
		{"NOT sender = 'x'", true},
		{"NOT NOT sender = 'joseph'", true},
		{"sender = 'x' AND priority = 6 OR vip = TRUE", true},
		{"sender = 'x' AND (priority = 6 OR vip = TRUE)", false},
		{"NOT sender = 'joseph' OR vip = TRUE", true},
		{"((sender = 'joseph'))", true},
		{"sys.CorrelationId = 'email' AND sender = 'joseph' AND (importance IS NULL OR importance = 'high')", true},
		// Functions.
		{"property('sender') = 'joseph'", true},
		{"p('sys.Label') = 'the bus stop'", true},
		{"p('user.' + 'sender') = 'joseph'", true},
		{"property('mis' + 'sing') IS NULL", true},
		{"newid() <> ''", true},
		{"newid() <> newid()", true},
		{"newid() LIKE '________-____-4___-____-____________'", true},
		// Keywords in any case; layout free.
		{"sender like 'jo%' and priority in (5)", true},
		{"\n\tsender\n=\n'joseph'\n", true},
		{"[and] IS NULL", true},
	} {
		f, err := ParseFilter(tc.expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.expr, err)
			continue
		}
		got, err := f.Eval(message())
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.expr, got, err, tc.want)
		}
		if f.Match(message()) != tc.want {
			t.Errorf("%q: Match disagrees with Eval", tc.expr)
		}
	}
}

// TestThreeValuedLogic checks Azure's tables for AND and OR, NOT of unknown, and that an
// unknown filter selects nothing.
func TestThreeValuedLogic(t *testing.T) {
	const (
		T = "1=1"
		F = "1=0"
		U = "missing = 1"
	)
	for _, tc := range []struct {
		expr string
		want any // true, false or nil (unknown)
	}{
		{T + " AND " + T, true}, {T + " AND " + F, false}, {T + " AND " + U, nil},
		{F + " AND " + T, false}, {F + " AND " + F, false}, {F + " AND " + U, false},
		{U + " AND " + T, nil}, {U + " AND " + F, false}, {U + " AND " + U, nil},
		{T + " OR " + T, true}, {T + " OR " + F, true}, {T + " OR " + U, true},
		{F + " OR " + T, true}, {F + " OR " + F, false}, {F + " OR " + U, nil},
		{U + " OR " + T, true}, {U + " OR " + F, nil}, {U + " OR " + U, nil},
		{"NOT " + U, nil},
		{"NOT (" + U + ")", nil},
		// Unknown operands make unknown results everywhere the docs say so.
		{"missing + 1 = 1", nil},
		{"-missing = 1", nil},
		{"missing <> 1", nil},
		{"missing LIKE '%'", nil},
		{"sender LIKE missing", nil},
		{"sender LIKE '%' ESCAPE missing", nil},
		{"missing IN (1, 2)", nil},
		{"missing NOT IN (1, 2)", nil},
		{"nothing = NULL", nil},
		{"NULL = NULL", nil},
		{"sender = NULL", nil},
		{"sys.PartitionKey = 'x'", nil},
		{"sys.PartitionKey <> 'x'", nil},
		{"property(missing) = 1", nil},
	} {
		f, err := ParseFilter(tc.expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.expr, err)
			continue
		}
		m := message()
		got, err := f.root.eval(&m)
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.expr, got, err, tc.want)
		}
		if f.Match(m) != (tc.want == true) {
			t.Errorf("%q: Match = %v", tc.expr, !(tc.want == true))
		}
	}
}

func TestFilterEvalErrors(t *testing.T) {
	for _, expr := range []string{
		"sender = 5",                    // string and long
		"priority = '5'",                // long and string
		"vip = 1",                       // boolean and long
		"vip > FALSE",                   // booleans have no order
		"sender > 'a'",                  // nor do strings, in C#
		"priority / 0 = 1",              // long division by zero
		"priority % 0 = 1",              // and remainder
		"-9223372036854775808 / -1 = 1", // overflow
		"priority LIKE '5'",             // LIKE takes strings
		"sender LIKE 5",
		"sender LIKE '%' ESCAPE sender", // one character
		"sender LIKE 'a!' ESCAPE '!'",   // escape with nothing after it
		"sender LIKE pct ESCAPE [pct]",
		"-sender = 'x'",
		"vip * 2 = 2",
		"blob = 1",
		"priority IN ('5', 5)",
		"property(priority) = 1",
		"property('sys.' + 'Nope') = 1",
		"when + 1 = 1",
	} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", expr, err)
			continue
		}
		got, err := f.Eval(message())
		var ee *EvalError
		if got || !errors.As(err, &ee) {
			t.Errorf("%q: %v, %v; want an *EvalError", expr, got, err)
		}
		if f.Match(message()) {
			t.Errorf("%q matched though it cannot be evaluated", expr)
		}
	}
	// Short-circuits decide before the right side can fail, as in SQL.
	for _, expr := range []string{"1=0 AND sender = 5", "1=1 OR sender = 5"} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Eval(message()); err != nil {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		column int    // where Azure would point, 0-based
		token  string // the token in error
	}{
		{"", 0, ""},
		{"   ", 3, ""},
		{"sender", 0, "sender"}, // a value is not a condition
		{"TRUE", 0, "TRUE"},
		{"sender = ", 9, ""},
		{"sender == 'x'", 8, "="},
		{"sender = 'x' sender = 'y'", 13, "sender"},
		{"sender = 'x", 9, "'x"},
		{"[sender = 'x'", 0, "[sender = 'x'"},
		{`"sender = 'x'`, 0, `"sender = 'x'`},
		{"(sender = 'x'", 13, ""},
		{"sender = 'x')", 12, ")"},
		{"sys.Nope = 1", 4, "Nope"},
		{"sys.[Nope] = 1", 4, "[Nope]"},
		{"other.sender = 1", 0, "other"},
		{"sender = 'x' AND", 16, ""},
		{"AND sender = 'x'", 0, "AND"},
		{"and = 1", 0, "and"},
		{"sender LIKE", 11, ""},
		{"sender IN ()", 11, ")"},
		{"sender IN ('a',)", 15, ")"},
		{"sender IN 'a'", 10, "'a'"},
		{"sender IS 'x'", 10, "'x'"},
		{"1 IS NULL", 0, "1"},
		{"EXISTS(1)", 7, "1"},
		{"EXISTS sender", 7, "sender"},
		{"sender = 'x' AND 5", 13, "AND"},
		{"(sender = 'x') + 1 = 2", 15, "+"},
		{"NOT sender", 0, "NOT"},
		{"(sender = 'x') = TRUE", 15, "="},
		{"sender = 'x' = TRUE", 13, "="},
		{"1 = 1 = 1", 6, "="},
		{"nofunc(1) = 1", 0, "nofunc"},
		{"newid(1) = 1", 6, "1"},
		{"property(1) = 1", 0, "property"},
		{"property('sys.Nope') = 1", 0, "property"},
		{"99999999999999999999 = 1", 0, "99999999999999999999"},
		{"1e999 = 1", 0, "1e999"},
		{"1e = 1", 0, "1e"},
		{"12abc = 1", 0, "12"},
		{"sender = 'x' ; ", 13, ";"},
		{"sender = @p", 9, "@"},
		{"sender LIKE 'x' ESCAPE 'ab'", 23, "'ab'"},
		{"a.b.c = 1", 0, "a"},
		{"sys. = 1", 5, "="},
		{"sender = 'x'\nAND =", 4, "="},
	} {
		_, err := ParseFilter(tc.expr)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseFilter(%q) = %v; want a *ParseError", tc.expr, err)
			continue
		}
		if pe.Column != tc.column || pe.Token != tc.token {
			t.Errorf("ParseFilter(%q): column %d, token %q; want %d, %q (%v)", tc.expr, pe.Column, pe.Token, tc.column, tc.token, err)
		}
		if !strings.HasPrefix(err.Error(), "There was an error parsing the SQL expression. [Token line=") {
			t.Errorf("ParseFilter(%q): message %q", tc.expr, err)
		}
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := ParseFilter("sender = 'x'\n  AND =")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Column != 6 || pe.Offset != 19 {
		t.Fatalf("%#v", err)
	}
	want := "There was an error parsing the SQL expression. [Token line=2, column=6, Token in error= =, Additional details= syntax error, unexpected =, expecting an expression]"
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
	// Columns count characters, not bytes.
	_, err = ParseFilter("[ñame] = 'é' =")
	if !errors.As(err, &pe) || pe.Column != 13 {
		t.Errorf("%#v", err)
	}
}

func TestLimits(t *testing.T) {
	long := "sender = '" + strings.Repeat("x", MaxExpressionLength-11) + "'"
	if _, err := ParseFilter(long); err != nil {
		t.Errorf("a %d-character filter: %v", len(long), err)
	}
	var pe *ParseError
	if _, err := ParseFilter(long + " "); !errors.As(err, &pe) {
		t.Errorf("a %d-character filter: %v", len(long)+1, err)
	}
	// The limit counts characters: 1024 two-byte characters fit.
	wide := "[" + strings.Repeat("é", MaxExpressionLength-6) + "] = 1"
	if _, err := ParseFilter(wide); err != nil {
		t.Errorf("a filter of %d characters in %d bytes: %v", MaxExpressionLength, len(wide), err)
	}
	deep := strings.Repeat("(", 100) + "1=1" + strings.Repeat(")", 100)
	if _, err := ParseFilter(deep); !errors.As(err, &pe) || !strings.Contains(pe.Detail, "nests") {
		t.Errorf("100 parentheses: %v", err)
	}
	if _, err := ParseFilter(strings.Repeat("NOT ", 100) + "1=1"); !errors.As(err, &pe) {
		t.Errorf("100 NOTs: %v", err)
	}
	if _, err := ParseFilter("1 = " + strings.Repeat("-", 100) + "1"); !errors.As(err, &pe) {
		t.Errorf("100 signs: %v", err)
	}
	shallow := strings.Repeat("(", 30) + "1=1" + strings.Repeat(")", 30)
	if f, err := ParseFilter(shallow); err != nil || !f.Match(Properties{}) {
		t.Errorf("30 parentheses: %v", err)
	}
	if _, err := ParseFilter("sender = '\xff'"); !errors.As(err, &pe) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

func TestFilterString(t *testing.T) {
	f, err := ParseFilter(" sender = 'x' ")
	if err != nil || f.String() != " sender = 'x' " {
		t.Errorf("%v, %v", f, err)
	}
}

func TestCaseInsensitiveUserNames(t *testing.T) {
	m := Properties{User: map[string]any{"Tier": "gold", "tier": "silver", "TIER": "bronze"}}
	for expr, want := range map[string]bool{
		"tier = 'silver'": true, // the exact spelling wins
		"Tier = 'gold'":   true,
		"tIER = 'bronze'": true, // else the smallest spelling: "TIER"
	} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if f.Match(m) != want {
			t.Errorf("%q: %v", expr, !want)
		}
	}
}
