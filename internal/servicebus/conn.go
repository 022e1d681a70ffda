package servicebus

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/amqp"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Data actions of Service Bus's roles.
const (
	actionSend    = "Microsoft.ServiceBus/namespaces/messages/send/action"
	actionReceive = "Microsoft.ServiceBus/namespaces/messages/receive/action"
)

// claim is a token put on a connection for an entity ("" for the namespace).
type claim struct {
	raw     string
	claims  token.Claims
	expires time.Time
}

// linkKind is what a link attached to.
type linkKind int

const (
	kindRequests linkKind = iota // the client's sender to $cbs or entity/$management
	kindReplies                  // the client's receiver of their answers
	kindSender                   // the client sends to a queue
	kindReceiver                 // the client receives from a queue
)

// link is a link of a connection, with what it was granted.
type link struct {
	amqp   *amqp.Link
	kind   linkKind
	addr   address
	entity string // the entity as stored ("" for $cbs)
	target entityKind
	// Granted at attach, re-checked every RecheckInterval (data links only).
	action string
	scope  string
	claim  string // the key of the claim it holds
	holder token.Claims

	queue    atomicQueue // the queue's settings, refreshed on re-check
	requests chan *amqp.Delivery
	mode     messaging.ReceiveMode
	// Deliveries sent unsettled (PeekLock), by delivery id, and outcomes that arrived
	// before Send returned the id.
	mu      sync.Mutex
	pending map[uint32]messaging.LockToken
	early   map[uint32]amqp.DeliveryState
	// session is the session lock of a session receiver (session.go), nil for others.
	session *sessionHold
}

// connection is one client connection: its claims and links. The amqp.Handler methods
// run on the connection's reading goroutine and hand slow work (disk writes, sends) to
// goroutines of their own.
type connection struct {
	b      *Broker
	ns     lanyard.ServiceBusNamespace
	remote string
	log    *slog.Logger
	ctx    context.Context // ended with the connection
	cancel context.CancelFunc

	answered atomic.Uint64 // answers sent, numbering their delivery tags

	mu      sync.Mutex
	raw     net.Conn // the client's connection, until AMQP's is known
	conn    *amqp.Conn
	claims  map[string]claim
	claimed bool
	links   map[*amqp.Link]*link
	replies map[string]*amqp.Link // the client's reply links, by their target address
	work    sync.WaitGroup
}

func (b *Broker) newConnection(ns lanyard.ServiceBusNamespace, remote string) *connection {
	ctx, cancel := context.WithCancel(b.ctx)
	return &connection{b: b, ns: ns, remote: remote, ctx: ctx, cancel: cancel,
		log:    b.log.With("namespace", ns.Name, "client", remote),
		claims: map[string]claim{}, links: map[*amqp.Link]*link{}, replies: map[string]*amqp.Link{}}
}

// ended is called once Serve returns: every goroutine of the connection stops.
func (c *connection) ended() {
	c.cancel()
	c.work.Wait()
}

func (c *connection) attachConn(l *amqp.Link) {
	c.mu.Lock()
	if c.conn == nil {
		c.conn = l.Conn()
	}
	c.mu.Unlock()
}

// Attach implements amqp.Handler.
func (c *connection) Attach(l *amqp.Link) *amqp.Error {
	c.attachConn(l)
	if l.Role == amqp.RoleReceiver { // the client sends
		if l.Target == nil || l.Target.Coordinator {
			return notImplemented("Transactions")
		}
		a, ok := parseAddress(l.Target.Address)
		if !ok {
			return amqpError(amqp.ErrNotFound, "The messaging entity '%s' could not be found.", lanyard.Clip(l.Target.Address, 200))
		}
		if a.cbs || a.management {
			return c.attachRequests(l, a)
		}
		return c.attachData(l, a, kindSender)
	}
	if l.Source == nil {
		return amqpError(amqp.ErrInvalidField, "A receiving link needs a source.")
	}
	if c.isReplyLink(l) {
		return nil
	}
	a, ok := parseAddress(l.Source.Address)
	if !ok {
		return amqpError(amqp.ErrNotFound, "The messaging entity '%s' could not be found.", lanyard.Clip(l.Source.Address, 200))
	}
	return c.attachData(l, a, kindReceiver)
}

// isReplyLink registers l when it is the receiving half of a request-response pair: its
// source is $cbs or an entity's $management node. Requests name it in reply-to by its
// target address (go-amqp) or, when it has none, by its name (rhea).
func (c *connection) isReplyLink(l *amqp.Link) bool {
	a, ok := parseAddress(l.Source.Address)
	if !ok || !(a.cbs || a.management) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replies[replyKey(l)] = l
	c.links[l] = &link{amqp: l, kind: kindReplies, addr: a}
	return true
}

func replyKey(l *amqp.Link) string {
	if l.Target != nil && l.Target.Address != "" {
		return l.Target.Address
	}
	return l.Name
}

