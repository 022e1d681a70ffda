package sqlstore

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/auditline"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// maxSegmentEvents bounds a segment, so that a query decodes little beyond what it asked
// for; an append of more events is written as several segments.
const maxSegmentEvents = 512

// The fields of audit_keys.
const (
	keyPrincipal = "principal" // principal and client ids, lower-cased
	keyToken     = "token"
	keyKind      = "kind"
	keyDecision  = "decision"
	keyAction    = "action" // lower-cased
)

// auditSegment is a run of consecutive events as stored: their JSON lines and bounds.
type auditSegment struct {
	events           []lanyard.AuditEvent
	firstSeq         int64
	lastSeq          int64
	minTime, maxTime time.Time
	minID, maxID     string
	body             []byte
}

// segmentBuffer holds a segment's body while it is written: a batch is hundreds of KiB,
// and a fresh buffer each time costs page faults and the garbage collector's (and its
// scavenger's) work, about as much as encoding it. Appends are serialized by the head's
// lock anyway, so one buffer per Store is enough.
type segmentBuffer struct {
	mu  sync.Mutex
	buf []byte
}

// maxKeptBuffer bounds what a segmentBuffer keeps between appends.
const maxKeptBuffer = 4 << 20

// newAuditSegment encodes events into buf's space, or a new buffer when it is too small.
func newAuditSegment(events []lanyard.AuditEvent, buf []byte) auditSegment {
	size := 0
	for _, e := range events {
		size += lineOverhead + len(e.ID) + len(e.Kind) + len(e.RequestID) + len(e.PrincipalID) + len(e.ClientID) +
			len(e.Action) + len(e.Decision) + len(e.TokenID) + len(e.Details) + len(e.PrevHash) + len(e.Hash)
	}
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	sg := auditSegment{events: events, firstSeq: events[0].Seq, lastSeq: events[len(events)-1].Seq,
		minTime: events[0].Time, maxTime: events[0].Time, minID: events[0].ID, maxID: events[0].ID, body: buf[:0]}
	for _, e := range events {
		if e.Time.Before(sg.minTime) {
			sg.minTime = e.Time
		}
		if e.Time.After(sg.maxTime) {
			sg.maxTime = e.Time
		}
		sg.minID, sg.maxID = min(sg.minID, e.ID), max(sg.maxID, e.ID)
		sg.body = auditline.Append(sg.body, e)
	}
	return sg
}

// lineOverhead is what a line takes besides its fields' values (names, punctuation, the
// time), with room for a few escapes.
const lineOverhead = 256

type auditKey struct{ field, value string }

// keys lists the distinct values the segment's events hold, per field; a busy server's
// batch has hundreds of events but few principals, tokens and actions.
func (sg auditSegment) keys() []auditKey {
	seen := make(map[auditKey]struct{})
	var out []auditKey
	add := func(field, value string) {
		if value == "" {
			return
		}
		k := auditKey{field, value}
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	for _, e := range sg.events {
		add(keyPrincipal, key(e.PrincipalID))
		add(keyPrincipal, key(e.ClientID))
		add(keyToken, e.TokenID)
		add(keyKind, e.Kind)
		add(keyDecision, e.Decision)
		add(keyAction, key(e.Action))
	}
	return out
}

// decodeAuditSegment parses a segment's lines.
func decodeAuditSegment(body string) ([]lanyard.AuditEvent, error) {
	var out []lanyard.AuditEvent
	for n, l := range strings.Split(body, "\n") {
		if l == "" {
			continue
		}
		e, err := auditline.Parse([]byte(l))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// auditMatcher applies an AuditFilter to decoded events, with the meaning the store's
// contract gives each field.
type auditMatcher struct {
	f         lanyard.AuditFilter
	principal string
	action    string
}

func newAuditMatcher(f lanyard.AuditFilter) auditMatcher {
	return auditMatcher{f: f, principal: key(f.Principal), action: key(f.Action)}
}

func (m auditMatcher) match(e lanyard.AuditEvent) bool {
	f := m.f
	switch {
	case f.Principal != "" && key(e.PrincipalID) != m.principal && key(e.ClientID) != m.principal,
		f.Action != "" && !wildcardMatch(m.action, key(e.Action)),
		f.Decision != "" && e.Decision != f.Decision,
		f.Kind != "" && e.Kind != f.Kind,
		f.TokenID != "" && e.TokenID != f.TokenID,
		f.RequestID != "" && e.RequestID != f.RequestID,
		!f.Since.IsZero() && micros(e.Time) < micros(f.Since),
		!f.Until.IsZero() && micros(e.Time) >= micros(f.Until),
		e.Seq <= f.AfterSeq:
		return false
	}
	return true
}

// wildcardMatch reports whether s matches pattern, in which '*' stands for any run of
// characters and everything else for itself.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// Each middle part matches at its earliest place: leaving more room for the rest
	// never hurts when '*' can absorb anything.
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
