package servicebus

import (
	"net/http"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The $management operations of sessions, with the request and response maps the SDKs
// use: renew-session-lock {session-id} -> {expiration}; get-session-state {session-id} ->
// {session-state: binary or null}; set-session-state {session-id, session-state};
// get-message-sessions {last-updated-time, skip, top} -> {skip, sessions-ids}.
//
// The first three act under the session lock a receiver of this connection holds: the
// session-id names it (Service Bus refuses them, session lock lost, to anyone else).

// maxListSessions bounds the ids one get-message-sessions answers.
const maxListSessions = 1000

// listAll is the last-updated-time the SDKs send to list every session with messages or a
// state (DateTime.MaxValue, or a time beyond it): no filter on the update time.
var listAll = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *connection) manageSession(q lanyard.ServiceBusQueue, mq messaging.Queue, entity, op string, body amqp.Map, m *amqp.Message) response {
	if !q.RequiresSession {
		return response{status: http.StatusBadRequest, condition: amqp.ErrNotAllowed,
			description: "The entity '" + lanyard.Clip(entity, 200) + "' does not require sessions: session operations do not apply to it."}
	}
	if op == "get-message-sessions" {
		return c.listSessions(mq, body)
	}
	idV, _ := body.Get("session-id")
	id, _ := idV.(string)
	if messaging.CheckSessionID(id) != nil {
		return badRequest(op + " needs session-id: a string of 1 to 128 characters.")
	}
	hold := c.heldSession(entity, id, "")
	if hold == nil {
		return failed(sessionCondition(messaging.ErrSessionLockLost))
	}
	lock := hold.get()
	switch op {
	case "renew-session-lock":
		until, err := c.b.cfg.Store.RenewSessionLock(c.ctx, mq, lock)
		if err != nil {
			return failed(err)
		}
		hold.renewed(until)
		var out amqp.Map
		out.Set("expiration", until)
		return response{status: http.StatusOK, body: out}
	case "get-session-state":
		state, err := c.b.cfg.Store.SessionState(c.ctx, mq, lock)
		if err != nil {
			return failed(err)
		}
		var out amqp.Map
		if state == nil {
			out.Set("session-state", nil)
		} else {
			out.Set("session-state", state)
		}
		return response{status: http.StatusOK, body: out}
	default: // set-session-state
		v, present := body.Get("session-state")
		state, ok := v.([]byte)
		if !present || (!ok && v != nil) {
			return badRequest("set-session-state needs session-state: binary, or null to clear it.")
		}
		if len(state) == 0 {
			state = nil // the SDKs clear a state by setting nil, which may come as empty binary
		}
		if err := c.b.cfg.Store.SetSessionState(c.ctx, mq, lock, state); err != nil {
			return failed(err)
		}
		return response{status: http.StatusOK}
	}
}

func (c *connection) listSessions(q messaging.Queue, body amqp.Map) response {
	afterV, _ := body.Get("last-updated-time")
	skipV, _ := body.Get("skip")
	topV, _ := body.Get("top")
	after, ok1 := afterV.(time.Time)
	skip, ok2 := skipV.(int32)
	top, ok3 := topV.(int32)
	if !ok1 || !ok2 || !ok3 || skip < 0 || top < 1 {
		return badRequest("get-message-sessions needs last-updated-time (timestamp), skip (int, at least 0) and top (int, at least 1).")
	}
	if !after.Before(listAll) {
		after = time.Time{}
	}
	ids, err := c.b.cfg.Store.ListSessions(c.ctx, q, after, int(skip), int(min(top, maxListSessions)))
	if err != nil {
		return failed(err)
	}
	if len(ids) == 0 {
		return response{status: http.StatusNoContent, description: "No sessions."}
	}
	var out amqp.Map
	out.Set("skip", skip+int32(len(ids)))
	out.Set("sessions-ids", ids)
	return response{status: http.StatusOK, body: out}
}

// requestSession is the session a $management request is about: its session-id, or the
// session of the receiver its associated-link-name names (how azservicebus's session
// receivers peek).
func (c *connection) requestSession(entity string, body amqp.Map, m *amqp.Message) string {
	if v, ok := body.Get("session-id"); ok {
		if id, ok := v.(string); ok && id != "" {
			return id
		}
	}
	v, _ := m.ApplicationProperties.Get("associated-link-name")
	name, _ := v.(string)
	if name == "" {
		return ""
	}
	if h := c.heldSession(entity, "", name); h != nil {
		return h.get().SessionID
	}
	return ""
}

// heldSession finds the session lock a receiver of this connection holds on entity: of
// session id, or of the link named linkName.
func (c *connection) heldSession(entity, id, linkName string) *sessionHold {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, lk := range c.links {
		if lk.kind != kindReceiver || lk.session == nil || !strings.EqualFold(lk.entity, entity) {
			continue
		}
		if (id != "" && lk.session.get().SessionID == id) || (linkName != "" && lk.amqp.Name == linkName) {
			return lk.session
		}
	}
	return nil
}
