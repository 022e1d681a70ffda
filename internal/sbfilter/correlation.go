package sbfilter

// Correlation is a correlation filter: a message matches when each system property set
// here equals the message's (exactly, case-sensitively) and each user property here is
// present on the message with an equal value. Fields left empty match anything.
type Correlation struct {
	CorrelationID    string
	MessageID        string
	To               string
	ReplyTo          string
	Subject          string // the label
	SessionID        string
	ReplyToSessionID string
	ContentType      string
	Properties       map[string]any
}

// Match reports whether m matches the filter. User property values compare as in a SQL
// filter's =, so 5 matches 5.0; values of other types never match.
func (c Correlation) Match(m Properties) bool {
	s := m.System
	for _, f := range [...][2]string{
		{c.CorrelationID, s.CorrelationID}, {c.MessageID, s.MessageID}, {c.To, s.To},
		{c.ReplyTo, s.ReplyTo}, {c.Subject, s.Subject}, {c.SessionID, s.SessionID},
		{c.ReplyToSessionID, s.ReplyToSessionID}, {c.ContentType, s.ContentType},
	} {
		if f[0] != "" && f[0] != f[1] {
			return false
		}
	}
	for name, want := range c.Properties {
		got, ok := m.User[name]
		if !ok {
			return false
		}
		got, want = normalize(got), normalize(want)
		if got == nil || want == nil {
			if got != want {
				return false
			}
			continue
		}
		if eq, err := compare(cmpEq, got, want); err != nil || eq != true {
			return false
		}
	}
	return true
}
