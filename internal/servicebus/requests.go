package servicebus

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// response is an answer to a $cbs or $management request.
type response struct {
	status      int32
	description string
	condition   amqp.Symbol
	body        any // an AMQP value: nil, or a map
}

func failed(err error) response {
	status, e := statusOf(err)
	return response{status: status, description: e.Description, condition: e.Condition}
}

// serveRequests answers the requests of one $cbs or $management link in order.
func (c *connection) serveRequests(lk *link) {
	for d := range lk.requests {
		resp, req := c.request(lk, d)
		if !d.Settled {
			_ = lk.amqp.Settle(d.ID(), true, &amqp.Accepted{})
		}
		_ = lk.amqp.IssueCredit(1)
		if req == nil || req.Properties == nil || req.Properties.ReplyTo == "" {
			continue
		}
		reply := c.replyLink(req.Properties.ReplyTo)
		if reply == nil {
			c.log.Debug("a request's reply-to names no attached link", "replyTo", lanyard.Clip(req.Properties.ReplyTo, 100))
			continue
		}
		payload, err := encodeResponse(req, resp)
		if err != nil {
			c.log.Error("encode a response", "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		_, err = reply.Send(ctx, binary.BigEndian.AppendUint64(nil, c.answered.Add(1)), payload, 0, true)
		cancel()
		if err != nil {
			c.log.Debug("send a response", "err", err)
		}
	}
}

func encodeResponse(req *amqp.Message, resp response) ([]byte, error) {
	m := &amqp.Message{Properties: &amqp.Properties{CorrelationID: req.Properties.MessageID}}
	m.ApplicationProperties.Set("status-code", resp.status)
	m.ApplicationProperties.Set("statusCode", resp.status)
	if resp.description != "" {
		m.ApplicationProperties.Set("status-description", resp.description)
		m.ApplicationProperties.Set("statusDescription", resp.description)
	}
	if resp.condition != "" {
		m.ApplicationProperties.Set("error-condition", resp.condition)
	}
	if resp.body != nil {
		m.Value, m.HasValue = resp.body, true
	}
	return m.Marshal()
}

// request decodes and answers one request.
func (c *connection) request(lk *link, d *amqp.Delivery) (response, *amqp.Message) {
	m, err := amqp.UnmarshalMessage(d.Payload)
	if err != nil {
		return response{status: http.StatusBadRequest, description: "The request is not a valid AMQP message.", condition: amqp.ErrDecode}, nil
	}
	op, _ := m.ApplicationProperties.Get("operation")
	opName, _ := op.(string)
	if lk.addr.cbs {
		if opName != "put-token" {
			return response{status: http.StatusBadRequest, description: fmt.Sprintf("The $cbs operation '%s' is not supported: use put-token.", lanyard.Clip(opName, 100))}, m
		}
		return c.putToken(m), m
	}
	return c.manage(lk, strings.TrimPrefix(opName, "com.microsoft:"), m), m
}

// putToken takes a token for an entity: a Lanyard access token for Service Bus (type
// jwt, or amqp:jwt as the protocol guide names it).
func (c *connection) putToken(m *amqp.Message) response {
	typ, _ := m.ApplicationProperties.Get("type")
	name, _ := m.ApplicationProperties.Get("name")
	typName, _ := typ.(string)
	nameStr, _ := name.(string)
	raw, _ := m.Value.(string)
	if typName != "jwt" && typName != "amqp:jwt" {
		return response{status: http.StatusBadRequest, description: fmt.Sprintf("The token type '%s' is not supported: Lanyard takes Microsoft Entra tokens (type jwt); it has no SAS keys.", lanyard.Clip(typName, 100))}
	}
	entity, ok := claimEntity(nameStr)
	if !ok || raw == "" || len(raw) > 16<<10 {
		return response{status: http.StatusBadRequest, description: "A put-token needs a name (amqps://namespace/entity) and the token as its body."}
	}
	claims, err := c.b.cfg.Authorizer.Authenticate(c.ctx, access.Request{Resource: c.ns.Name, Scope: entityScope(entity),
		Operation: "PutToken", DataAction: true, Audiences: []string{lanyard.ServiceBusResource}, Token: raw})
	if err != nil {
		c.log.Info("put-token refused", "entity", lanyard.Clip(entity, 200), "err", err)
		if k := lanyard.KindOf(err); k == lanyard.KindUnauthenticated {
			return response{status: http.StatusUnauthorized, description: "Unauthorized: " + lanyard.MessageOf(err), condition: amqp.ErrUnauthorizedAccess}
		}
		return failed(err)
	}
	c.mu.Lock()
	c.claims[strings.ToLower(entity)] = claim{raw: raw, claims: claims, expires: claims.ExpiresAt}
	c.claimed = true
	c.mu.Unlock()
	return response{status: http.StatusAccepted, description: "Accepted"}
}

// entityScope is the ARM scope below the namespace that an entity path names.
func entityScope(entity string) string {
	if entity == "" {
		return ""
	}
	name, _, _ := strings.Cut(entity, "/")
	return "queues/" + name
}
