package servicebus

import (
	"net/http"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The rule managers' $management operations on a subscription (add-rule, remove-rule,
// enumerate-rules), with the maps and described types of Service Bus's AMQP
// request-response protocol. They change the directory the management API changes,
// through its checks.

// Descriptor codes of the rule description's described types.
const (
	codeRuleDescription   = uint64(0x0000013700000004)
	codeEmptyRuleAction   = uint64(0x0000013700000005)
	codeSQLRuleAction     = uint64(0x0000013700000006)
	codeSQLFilter         = uint64(0x0000001370000006)
	codeTrueFilter        = uint64(0x0000001370000007)
	codeFalseFilter       = uint64(0x0000001370000008)
	codeCorrelationFilter = uint64(0x0000001370000009)
)

// sqlCompatibilityLevel is the compatibility level Service Bus gives SQL expressions.
const sqlCompatibilityLevel = int32(20)

// condEntityExists is Service Bus's condition for a name taken.
const condEntityExists = amqp.Symbol("com.microsoft:entity-already-exists")

// maxEnumeratedRules bounds the rules of one enumerate-rules answer.
const maxEnumeratedRules = maxRulesPerSubscription

// refusedFor refuses an operation the entity has no use for: receiving from a topic,
// sending to a subscription, rules of anything but a subscription.
func refusedFor(op, action string, target entityKind) (response, bool) {
	notAllowed := func(description string) (response, bool) {
		return response{status: http.StatusBadRequest, condition: amqp.ErrNotAllowed, description: description}, true
	}
	switch {
	case op == "add-rule" || op == "remove-rule" || op == "enumerate-rules":
		if target != entitySubscription {
			return notAllowed("Rules belong to subscriptions: use the $management node of topic/Subscriptions/name.")
		}
	case target == entityTopic && action == actionReceive:
		return notAllowed("Messages cannot be received from a topic: use one of its subscriptions.")
	case target == entitySubscription && action == actionSend:
		return notAllowed("Messages cannot be sent to a subscription: send them to its topic.")
	}
	return response{}, false
}

// ruleFailed answers a rule operation's error as Service Bus does: a name taken is
// entity-already-exists (409), an expression refused is a bad request.
func ruleFailed(err error) response {
	switch lanyard.KindOf(err) {
	case lanyard.KindConflict:
		return response{status: http.StatusConflict, condition: condEntityExists, description: lanyard.MessageOf(err)}
	case lanyard.KindInvalid:
		return response{status: http.StatusBadRequest, condition: amqp.ErrInvalidField, description: lanyard.MessageOf(err)}
	}
	return failed(err)
}

func ruleName(body amqp.Map) (string, bool) {
	v, _ := body.Get("rule-name")
	name, ok := v.(string)
	return name, ok && name != "" && len(name) <= 256
}

func (c *connection) addRule(q lanyard.ServiceBusQueue, body amqp.Map) response {
	if c.b.cfg.Rules == nil {
		return failed(notImplemented("Rule changes over AMQP"))
	}
	r, resp, bad := ruleOf(q, body)
	if bad {
		return resp
	}
	if _, err := c.b.cfg.Rules.AddRule(c.ctx, c.ns.ResourceGroup, r); err != nil {
		return ruleFailed(err)
	}
	return response{status: http.StatusOK}
}

// ruleOf reads an add-rule request for subscription q: the rule, or the answer refusing
// it. The expressions are checked by the directory, as the management API's are.
func ruleOf(q lanyard.ServiceBusQueue, body amqp.Map) (lanyard.ServiceBusRule, response, bool) {
	name, ok := ruleName(body)
	descV, _ := body.Get("rule-description")
	desc, okDesc := descV.(amqp.Map)
	if !ok || !okDesc {
		return lanyard.ServiceBusRule{}, badRequest("add-rule needs rule-name (a string) and rule-description (a map)."), true
	}
	topic, sub, _ := splitSubscription(q.Name)
	r := lanyard.ServiceBusRule{Namespace: q.Namespace, Topic: topic, Subscription: sub, Name: name}
	if resp, bad := ruleFilter(&r, desc); bad {
		return r, resp, true
	}
	if v, _ := desc.Get("sql-rule-action"); v != nil {
		action, _ := v.(amqp.Map)
		expr, _ := mapString(action, "expression")
		if expr == "" {
			return r, badRequest("A sql-rule-action needs an expression."), true
		}
		r.Action = expr
	}
	return r, response{}, false
}

// ruleFilter reads a rule description's filter into r: sql-filter or correlation-filter.
func ruleFilter(r *lanyard.ServiceBusRule, desc amqp.Map) (response, bool) {
	if v, _ := desc.Get("sql-filter"); v != nil {
		f, _ := v.(amqp.Map)
		r.FilterType = lanyard.SQLFilter
		r.SQLExpression, _ = mapString(f, "expression")
		return response{}, false
	}
	v, _ := desc.Get("correlation-filter")
	f, ok := v.(amqp.Map)
	if !ok {
		return badRequest("A rule-description needs a sql-filter or a correlation-filter (a map)."), true
	}
	r.FilterType = lanyard.CorrelationFilter
	cf := &r.Correlation
	for key, field := range map[string]*string{
		"correlation-id": &cf.CorrelationID, "message-id": &cf.MessageID, "to": &cf.To, "reply-to": &cf.ReplyTo,
		"label": &cf.Label, "session-id": &cf.SessionID, "reply-to-session-id": &cf.ReplyToSessionID, "content-type": &cf.ContentType,
	} {
		*field, _ = mapString(f, key)
	}
	pv, _ := f.Get("properties")
	if pv == nil {
		return response{}, false
	}
	props, ok := pv.(amqp.Map)
	if !ok {
		return badRequest("A correlation-filter's properties must be a map."), true
	}
	cf.Properties = make(map[string]string, len(props))
	for _, kv := range props {
		k, okKey := kv.Key.(string)
		val, okVal := kv.Value.(string)
		if !okKey {
			return badRequest("A correlation-filter's property names must be strings."), true
		}
		if !okVal {
			return failed(notImplemented("Correlation filter properties with values other than strings")), true
		}
		cf.Properties[k] = val
	}
	return response{}, false
}

// mapString reads a string entry of m; an absent or null one is "".
func mapString(m amqp.Map, key string) (string, bool) {
	v, _ := m.Get(key)
	s, ok := v.(string)
	return s, ok
}

func (c *connection) removeRule(q lanyard.ServiceBusQueue, body amqp.Map) response {
	if c.b.cfg.Rules == nil {
		return failed(notImplemented("Rule changes over AMQP"))
	}
	name, ok := ruleName(body)
	if !ok {
		return badRequest("remove-rule needs rule-name (a string).")
	}
	topic, sub, _ := splitSubscription(q.Name)
	err := c.b.cfg.Rules.DeleteRule(c.ctx, c.ns.ResourceGroup, q.Namespace, topic, sub, name)
	if lanyard.IsNotFound(err) {
		return response{status: http.StatusNotFound, condition: amqp.ErrNotFound,
			description: "The rule '" + lanyard.Clip(name, 100) + "' could not be found on the subscription."}
	}
	if err != nil {
		return ruleFailed(err)
	}
	return response{status: http.StatusOK}
}

// enumerateRules answers the subscription's rules, skip and top applied, each as
// {rule-description: described [filter, action, name, created-at]}; 204 when none.
func (c *connection) enumerateRules(q lanyard.ServiceBusQueue, body amqp.Map) response {
	skipV, _ := body.Get("skip")
	topV, _ := body.Get("top")
	skip, okSkip := skipV.(int32)
	top, okTop := topV.(int32)
	if !okSkip || !okTop || skip < 0 || top < 1 {
		return badRequest("enumerate-rules needs skip (int, at least 0) and top (int, at least 1).")
	}
	topic, sub, _ := splitSubscription(q.Name)
	var rules []lanyard.ServiceBusRule
	after := ""
	for len(rules) < int(skip)+min(int(top), maxEnumeratedRules) {
		page, err := c.b.cfg.Entities.ListServiceBusRulesPage(c.ctx, q.Namespace, topic, sub, after, 500)
		if err != nil {
			return failed(err)
		}
		rules = append(rules, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Name
	}
	if int(skip) >= len(rules) {
		return response{status: http.StatusNoContent, description: "No rules."}
	}
	rules = rules[skip:min(len(rules), int(skip)+min(int(top), maxEnumeratedRules))]
	list := make([]any, 0, len(rules))
	for _, r := range rules {
		var item amqp.Map
		item.Set("rule-description", describeRule(r))
		list = append(list, item)
	}
	var out amqp.Map
	out.Set("rules", list)
	return response{status: http.StatusOK, body: out}
}

// describeRule is a rule as Service Bus's described types carry it.
func describeRule(r lanyard.ServiceBusRule) amqp.Described {
	var filter amqp.Described
	switch {
	case r.FilterType == lanyard.CorrelationFilter:
		cf := r.Correlation
		var props amqp.Map
		for k, v := range cf.Properties {
			props = append(props, amqp.Pair{Key: k, Value: v})
		}
		filter = amqp.Described{Descriptor: codeCorrelationFilter, Value: []any{
			orNull(cf.CorrelationID), orNull(cf.MessageID), orNull(cf.To), orNull(cf.ReplyTo), orNull(cf.Label),
			orNull(cf.SessionID), orNull(cf.ReplyToSessionID), orNull(cf.ContentType), props}}
	case r.SQLExpression == "1=1":
		filter = amqp.Described{Descriptor: codeTrueFilter, Value: []any{r.SQLExpression, sqlCompatibilityLevel}}
	case r.SQLExpression == "1=0":
		filter = amqp.Described{Descriptor: codeFalseFilter, Value: []any{r.SQLExpression, sqlCompatibilityLevel}}
	default:
		filter = amqp.Described{Descriptor: codeSQLFilter, Value: []any{r.SQLExpression, sqlCompatibilityLevel}}
	}
	action := amqp.Described{Descriptor: codeEmptyRuleAction, Value: []any{}}
	if r.Action != "" {
		action = amqp.Described{Descriptor: codeSQLRuleAction, Value: []any{r.Action, sqlCompatibilityLevel}}
	}
	return amqp.Described{Descriptor: codeRuleDescription, Value: []any{filter, action, r.Name, r.CreatedAt.UTC().Truncate(time.Millisecond)}}
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