// attachRequests takes the client's sender to $cbs or to an entity's $management node.
// Requests are answered in order, one at a time per link.
func (c *connection) attachRequests(l *amqp.Link, a address) *amqp.Error {
	lk := &link{amqp: l, kind: kindRequests, addr: a, entity: a.entity, requests: make(chan *amqp.Delivery, requestCredit)}
	if a.management {
		if _, _, ok := c.claimFor(a.entity); !ok {
			return unauthorized("Unauthorized access. A token for '%s' must be put on the connection ($cbs) first.", lanyard.Clip(a.entity, 200))
		}
	}
	c.mu.Lock()
	c.links[l] = lk
	c.mu.Unlock()
	c.work.Go(func() { c.serveRequests(lk) })
	_ = l.IssueCredit(requestCredit)
	return nil
}

const requestCredit = 16

// claimFor returns the unexpired claim that covers entity, preferring the most specific
// one. (recheck also forgets expired claims, on its own beat.)
func (c *connection) claimFor(entity string) (string, claim, bool) {
	now := c.b.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	best, found := "", false
	var out claim
	for key, cl := range c.claims {
		if now.Before(cl.expires) && covers(key, entity) && (!found || len(key) > len(best)) {
			best, out, found = key, cl, true
		}
	}
	return best, out, found
}

// attachData takes a link to a queue: the client's sender (kind sender) or receiver.
func (c *connection) attachData(l *amqp.Link, a address, kind linkKind) *amqp.Error {
	if a.cbs || a.management {
		return amqpError(amqp.ErrNotAllowed, "'%s' is not an entity to send to or receive from.", lanyard.Clip(l.Name, 100))
	}
	if kind == kindSender && a.sub == messaging.DeadLetter {
		return amqpError(amqp.ErrNotAllowed, "Messages cannot be sent to a dead-letter queue.")
	}
	q, target, err := c.b.entity(c.ctx, c.ns.Name, a.entity)
	if err != nil {
		return conditionOf(err)
	}
	if kind == kindSender && target == entitySubscription {
		return amqpError(amqp.ErrNotAllowed, "Messages cannot be sent to a subscription: send them to its topic.")
	}
	if kind == kindReceiver && target == entityTopic {
		return amqpError(amqp.ErrNotAllowed, "Messages cannot be received from a topic: receive them from one of its subscriptions.")
	}
	if err := checkSessionLink(q, a, l, kind); err != nil {
		return err
	}
	scope := scopeOf(q, target)
	action, right := actionSend, "Send"
	if kind == kindReceiver {
		action, right = actionReceive, "Listen"
	}
	key, cl, ok := c.claimFor(a.entity)
	if !ok {
		return unauthorized("Unauthorized access. '%s' claim(s) are required to perform this operation. A token for '%s' must be put on the connection ($cbs) first.", right, lanyard.Clip(a.entity, 200))
	}
	req := access.Request{Resource: c.ns.Name, Scope: scope, Operation: operationOf(kind), Action: action, DataAction: true}
	if err := c.b.cfg.Authorizer.Decide(c.ctx, cl.claims, req); err != nil {
		c.log.Info("link refused", "entity", a.entity, "principal", cl.claims.ObjectID, "action", action, "err", err)
		if lanyard.KindOf(err) == lanyard.KindPermissionDenied {
			return unauthorized("Unauthorized access. '%s' claim(s) are required to perform this operation: the principal %s has no role assignment allowing %s at %s.", right, cl.claims.ObjectID, action, c.ns.ResourceID+"/"+scope)
		}
		return conditionOf(err)
	}
	lk := &link{amqp: l, kind: kind, addr: a, entity: q.Name, target: target, action: action, scope: c.ns.ResourceID + "/" + scope,
		claim: key, holder: cl.claims, pending: map[uint32]messaging.LockToken{}, early: map[uint32]amqp.DeliveryState{}}
	lk.queue.Store(q)
	if kind == kindSender {
		lk.requests = make(chan *amqp.Delivery, senderCredit)
	} else if l.Remote.SndSettleMode != nil && *l.Remote.SndSettleMode == amqp.SenderSettleSettled {
		// The SDKs ask for pre-settled deliveries in ReceiveAndDelete mode only.
		lk.mode = messaging.ReceiveAndDelete
	}
	if kind == kindReceiver && q.RequiresSession && a.sub == messaging.Active { // a dead-letter queue has no sessions
		c.work.Go(func() { c.acceptSession(lk) }) // answers the attach once it holds a session
		return amqp.AttachLater
	}
	c.mu.Lock()
	c.links[l] = lk
	c.mu.Unlock()
	if kind == kindSender {
		c.work.Go(func() { c.serveSends(lk) })
		_ = l.IssueCredit(senderCredit)
	} else {
		c.work.Go(func() { c.serveDeliveries(lk) })
	}
	return nil
}

func operationOf(kind linkKind) string {
	if kind == kindSender {
		return "AttachSender"
	}
	return "AttachReceiver"
}

