package servicebus

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/sbfilter"
)

// compiledRule is a subscription rule ready to run: its filter (SQL or correlation) and
// its action, if it has one.
type compiledRule struct {
	name        string
	sql         *sbfilter.Filter
	correlation *sbfilter.Correlation
	action      *sbfilter.Action
}

func (r *compiledRule) match(p sbfilter.Properties) (bool, error) {
	if r.correlation != nil {
		return r.correlation.Match(p), nil
	}
	if r.sql == nil {
		return false, nil
	}
	return r.sql.Eval(p)
}

// programs caches parsed SQL expressions by their text: a rule changed in the directory
// has a new text, so the cache never serves a stale program.
type programs struct {
	mu      sync.Mutex
	filters map[string]*sbfilter.Filter
	actions map[string]*sbfilter.Action
}

// maxPrograms bounds each map of the cache; past it the map starts over.
const maxPrograms = 10_000

func (p *programs) filter(expr string) (*sbfilter.Filter, error) {
	p.mu.Lock()
	f := p.filters[expr]
	p.mu.Unlock()
	if f != nil {
		return f, nil
	}
	f, err := sbfilter.ParseFilter(expr)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.filters == nil || len(p.filters) >= maxPrograms {
		p.filters = map[string]*sbfilter.Filter{}
	}
	p.filters[expr] = f
	p.mu.Unlock()
	return f, nil
}

func (p *programs) action(expr string) (*sbfilter.Action, error) {
	p.mu.Lock()
	a := p.actions[expr]
	p.mu.Unlock()
	if a != nil {
		return a, nil
	}
	a, err := sbfilter.ParseAction(expr)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.actions == nil || len(p.actions) >= maxPrograms {
		p.actions = map[string]*sbfilter.Action{}
	}
	p.actions[expr] = a
	p.mu.Unlock()
	return a, nil
}

// maxRulesPerSubscription is Azure's limit of rules per subscription.
const maxRulesPerSubscription = 2000

