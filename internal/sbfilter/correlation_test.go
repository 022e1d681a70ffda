package sbfilter

import "testing"

func TestCorrelationMatch(t *testing.T) {
	m := message()
	for _, tc := range []struct {
		name string
		c    Correlation
		want bool
	}{
		{"correlation id", Correlation{CorrelationID: "email"}, true},
		{"correlation id, other case", Correlation{CorrelationID: "EMAIL"}, false},
		{"message id", Correlation{MessageID: "m-1"}, true},
		{"message id differs", Correlation{MessageID: "m-2"}, false},
		{"to", Correlation{To: "Store5"}, true},
		{"reply to", Correlation{ReplyTo: "replies"}, true},
		{"subject", Correlation{Subject: "the bus stop"}, true},
		{"session id", Correlation{SessionID: "s-1"}, true},
		{"reply-to session id unset on the message", Correlation{ReplyToSessionID: "s-1"}, false},
		{"content type", Correlation{ContentType: "application/json"}, true},
		{"all system properties", Correlation{CorrelationID: "email", MessageID: "m-1", To: "Store5", ReplyTo: "replies",
			Subject: "the bus stop", SessionID: "s-1", ContentType: "application/json"}, true},
		{"one of several differs", Correlation{CorrelationID: "email", To: "Store6"}, false},
		{"a user property", Correlation{Properties: map[string]any{"sender": "joseph"}}, true},
		{"a user property differs", Correlation{Properties: map[string]any{"sender": "other"}}, false},
		{"a user property's name is exact", Correlation{Properties: map[string]any{"Sender": "joseph"}}, false},
		{"a missing user property", Correlation{Properties: map[string]any{"missing": "x"}}, false},
		{"numbers across types", Correlation{Properties: map[string]any{"priority": 5.0, "HR-EmployeeID": 7}}, true},
		{"a number against a string", Correlation{Properties: map[string]any{"priority": "5"}}, false},
		{"a boolean", Correlation{Properties: map[string]any{"vip": true}}, true},
		{"a nil value", Correlation{Properties: map[string]any{"nothing": nil}}, true},
		{"nil against a value", Correlation{Properties: map[string]any{"sender": nil}}, false},
		{"an uncomparable value", Correlation{Properties: map[string]any{"blob": []byte{1}}}, false},
		{"system and user", Correlation{CorrelationID: "email", Properties: map[string]any{"sender": "joseph", "vip": true}}, true},
		{"system and user, user differs", Correlation{CorrelationID: "email", Properties: map[string]any{"vip": false}}, false},
	} {
		if got := tc.c.Match(m); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}