// Deliver implements amqp.Handler: a request, or a message sent to a queue.
func (c *connection) Deliver(l *amqp.Link, d *amqp.Delivery) {
	c.mu.Lock()
	lk := c.links[l]
	queued := true
	if lk != nil && lk.requests != nil {
		select {
		case lk.requests <- d: // closed only by Detach, under mu, after lk leaves c.links
		default:
			queued = false
		}
	}
	c.mu.Unlock()
	if !queued { // beyond the credit given: the engine refuses such a transfer before this
		_ = l.Detach(amqpError(amqp.ErrTransferLimit, "More deliveries than the credit given."))
	}
}

// Disposition implements amqp.Handler: the client settling a peek-locked message.
func (c *connection) Disposition(l *amqp.Link, deliveryID uint32, settled bool, state amqp.DeliveryState) {
	c.mu.Lock()
	lk := c.links[l]
	c.mu.Unlock()
	if lk == nil || lk.kind != kindReceiver {
		return
	}
	if state == nil {
		return
	}
	lk.mu.Lock()
	tok, ok := lk.pending[deliveryID]
	delete(lk.pending, deliveryID)
	if !ok && lk.mode == messaging.PeekLock {
		lk.early[deliveryID] = state
	}
	lk.mu.Unlock()
	if !ok {
		return
	}
	c.work.Go(func() { c.settle(lk, deliveryID, tok, state) })
}

// Detach implements amqp.Handler.
func (c *connection) Detach(l *amqp.Link, _ *amqp.Error) {
	c.mu.Lock()
	lk := c.links[l]
	delete(c.links, l)
	if lk != nil && lk.kind == kindReplies && c.replies[replyKey(l)] == l {
		delete(c.replies, replyKey(l))
	}
	if lk != nil && lk.requests != nil {
		close(lk.requests)
	}
	c.mu.Unlock()
}

// replyLink is the link answers to replyTo go on.
func (c *connection) replyLink(replyTo string) *amqp.Link {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replies[replyTo]
}

// watch closes the connection when no claim is put on it within ClaimTimeout, and
// re-checks its links every RecheckInterval until it ends.
func (c *connection) watch() {
	deadline := time.NewTimer(c.b.cfg.ClaimTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(c.b.cfg.RecheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-deadline.C:
			c.mu.Lock()
			claimed, conn, raw := c.claimed, c.conn, c.raw
			c.mu.Unlock()
			if claimed {
				continue
			}
			c.log.Info("closing a connection that put no valid token on itself in time", "timeout", c.b.cfg.ClaimTimeout)
			if conn != nil {
				conn.Close(unauthorized("No valid token was put on the connection ($cbs put-token) within %s.", c.b.cfg.ClaimTimeout))
			} else if raw != nil {
				_ = raw.Close() // not even a link attached: nothing to say it on
			}
		case <-tick.C:
			c.recheck()
		}
	}
}

// recheck detaches the links whose claim expired, whose token was revoked, whose
// principal is gone or disabled, whose role no longer allows them, or whose queue is gone.
func (c *connection) recheck() {
	now := c.b.now()
	c.mu.Lock()
	for key, cl := range c.claims {
		if !now.Before(cl.expires) {
			delete(c.claims, key)
		}
	}
	var data []*link
	for _, lk := range c.links {
		if lk.kind == kindSender || lk.kind == kindReceiver {
			data = append(data, lk)
		}
	}
	c.mu.Unlock()
	for _, lk := range data {
		if err := c.recheckLink(lk); err != nil {
			c.log.Info("detaching a link", "entity", lk.entity, "principal", lk.holder.ObjectID, "reason", err.Description)
			_ = lk.amqp.Detach(err)
		}
	}
}

func (c *connection) recheckLink(lk *link) *amqp.Error {
	c.mu.Lock()
	_, held := c.claims[lk.claim]
	c.mu.Unlock()
	if !held {
		return unauthorized("The token put for '%s' expired: put a new one to keep using the entity.", lanyard.Clip(lk.entity, 200))
	}
	if err := c.b.cfg.Authorizer.Recheck(c.ctx, lk.holder, lk.action, true, lk.scope); err != nil {
		if k := lanyard.KindOf(err); k == lanyard.KindUnauthenticated || k == lanyard.KindPermissionDenied || k == lanyard.KindNotFound {
			return unauthorized("Unauthorized access: %s", recheckReason(err))
		}
		return nil // the store is unreachable, say: keep the link, check again
	}
	q, _, err := c.b.entity(c.ctx, c.ns.Name, lk.entity)
	var gone *amqp.Error
	if errors.As(err, &gone) { // deleted, or changed into what part 2 serves
		return gone
	}
	if err == nil {
		lk.queue.Store(q)
	}
	return nil // the directory is unreachable, say: keep the link, check again
}

func recheckReason(err error) string {
	if errors.Is(err, access.ErrDenied) {
		return "the principal's role assignment no longer allows this link."
	}
	return strings.TrimSpace(lanyard.MessageOf(err))
}
