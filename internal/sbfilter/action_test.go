package sbfilter

import (
	"errors"
	"maps"
	"testing"
)

func TestActionApply(t *testing.T) {
	for _, tc := range []struct {
		expr        string
		user        map[string]any // the user properties after
		subject, to string         // sys.Label and sys.To after
	}{
		{"SET importance = 'critical'", map[string]any{"importance": "critical", "priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
		{"SET priority = priority + 1", map[string]any{"priority": int64(6), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
		{"SET PRIORITY = 7", map[string]any{"priority": int64(7), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"}, // names are case-insensitive
		{"SET weight = 3", map[string]any{"priority": int64(5), "weight": 3.0, "sender": "joseph"}, "bus", "Store5"},   // long into a double stays double
		{"REMOVE sender", map[string]any{"priority": int64(5), "weight": 2.5}, "bus", "Store5"},
		{"REMOVE missing", map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
		{"SET x = missing", map[string]any{"x": nil, "priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
		{"SET sys.Label = 'routed'", map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"}, "routed", "Store5"},
		{"SET sys.Subject = sys.Label + '!'", map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus!", "Store5"},
		{"REMOVE sys.To", map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", ""},
		{"SET sys.To = NULL", map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", ""},
		// Several statements, with or without semicolons, each seeing the one before.
		{"SET a = 1; SET b = a + 1; REMOVE sender;", map[string]any{"a": int64(1), "b": int64(2), "priority": int64(5), "weight": 2.5}, "bus", "Store5"},
		{"SET a = 1 SET b = a * 10", map[string]any{"a": int64(1), "b": int64(10), "priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
		{"set [odd name] = 'v'; remove user.weight", map[string]any{"odd name": "v", "priority": int64(5), "sender": "joseph"}, "bus", "Store5"},
		{"SET EventType = OriginalEventType; REMOVE OriginalEventType;", map[string]any{"EventType": nil, "priority": int64(5), "weight": 2.5, "sender": "joseph"}, "bus", "Store5"},
	} {
		a, err := ParseAction(tc.expr)
		if err != nil {
			t.Errorf("ParseAction(%q): %v", tc.expr, err)
			continue
		}
		m := Properties{
			System: System{Subject: "bus", To: "Store5"},
			User:   map[string]any{"priority": int64(5), "weight": 2.5, "sender": "joseph"},
		}
		if err := a.Apply(&m); err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if !maps.Equal(m.User, tc.user) || m.System.Subject != tc.subject || m.System.To != tc.to {
			t.Errorf("%q: %v, label %q, to %q; want %v, %q, %q", tc.expr, m.User, m.System.Subject, m.System.To, tc.user, tc.subject, tc.to)
		}
	}
}

func TestActionNewID(t *testing.T) {
	a, err := ParseAction("SET sys.MessageId = newid()")
	if err != nil {
		t.Fatal(err)
	}
	var m Properties
	if err := a.Apply(&m); err != nil || len(m.System.MessageID) != 36 {
		t.Errorf("%q, %v", m.System.MessageID, err)
	}
}

func TestActionOnNoUserProperties(t *testing.T) {
	a, err := ParseAction("SET x = 1")
	if err != nil {
		t.Fatal(err)
	}
	var m Properties
	if err := a.Apply(&m); err != nil || m.User["x"] != int64(1) {
		t.Errorf("%v, %v", m.User, err)
	}
}

// A statement that cannot be evaluated leaves the message as it was, including changes
// the statements before it made.
func TestActionApplyIsAllOrNothing(t *testing.T) {
	for _, expr := range []string{
		"SET a = 1; SET b = sender * 2",
		"SET a = 1; SET sys.To = 5",
		"SET a = 1; SET c = 1 / 0",
	} {
		a, err := ParseAction(expr)
		if err != nil {
			t.Fatalf("ParseAction(%q): %v", expr, err)
		}
		user := map[string]any{"sender": "joseph"}
		m := Properties{System: System{To: "Store5"}, User: user}
		err = a.Apply(&m)
		var ee *EvalError
		if !errors.As(err, &ee) {
			t.Errorf("%q: %v; want an *EvalError", expr, err)
		}
		if len(user) != 1 || len(m.User) != 1 || m.System.To != "Store5" {
			t.Errorf("%q changed the message: %v, %q", expr, m.User, m.System.To)
		}
	}
}

func TestActionParseErrors(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		column int
		token  string
	}{
		{"", 0, ""},
		{";", 0, ";"},
		{"EventType = 'x'", 0, "EventType"},
		{"SET", 3, ""},
		{"SET x", 5, ""},
		{"SET x 1", 6, "1"},
		{"SET x = ", 8, ""},
		{"SET x = 1 = 2", 10, "="},
		{"SET x = y = 1", 10, "="},
		{"SET x = (y = 1)", 8, "("},
		{"SET 1 = 2", 4, "1"},
		{"REMOVE", 6, ""},
		{"REMOVE x = 1", 9, "="},
		{"SET sys.SequenceNumber = 1", 4, "sys"},
		{"REMOVE sys.EnqueuedTimeUtc", 7, "sys"},
		{"SET sys.Nope = 1", 8, "Nope"},
		{"SET x = 1;; SET y = 2", 10, ";"},
		{"DELETE x", 0, "DELETE"},
	} {
		_, err := ParseAction(tc.expr)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseAction(%q) = %v; want a *ParseError", tc.expr, err)
			continue
		}
		if pe.Column != tc.column || pe.Token != tc.token {
			t.Errorf("ParseAction(%q): column %d, token %q; want %d, %q (%v)", tc.expr, pe.Column, pe.Token, tc.column, tc.token, err)
		}
	}
}
