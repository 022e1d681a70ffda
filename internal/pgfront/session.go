package pgfront

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// session is a logged-in client spliced to its upstream connection.
type session struct {
	serverID, role, database, clientAddr string
	claims                               token.Claims
	objectID                             string // of the binding at login
	admin                                bool
	started                              time.Time

	client   net.Conn
	clientR  *bufio.Reader // holds what the client sent past its password
	upstream net.Conn

	pid          uint32 // what the client was given: Lanyard's key...
	key          []byte
	upstreamPID  uint32 // ...and the upstream's
	upstreamKey  []byte
	upstreamAddr string

	once   sync.Once
	ended  chan struct{}
	reason string
	forced bool
}

// end ends the session once, closing the upstream side; the relay then closes the client
// side, telling it why when Lanyard forced the end.
func (s *session) end(reason string, forced bool) {
	s.once.Do(func() {
		s.reason, s.forced = reason, forced
		close(s.ended)
		_ = s.upstream.Close()
	})
}

// registry is the open sessions, by Lanyard's cancel key process id.
type registry struct {
	mu     sync.Mutex
	closed bool
	byPID  map[uint32]*session
}

func newRegistry() *registry { return &registry{byPID: map[uint32]*session{}} }

// newKey returns a cancel key no open session has.
func (r *registry) newKey() (uint32, []byte) {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff // positive, as a real pid
		r.mu.Lock()
		_, taken := r.byPID[pid]
		r.mu.Unlock()
		if pid != 0 && !taken {
			return pid, b[4:]
		}
	}
}

// add registers s; false when the registry is closed or the key was taken meanwhile.
func (r *registry) add(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.byPID[s.pid]; r.closed || taken {
		return false
	}
	r.byPID[s.pid] = s
	return true
}

func (r *registry) remove(s *session) {
	r.mu.Lock()
	if r.byPID[s.pid] == s {
		delete(r.byPID, s.pid)
	}
	r.mu.Unlock()
}

func (r *registry) get(pid uint32) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPID[pid]
}

func (r *registry) snapshot() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.byPID))
	for _, s := range r.byPID {
		out = append(out, s)
	}
	return out
}

func (r *registry) endServer(serverID, reason string) {
	for _, s := range r.snapshot() {
		if s.serverID == serverID {
			s.end(reason, true)
		}
	}
}

func (r *registry) endAll(reason string) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	for _, s := range r.snapshot() {
		s.end(reason, true)
	}
}

// relay splices s until either side closes or Lanyard ends it, then records the end.
func (f *Frontend) relay(s *session) {
	up := make(chan struct{})
	go func() {
		defer close(up)
		_, _ = io.Copy(s.client, s.upstream)
	}()
	down := make(chan struct{})
	go func() {
		defer close(down)
		var err error
		if s.admin {
			err = f.relayAdmin(s)
		} else {
			_, err = io.Copy(s.upstream, s.clientR)
		}
		reason := "the client closed the connection"
		if err != nil {
			reason = "reading from the client failed: " + err.Error()
		}
		s.end(reason, false)
	}()
	<-up
	s.end("the upstream closed the connection", false)
	// Recorded before the client hears of it, so that the trail is never behind what a
	// client has seen.
	f.log.Info("PostgreSQL session ended", "server", s.serverID, "role", s.role, "principal", s.claims.ObjectID, "client", s.clientAddr, "reason", s.reason)
	if a := f.cfg.Audit; a != nil {
		a.SessionEnded(context.WithoutCancel(f.ctx), SessionEnd{
			ServerID: s.serverID, Role: s.role, Database: s.database, ClientAddress: s.clientAddr,
			PrincipalID: s.claims.ObjectID, TokenID: s.claims.UTI, Started: s.started, Reason: s.reason, Forced: s.forced,
		})
	}
	if s.forced {
		_ = s.client.SetWriteDeadline(time.Now().Add(time.Second))
		_ = send(s.client, fatal("57P01", "terminating connection: "+s.reason))
	}
	_ = s.client.Close()
	<-down
	f.sessions.remove(s)
}

// cancelQuery forwards a CancelRequest carrying the key of an open session to its
// upstream, with the upstream's key. A wrong key is ignored, as PostgreSQL ignores it.
func (f *Frontend) cancelQuery(m *pgproto3.CancelRequest) {
	s := f.sessions.get(m.ProcessID)
	if s == nil || subtle.ConstantTimeCompare(s.key, m.SecretKey) != 1 {
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.upstreamAddr)
	if err != nil {
		f.log.Warn("cannot reach the upstream to cancel a query", "server", s.serverID, "err", err)
		return
	}
	defer func() { _ = c.Close() }()
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	buf, err := (&pgproto3.CancelRequest{ProcessID: s.upstreamPID, SecretKey: s.upstreamKey}).Encode(nil)
	if err != nil {
		return
	}
	if _, err := c.Write(buf); err != nil {
		return
	}
	// The upstream closes once it has read the request.
	_, _ = io.Copy(io.Discard, c)
}

// Recheck ends the sessions whose token is no longer good (revoked, principal deleted or
// disabled) or whose binding was dropped or changed. The Frontend calls it every
// RecheckInterval.
func (f *Frontend) Recheck(ctx context.Context) {
	type bindingKey struct{ server, role string }
	type binding struct {
		p   lanyard.PostgresPrincipal
		err error
	}
	bindings := map[bindingKey]binding{}
	tokens := map[string]error{}
	for _, s := range f.sessions.snapshot() {
		if ctx.Err() != nil {
			return
		}
		tk := s.claims.ObjectID + "\x00" + s.claims.UTI
		err, seen := tokens[tk]
		if !seen {
			err = f.cfg.Tokens.Check(ctx, s.claims)
			tokens[tk] = err
		}
		if err != nil {
			switch lanyard.KindOf(err) {
			case lanyard.KindUnauthenticated, lanyard.KindNotFound, lanyard.KindPermissionDenied:
				s.end("the token is no longer accepted: "+lanyard.MessageOf(err), true)
			default:
				f.log.Warn("cannot re-check a PostgreSQL session's token", "server", s.serverID, "role", s.role, "err", err)
			}
			continue
		}
		bk := bindingKey{s.serverID, s.role}
		b, seen := bindings[bk]
		if !seen {
			b.p, b.err = f.cfg.Directory.GetPrincipal(ctx, s.serverID, s.role)
			bindings[bk] = b
		}
		switch {
		case lanyard.IsNotFound(b.err):
			s.end("the role's binding was dropped", true)
		case b.err != nil:
			f.log.Warn("cannot re-check a PostgreSQL session's binding", "server", s.serverID, "role", s.role, "err", b.err)
		case !strings.EqualFold(b.p.ObjectID, s.objectID) || b.p.Admin != s.admin:
			s.end("the role's binding changed", true)
		}
	}
}