// rulesOf reads and compiles a subscription's rules. A stored rule that does not compile
// (the directory checks them, so only a damaged store has one) selects nothing.
func (b *Broker) rulesOf(ctx context.Context, s lanyard.ServiceBusSubscription) ([]*compiledRule, error) {
	var out []*compiledRule
	after := ""
	for len(out) < maxRulesPerSubscription {
		page, err := b.cfg.Entities.ListServiceBusRulesPage(ctx, s.Namespace, s.Topic, s.Name, after, 500)
		if err != nil {
			return nil, fmt.Errorf("list the rules of %s/%s: %w", s.Topic, s.Name, err)
		}
		for _, r := range page {
			cr, err := b.compile(r)
			if err != nil {
				b.log.Error("a stored rule does not compile; it selects nothing", "namespace", s.Namespace, "topic", s.Topic, "subscription", s.Name, "rule", r.Name, "err", err)
				continue
			}
			out = append(out, cr)
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Name
	}
	return out, nil
}

func (b *Broker) compile(r lanyard.ServiceBusRule) (*compiledRule, error) {
	out := &compiledRule{name: r.Name}
	switch r.FilterType {
	case lanyard.SQLFilter:
		f, err := b.programs.filter(r.SQLExpression)
		if err != nil {
			return nil, err
		}
		out.sql = f
	case lanyard.CorrelationFilter:
		c := r.Correlation
		corr := &sbfilter.Correlation{CorrelationID: c.CorrelationID, MessageID: c.MessageID, To: c.To, ReplyTo: c.ReplyTo,
			Subject: c.Label, SessionID: c.SessionID, ReplyToSessionID: c.ReplyToSessionID, ContentType: c.ContentType}
		if len(c.Properties) > 0 {
			corr.Properties = make(map[string]any, len(c.Properties))
			for k, v := range c.Properties {
				corr.Properties[k] = v
			}
		}
		out.correlation = corr
	default:
		return nil, fmt.Errorf("filter type %q", r.FilterType)
	}
	if r.Action != "" {
		a, err := b.programs.action(r.Action)
		if err != nil {
			return nil, err
		}
		out.action = a
	}
	return out, nil
}

// ruleNameProperty is the application property Service Bus gives a copy a rule's action
// made: the rule's name.
const ruleNameProperty = "RuleName"

// route is what one subscription takes of a message: one copy, as sent, if any rule
// without an action selects it (they are ORed), and one copy per rule with an action
// that selects it, changed by that action, as Service Bus does. A filter that cannot be
// evaluated for the message selects nothing, or, if the subscription dead-letters on
// filter evaluation exceptions, stops the routing with its error: the subscription takes
// the message in its dead-letter queue instead.
func (b *Broker) route(r route, m *amqp.Message, raw []byte, props sbfilter.Properties) ([][]byte, error) {
	var out [][]byte
	plain := false
	for _, rule := range r.rules {
		if plain && rule.action == nil && !r.deadLetterOnFilterError {
			continue
		}
		ok, err := rule.match(props)
		if err != nil && r.deadLetterOnFilterError {
			return nil, err
		}
		if err != nil {
			b.log.Debug("a subscription rule's filter cannot be evaluated for a message", "subscription", r.queue.Name, "rule", rule.name, "err", err)
			continue
		}
		if plain && rule.action == nil {
			continue
		}
		if !ok {
			continue
		}
		if rule.action == nil {
			plain = true
			out = append(out, raw)
			continue
		}
		changed := props
		if err := rule.action.Apply(&changed); err != nil {
			b.log.Debug("a subscription rule's action cannot be applied to a message", "subscription", r.queue.Name, "rule", rule.name, "err", err)
			continue
		}
		if changed.User == nil {
			changed.User = map[string]any{}
		}
		changed.User[ruleNameProperty] = rule.name
		enc, err := rewrite(m, props, changed)
		if err != nil {
			b.log.Warn("a message changed by a rule's action does not encode", "subscription", r.queue.Name, "rule", rule.name, "err", err)
			continue
		}
		out = append(out, enc)
	}
	return out, nil
}

// propertiesOf is what rules see of a message sent at now.
func propertiesOf(m *amqp.Message, msg messaging.Message, now time.Time) sbfilter.Properties {
	var p sbfilter.Properties
	s := &p.System
	s.MessageID = msg.MessageID
	if pr := m.Properties; pr != nil {
		if pr.CorrelationID != nil {
			s.CorrelationID = fmt.Sprint(pr.CorrelationID)
		}
		s.To, s.ReplyTo, s.Subject = pr.To, pr.ReplyTo, pr.Subject
		s.SessionID, s.ReplyToSessionID, s.ContentType = pr.GroupID, pr.ReplyToGroupID, string(pr.ContentType)
	}
	if v, ok := m.MessageAnnotations.Get(amqp.Symbol("x-opt-partition-key")); ok {
		s.PartitionKey, _ = v.(string)
	}
	s.Size = int64(len(msg.Raw))
	if m.Header != nil && m.Header.TTL > 0 {
		s.TimeToLive = m.Header.TTL
	}
	s.EnqueuedTime = now
	if msg.ScheduledAt.After(now) {
		s.EnqueuedTime, s.ScheduledEnqueueTime = msg.ScheduledAt, msg.ScheduledAt
	}
	s.ExpiresAt = msg.ExpiresAt
	if len(m.ApplicationProperties) > 0 {
		p.User = make(map[string]any, len(m.ApplicationProperties))
		for _, kv := range m.ApplicationProperties {
			k, ok := kv.Key.(string)
			if !ok {
				continue
			}
			v := kv.Value
			if sym, ok := v.(amqp.Symbol); ok {
				v = string(sym)
			}
			p.User[k] = v
		}
	}
	return p
}

// rewrite encodes m as an action changed its properties from before to after: the
// system properties it changed, and its application properties in their order, those
// removed left out, those added after them (by name).
func rewrite(m *amqp.Message, before, after sbfilter.Properties) ([]byte, error) {
	out := *m
	pr := amqp.Properties{}
	if m.Properties != nil {
		pr = *m.Properties
	}
	b, a := before.System, after.System
	if a.MessageID != b.MessageID {
		pr.MessageID = a.MessageID
	}
	if a.CorrelationID != b.CorrelationID {
		pr.CorrelationID = nil
		if a.CorrelationID != "" {
			pr.CorrelationID = a.CorrelationID
		}
	}
	pr.To, pr.ReplyTo, pr.Subject = a.To, a.ReplyTo, a.Subject
	pr.GroupID, pr.ReplyToGroupID, pr.ContentType = a.SessionID, a.ReplyToSessionID, amqp.Symbol(a.ContentType)
	out.Properties = &pr
	if a.PartitionKey != b.PartitionKey {
		out.MessageAnnotations = slices.Clone(m.MessageAnnotations)
		out.MessageAnnotations.Set(amqp.Symbol("x-opt-partition-key"), a.PartitionKey)
	}
	props := make(amqp.Map, 0, len(after.User))
	kept := map[string]bool{}
	for _, kv := range m.ApplicationProperties {
		k, ok := kv.Key.(string)
		if !ok {
			props = append(props, kv)
			continue
		}
		v, present := after.User[k]
		if !present {
			continue
		}
		kept[k] = true
		if old, had := before.User[k]; had && sameValue(old, v) {
			props = append(props, kv) // unchanged: as sent, in its own AMQP type
			continue
		}
		props = append(props, amqp.Pair{Key: k, Value: amqpValue(v)})
	}
	var added []string
	for k := range after.User {
		if !kept[k] {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	for _, k := range added {
		props = append(props, amqp.Pair{Key: k, Value: amqpValue(after.User[k])})
	}
	out.ApplicationProperties = props
	return out.Marshal()
}

// sameValue reports whether an action left a property's value as it was. An action
// computes only scalars, so a list, map or described value of the same type is the one
// sent (and comparing those with == could panic).
func sameValue(a, b any) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	if ta == nil {
		return true
	}
	if t, ok := a.(time.Time); ok {
		return t.Equal(b.(time.Time))
	}
	switch ta.Kind() {
	case reflect.Slice, reflect.Map, reflect.Struct, reflect.Pointer, reflect.Interface, reflect.Func, reflect.Chan:
		return true
	}
	return a == b
}

// amqpValue is the AMQP value of what an action computed.
func amqpValue(v any) any {
	if d, ok := v.(time.Duration); ok {
		return d.String() // AMQP has no duration; Service Bus's TimeSpan has no AMQP type either
	}
	return v
}
