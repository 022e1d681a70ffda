package servicebus

import (
	"net/http"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// Limits on $management requests.
const (
	maxLockTokens   = 5000
	maxPeekMessages = 1000
)

// manage answers an operation on an entity's $management node (op without its
// com.microsoft: prefix).
func (c *connection) manage(lk *link, op string, m *amqp.Message) response {
	body, _ := m.Value.(amqp.Map)
	var action string
	switch op {
	case "renew-lock", "peek-message", "update-disposition", "receive-by-sequence-number",
		"renew-session-lock", "get-session-state", "set-session-state", "get-message-sessions":
		action = actionReceive
	case "schedule-message", "cancel-scheduled-message":
		if lk.addr.sub == messaging.DeadLetter {
			return badRequest("Messages cannot be scheduled on a dead-letter queue.")
		}
		action = actionSend
	case "add-rule", "remove-rule", "enumerate-rules":
		action = actionReceive // a rule manager needs only Listen, as on Service Bus
	default:
		return response{status: http.StatusNotImplemented, condition: amqp.ErrNotImplemented,
			description: "The $management operation '" + lanyard.Clip(op, 100) + "' is not supported."}
	}
	q, target, err := c.b.entity(c.ctx, c.ns.Name, lk.entity)
	if err != nil {
		return failed(err)
	}
	if refused, ok := refusedFor(op, action, target); ok {
		return refused
	}
	_, cl, ok := c.claimFor(lk.entity)
	if !ok {
		return response{status: http.StatusUnauthorized, condition: amqp.ErrUnauthorizedAccess,
			description: "Unauthorized access. A token for '" + lanyard.Clip(lk.entity, 200) + "' must be put on the connection ($cbs) first."}
	}
	req := access.Request{Resource: c.ns.Name, Scope: scopeOf(q, target), Operation: op, Action: action, DataAction: true}
	if err := c.b.cfg.Authorizer.Decide(c.ctx, cl.claims, req); err != nil {
		return failed(err)
	}
	mq := QueueOf(q)
	switch op {
	case "renew-lock":
		return c.renewLocks(mq, lk.addr.sub, body)
	case "peek-message":
		return c.peek(mq, lk.addr.sub, body, lk.entity, c.requestSession(lk.entity, body, m))
	case "renew-session-lock", "get-session-state", "set-session-state", "get-message-sessions":
		return c.manageSession(q, mq, lk.entity, op, body, m)
	case "schedule-message":
		return c.schedule(q, mq, body, target)
	case "cancel-scheduled-message":
		if target == entityTopic {
			return c.cancelScheduledAll(q, body)
		}
		return c.cancelScheduled(mq, body)
	case "add-rule":
		return c.addRule(q, body)
	case "remove-rule":
		return c.removeRule(q, body)
	case "enumerate-rules":
		return c.enumerateRules(q, body)
	case "receive-by-sequence-number":
		return c.receiveDeferred(mq, lk.addr.sub, body, lk.entity)
	default:
		return c.updateDisposition(mq, lk.addr.sub, body)
	}
}

func lockTokens(body amqp.Map) ([]messaging.LockToken, bool) {
	v, _ := body.Get("lock-tokens")
	uuids, ok := v.([]amqp.UUID)
	if !ok || len(uuids) == 0 || len(uuids) > maxLockTokens {
		return nil, false
	}
	out := make([]messaging.LockToken, len(uuids))
	for i, u := range uuids {
		out[i] = messaging.LockToken(u)
	}
	return out, true
}

func badRequest(description string) response {
	return response{status: http.StatusBadRequest, condition: amqp.ErrInvalidField, description: description}
}

func (c *connection) renewLocks(q messaging.Queue, sub messaging.SubQueue, body amqp.Map) response {
	tokens, ok := lockTokens(body)
	if !ok {
		return badRequest("renew-lock needs lock-tokens: an array of 1 to 5000 UUIDs.")
	}
	until, err := c.b.cfg.Store.RenewLock(c.ctx, q, sub, tokens)
	if err != nil {
		return failed(err)
	}
	var out amqp.Map
	out.Set("expirations", until)
	return response{status: http.StatusOK, body: out}
}

// peek answers peek-message: of one session's messages if session is not empty.
func (c *connection) peek(q messaging.Queue, sub messaging.SubQueue, body amqp.Map, entity, session string) response {
	fromV, _ := body.Get("from-sequence-number")
	countV, _ := body.Get("message-count")
	from, ok1 := fromV.(int64)
	count, ok2 := countV.(int32)
	if !ok1 || !ok2 || count < 1 {
		return badRequest("peek-message needs from-sequence-number (long) and message-count (int, at least 1).")
	}
	var (
		msgs []messaging.Stored
		err  error
	)
	if session != "" && sub == messaging.Active {
		msgs, err = c.b.cfg.Store.PeekSession(c.ctx, q, session, from, int(min(count, maxPeekMessages)))
	} else {
		msgs, err = c.b.cfg.Store.Peek(c.ctx, q, sub, from, int(min(count, maxPeekMessages)))
	}
	if err != nil {
		return failed(err)
	}
	if len(msgs) == 0 {
		return response{status: http.StatusNoContent, description: "No messages to peek."}
	}
	list := make([]any, 0, len(msgs))
	for _, s := range msgs {
		s.LockToken, s.LockedUntil = messaging.LockToken{}, time.Time{} // a peek shows no lock
		raw, err := outgoing(s, entity)
		if err != nil {
			c.log.Error("a stored message does not decode", "entity", entity, "err", err)
			continue
		}
		var item amqp.Map
		item.Set("message", raw)
		list = append(list, item)
	}
	var out amqp.Map
	out.Set("messages", list)
	return response{status: http.StatusOK, body: out}
}

func (c *connection) updateDisposition(q messaging.Queue, sub messaging.SubQueue, body amqp.Map) response {
	tokens, ok := lockTokens(body)
	statusV, _ := body.Get("disposition-status")
	status, _ := statusV.(string)
	if !ok {
		return badRequest("update-disposition needs lock-tokens: an array of 1 to 5000 UUIDs.")
	}
	reasonV, _ := body.Get("deadletter-reason")
	descV, _ := body.Get("deadletter-description")
	reason, _ := reasonV.(string)
	desc, _ := descV.(string)
	for _, tok := range tokens {
		var err error
		switch status {
		case "completed":
			err = c.b.cfg.Store.Complete(c.ctx, q, sub, tok)
		case "abandoned":
			err = c.b.cfg.Store.Abandon(c.ctx, q, sub, tok, nil)
		case "suspended":
			if sub == messaging.DeadLetter {
				return badRequest("A message of a dead-letter queue cannot be dead-lettered again.")
			}
			err = c.b.cfg.Store.DeadLetter(c.ctx, q, tok, reason, desc, nil)
		case "defered":
			err = c.b.cfg.Store.Defer(c.ctx, q, sub, tok, nil)
		default:
			return badRequest("disposition-status must be completed, abandoned, suspended or defered.")
		}
		if err != nil {
			return failed(err)
		}
		if status == "defered" { // Service Bus's spelling on the wire
			status = "deferred"
		}
		c.b.cfg.Metrics.settled(q, status)
	}
	return response{status: http.StatusOK}
}
