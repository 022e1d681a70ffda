package pgfront

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// refusal is a login refused: what the client is told, and the real reason for the audit
// trail and the log.
type refusal struct {
	code, msg string
	reason    string
}

func (r *refusal) Error() string { return r.reason }

// serve runs one client connection: the handshake under one deadline, then the session.
// When the front end is full, the client is refused with 53300 once it has said who it is.
func (f *Frontend) serve(raw net.Conn, srv lanyard.PostgresServer, tlsCfg *tls.Config, full bool) {
	ctx, cancel := context.WithTimeout(f.ctx, f.cfg.HandshakeTimeout)
	defer cancel()
	_ = raw.SetDeadline(time.Now().Add(f.cfg.HandshakeTimeout))
	h := &handshake{f: f, srv: srv, raw: raw, client: raw, addr: raw.RemoteAddr().String(), full: full}
	s, err := h.run(ctx, tlsCfg)
	if err != nil {
		f.log.Debug("PostgreSQL handshake ended", "server", srv.ResourceID, "client", h.addr, "err", err)
	}
	registered := s != nil && f.sessions.add(s)
	f.untrack(raw)
	if !registered {
		if s != nil {
			_ = s.upstream.Close()
		}
		_ = h.client.Close()
		return
	}
	if !f.serves(srv.ResourceID) {
		// The server was removed while this login finished, and Sync's sweep of its
		// sessions may have run before it was registered: Sync updates the servers before
		// sweeping, so one of the two sees the other.
		s.end("the server was deleted", true)
	}
	_ = raw.SetDeadline(time.Time{})
	f.relay(s)
}

// serves reports whether serverID is one of the servers Sync last gave.
func (f *Frontend) serves(serverID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.servers[serverID]
	return ok
}

type handshake struct {
	f      *Frontend
	srv    lanyard.PostgresServer
	raw    net.Conn
	client net.Conn // raw, then the TLS connection over it
	addr   string
	rec    Login
	full   bool // too many connections: refuse after the startup message
}

// run takes the client from its first byte to a logged-in upstream session (not yet
// registered), or refuses it.
func (h *handshake) run(ctx context.Context, tlsCfg *tls.Config) (*session, error) {
	r := bufio.NewReaderSize(h.raw, 512)
	first, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] == 0x16 { // a TLS handshake record: PostgreSQL 17's direct TLS
		tc := tls.Server(&prefixConn{Conn: h.raw, r: r}, tlsCfg)
		h.client = tc
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		if tc.ConnectionState().NegotiatedProtocol != alpnPostgres {
			return nil, h.fail(protocolErrorf("direct TLS connections must negotiate ALPN %q", alpnPostgres))
		}
	} else if err := h.negotiate(ctx, r, tlsCfg); err != nil {
		return nil, err
	}
	if h.client == h.raw {
		return nil, nil // a cancel request, or the client gave up
	}
	cr := bufio.NewReaderSize(h.client, 8192)
	msg, err := readStartup(cr)
	if err != nil {
		return nil, h.fail(err)
	}
	switch m := msg.(type) {
	case *pgproto3.CancelRequest:
		h.f.cancelQuery(m)
		return nil, nil
	case *pgproto3.StartupMessage:
		return h.login(ctx, cr, m)
	default:
		return nil, h.fail(protocolErrorf("unexpected %T after TLS negotiation", msg))
	}
}

// negotiate reads plaintext packets until TLS is up (h.client is then the TLS connection),
// a cancel request is handled, or the client is refused.
func (h *handshake) negotiate(ctx context.Context, r *bufio.Reader, tlsCfg *tls.Config) error {
	for {
		msg, err := readStartup(r)
		if err != nil {
			return h.fail(err)
		}
		switch m := msg.(type) {
		case *pgproto3.GSSEncRequest:
			if _, err := h.raw.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			h.f.cancelQuery(m)
			return nil
		case *pgproto3.SSLRequest:
			if r.Buffered() > 0 {
				// Whatever follows must be encrypted; bytes already here were not.
				return h.fail(protocolErrorf("received unencrypted data after SSL request"))
			}
			if _, err := h.raw.Write([]byte{'S'}); err != nil {
				return err
			}
			tc := tls.Server(h.raw, tlsCfg)
			h.client = tc
			if err := tc.HandshakeContext(ctx); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			return nil
		case *pgproto3.StartupMessage:
			h.rec = Login{ServerID: h.srv.ResourceID, Role: m.Parameters["user"], Database: database(m), ClientAddress: h.addr}
			return h.refuse(&refusal{code: "28000", msg: "TLS is required: Lanyard accepts only encrypted connections (sslmode=require or stronger)", reason: "the client did not ask for TLS"})
		}
	}
}

func database(m *pgproto3.StartupMessage) string {
	if db := m.Parameters["database"]; db != "" {
		return db
	}
	return m.Parameters["user"]
}

