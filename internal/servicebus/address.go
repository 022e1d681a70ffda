package servicebus

import (
	"net/url"
	"strings"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Node names the SDKs attach to besides entities.
const (
	cbsNode        = "$cbs"
	managementNode = "$management"
)

// address is what a link's terminus names, parsed.
type address struct {
	// entity is the queue or topic path ("q1", "t1/Subscriptions/s1"), "" for $cbs.
	entity     string
	sub        messaging.SubQueue
	management bool // entity/$management
	cbs        bool
}

// parseAddress reads a terminus address: an entity path, perhaps under
// "amqps://host/", with /$DeadLetterQueue or /$management after it, or $cbs.
func parseAddress(raw string) (address, bool) {
	a := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		a = u.Path
	}
	a = strings.Trim(a, "/")
	switch {
	case a == "" || len(a) > 1024:
		return address{}, false
	case strings.EqualFold(a, cbsNode):
		return address{cbs: true}, true
	}
	var out address
	if base, ok := cutSuffixFold(a, "/"+managementNode); ok {
		out.management, a = true, base
	}
	if base, ok := cutSuffixFold(a, messaging.DeadLetterQueueSuffix); ok {
		out.sub, a = messaging.DeadLetter, base
	}
	if a == "" || strings.Contains(a, "$") { // $Transfer queues are part 2's

		return address{}, false
	}
	out.entity = a
	return out, true
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// claimEntity is the entity a put-token's name is for: the path of
// amqps://{namespace}/{entity}, "" for the whole namespace.
func claimEntity(name string) (string, bool) {
	if len(name) > 2048 {
		return "", false
	}
	path := name
	if u, err := url.Parse(name); err == nil && u.Scheme != "" {
		path = u.Path
	}
	path = strings.Trim(path, "/")
	if path == "" {
		return "", true
	}
	// A token for an entity's $management node or dead-letter queue is for the entity.
	a, ok := parseAddress(path)
	if !ok || a.cbs {
		return "", false
	}
	return a.entity, true
}

// covers reports whether a claim for claimed lets its holder use entity: a claim for the
// namespace ("") covers everything, one for an entity covers it and what lies below it
// ($management, $DeadLetterQueue, its subscriptions).
func covers(claimed, entity string) bool {
	if claimed == "" {
		return true
	}
	if len(entity) < len(claimed) || !strings.EqualFold(entity[:len(claimed)], claimed) {
		return false
	}
	return len(entity) == len(claimed) || entity[len(claimed)] == '/'
}
