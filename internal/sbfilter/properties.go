// Package sbfilter is Service Bus's rule language, free of AMQP and of storage: SQL
// filters and SQL rule actions as Azure documents them ("Subscription Rule SQL Filter
// syntax", "SQL Rule Action syntax"), and correlation filters. A rule is parsed once
// (ParseFilter, ParseAction) and then run against each message's properties.
package sbfilter

import (
	"maps"
	"math"
	"strings"
	"time"
)

// Properties are what rules see of a message: its system properties (sys.*) and its
// application properties (user.*, or bare names).
//
// User values are string, int64, float64, bool, time.Time, time.Duration or nil; other
// Go integer and float types are read as int64 and float64, and any other type is a
// value that only EXISTS and IS NULL can look at.
type Properties struct {
	System System
	User   map[string]any
}

// System holds a message's system properties. A zero string or time is an unset
// property, which rules see as NULL.
type System struct {
	MessageID        string
	CorrelationID    string
	To               string
	ReplyTo          string
	Subject          string // sys.Label, or sys.Subject
	SessionID        string
	ReplyToSessionID string
	ContentType      string
	PartitionKey     string
	ViaPartitionKey  string
	DeadLetterSource string

	SequenceNumber         int64
	EnqueuedSequenceNumber int64
	DeliveryCount          int64
	Size                   int64

	TimeToLive           time.Duration // zero: unset
	EnqueuedTime         time.Time     // sys.EnqueuedTimeUtc
	ScheduledEnqueueTime time.Time     // sys.ScheduledEnqueueTimeUtc
	ExpiresAt            time.Time     // sys.ExpiresAtUtc
}

// sysProp is one system property as rules name it: how to read it and, for the ones an
// action may change, how to write it.
type sysProp struct {
	name string // Azure's spelling, for messages
	get  func(*System) any
	set  func(*System, string) // nil: read-only
}

func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func when(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// sysProps are the system properties rules may name, by lower-case name. Names are
// case-insensitive; a name not here is an error, as Azure's is.
var sysProps = func() map[string]*sysProp {
	text := func(name string, field func(*System) *string) *sysProp {
		return &sysProp{
			name: name,
			get:  func(s *System) any { return str(*field(s)) },
			set:  func(s *System, v string) { *field(s) = v },
		}
	}
	subject := text("Label", func(s *System) *string { return &s.Subject })
	props := []*sysProp{
		text("MessageId", func(s *System) *string { return &s.MessageID }),
		text("CorrelationId", func(s *System) *string { return &s.CorrelationID }),
		text("To", func(s *System) *string { return &s.To }),
		text("ReplyTo", func(s *System) *string { return &s.ReplyTo }),
		text("SessionId", func(s *System) *string { return &s.SessionID }),
		text("ReplyToSessionId", func(s *System) *string { return &s.ReplyToSessionID }),
		text("ContentType", func(s *System) *string { return &s.ContentType }),
		text("PartitionKey", func(s *System) *string { return &s.PartitionKey }),
		text("ViaPartitionKey", func(s *System) *string { return &s.ViaPartitionKey }),
		{name: "DeadLetterSource", get: func(s *System) any { return str(s.DeadLetterSource) }},
		{name: "SequenceNumber", get: func(s *System) any { return s.SequenceNumber }},
		{name: "EnqueuedSequenceNumber", get: func(s *System) any { return s.EnqueuedSequenceNumber }},
		{name: "DeliveryCount", get: func(s *System) any { return s.DeliveryCount }},
		{name: "Size", get: func(s *System) any { return s.Size }},
		{name: "TimeToLive", get: func(s *System) any {
			if s.TimeToLive == 0 {
				return nil
			}
			return s.TimeToLive
		}},
		{name: "EnqueuedTimeUtc", get: func(s *System) any { return when(s.EnqueuedTime) }},
		{name: "ScheduledEnqueueTimeUtc", get: func(s *System) any { return when(s.ScheduledEnqueueTime) }},
		{name: "ExpiresAtUtc", get: func(s *System) any { return when(s.ExpiresAt) }},
		// A message is not locked while rules run: these exist, and are NULL.
		{name: "LockToken", get: func(*System) any { return nil }},
		{name: "LockedUntilUtc", get: func(*System) any { return nil }},
	}
	m := map[string]*sysProp{"label": subject, "subject": subject}
	for _, p := range props {
		m[strings.ToLower(p.name)] = p
	}
	return m
}()

// userKey finds the key of user property name. Property names are case-insensitive, so an
// exact key wins, then the smallest key equal under case folding (a stable choice when a
// sender set several spellings).
func userKey(user map[string]any, name string) (string, bool) {
	if _, ok := user[name]; ok {
		return name, true
	}
	found, ok := "", false
	for k := range user {
		if strings.EqualFold(k, name) && (!ok || k < found) {
			found, ok = k, true
		}
	}
	return found, ok
}

// normalize maps a user value to the types rules compute with.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint:
		return unsigned(uint64(x))
	case uint64:
		return unsigned(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	}
	return v
}

func unsigned(x uint64) any {
	if x > math.MaxInt64 {
		return float64(x)
	}
	return int64(x)
}

// clone copies p so that changing the copy's user properties leaves p's alone.
func (p Properties) clone() Properties {
	p.User = maps.Clone(p.User)
	return p
}