// login authenticates the client and logs in to the upstream as its role.
func (h *handshake) login(ctx context.Context, r *bufio.Reader, m *pgproto3.StartupMessage) (*session, error) {
	user := m.Parameters["user"]
	h.rec = Login{ServerID: h.srv.ResourceID, Role: user, Database: database(m), ClientAddress: h.addr}
	if user == "" {
		return nil, h.refuse(&refusal{code: "28000", msg: "no PostgreSQL user name specified in startup packet", reason: "no user name"})
	}
	if h.full {
		return nil, h.refuse(&refusal{code: "53300", msg: "sorry, too many clients already", reason: fmt.Sprintf("over the front end's %d connections", h.f.cfg.MaxConnections)})
	}
	var first []pgproto3.BackendMessage
	if npv := negotiation(m); npv != nil {
		first = append(first, npv)
	}
	first = append(first, &pgproto3.AuthenticationCleartextPassword{})
	if err := send(h.client, first...); err != nil {
		return nil, err
	}
	typ, body, err := readMessage(r, maxPasswordLen)
	var tl *tooLongError
	switch {
	case errors.As(err, &tl):
		return nil, h.refuse(&refusal{code: "08P01", msg: tl.Error(), reason: "password message over 16 KiB"})
	case err != nil:
		return nil, err // the client went away (psql does so to ask for a password)
	case typ != 'p':
		return nil, h.fail(protocolErrorf("expected password response, got message type %q", typ))
	}
	var pw pgproto3.PasswordMessage
	if err := pw.Decode(body); err != nil {
		return nil, h.fail(protocolErrorf("invalid password packet: %v", err))
	}

	claims, err := h.f.cfg.Tokens.Authenticate(ctx, pw.Password)
	if err != nil {
		if lanyard.KindOf(err) == lanyard.KindUnavailable {
			return nil, h.refuse(&refusal{code: "57P03", msg: "Lanyard cannot check tokens right now; try again later", reason: err.Error()})
		}
		return nil, h.refuse(&refusal{code: "28P01", msg: fmt.Sprintf("password authentication failed for user %q", user), reason: "token refused: " + err.Error()})
	}
	h.rec.PrincipalID, h.rec.TokenID = claims.ObjectID, claims.UTI
	unbound := fmt.Sprintf("role %q is not bound to the token's principal", user)
	p, err := h.f.cfg.Directory.GetPrincipal(ctx, h.srv.ResourceID, user)
	switch {
	case lanyard.IsNotFound(err):
		return nil, h.refuse(&refusal{code: "28000", msg: unbound, reason: "the role is not bound"})
	case err != nil:
		return nil, h.refuse(&refusal{code: "08006", msg: "could not look up the role's binding", reason: err.Error()})
	case p.Type == lanyard.PostgresGroup:
		return nil, h.refuse(&refusal{code: "28000", msg: unbound, reason: "the role is bound to a group, and tokens carry no group claims"})
	case !strings.EqualFold(p.ObjectID, claims.ObjectID):
		return nil, h.refuse(&refusal{code: "28000", msg: unbound, reason: "the role is bound to principal " + p.ObjectID})
	}

	up, err := h.f.connectUpstream(ctx, h.srv, p, database(m), m.Parameters)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return nil, h.refuse(&refusal{code: pgErr.Code, msg: pgErr.Message, reason: "the upstream refused: " + pgErr.Error()})
		}
		return nil, h.refuse(&refusal{code: "08006", msg: fmt.Sprintf("could not connect to the upstream server of %q", h.srv.Name), reason: err.Error()})
	}
	h.rec.Allowed = true
	if a := h.f.cfg.Audit; a != nil {
		if err := a.Login(ctx, h.rec); err != nil {
			_ = up.Conn.Close()
			h.rec.Allowed = false
			return nil, h.refuse(&refusal{code: "58000", msg: "the login could not be recorded in the audit trail", reason: err.Error()})
		}
	}
	h.f.log.Info("PostgreSQL login", "server", h.srv.ResourceID, "role", user, "database", h.rec.Database, "principal", claims.ObjectID, "client", h.addr)

	s := &session{
		serverID: h.srv.ResourceID, role: user, database: h.rec.Database, clientAddr: h.addr,
		claims: claims, objectID: p.ObjectID, admin: p.Admin, started: h.f.cfg.Now(),
		client: h.client, clientR: r, upstream: up.Conn, upstreamPID: up.PID, upstreamKey: up.SecretKey,
		upstreamAddr: up.Conn.RemoteAddr().String(), ended: make(chan struct{}),
	}
	s.pid, s.key = h.f.sessions.newKey()
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	names := make([]string, 0, len(up.ParameterStatuses))
	for k := range up.ParameterStatuses {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: k, Value: up.ParameterStatuses[k]})
	}
	msgs = append(msgs, &pgproto3.BackendKeyData{ProcessID: s.pid, SecretKey: s.key}, &pgproto3.ReadyForQuery{TxStatus: up.TxStatus})
	if err := send(h.client, msgs...); err != nil {
		_ = up.Conn.Close()
		return nil, err
	}
	return s, nil
}

// negotiation is the NegotiateProtocolVersion a startup message needs: the upstream
// session speaks 3.0, and no protocol extension (_pq_.*) is supported.
func negotiation(m *pgproto3.StartupMessage) *pgproto3.NegotiateProtocolVersion {
	var unknown []string
	for k := range m.Parameters {
		if strings.HasPrefix(k, "_pq_.") {
			unknown = append(unknown, k)
		}
	}
	if m.ProtocolVersion == pgproto3.ProtocolVersion30 && len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown}
}

// fail answers a protocol error with FATAL 08P01 and returns it.
func (h *handshake) fail(err error) error {
	var pe *protocolError
	if errors.As(err, &pe) {
		_ = send(h.client, fatal("08P01", pe.msg))
	}
	return err
}

// refuse records the real reason of a refusal, then tells the client why it is refused
// (the caller-safe message), and returns it.
func (h *handshake) refuse(r *refusal) error {
	h.rec.Allowed, h.rec.Code, h.rec.Reason = false, r.code, r.reason
	h.f.log.Info("PostgreSQL login refused", "server", h.srv.ResourceID, "role", h.rec.Role, "database", h.rec.Database,
		"principal", h.rec.PrincipalID, "client", h.addr, "code", r.code, "reason", r.reason)
	if a := h.f.cfg.Audit; a != nil {
		_ = a.Login(context.WithoutCancel(h.f.ctx), h.rec)
	}
	_ = send(h.client, fatal(r.code, r.msg))
	return r
}
