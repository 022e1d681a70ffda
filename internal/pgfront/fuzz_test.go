package pgfront

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func encode(t testing.TB, msgs ...pgproto3.FrontendMessage) []byte {
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// FuzzStartup feeds arbitrary bytes to the plaintext phase of a real handshake (no
// upstream is reached without TLS): it must answer, refuse or close, never panic or hang.
func FuzzStartup(f *testing.F) {
	f.Add(encode(f, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "database": "d"}}))
	f.Add(encode(f, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32, Parameters: map[string]string{"user": "u", "_pq_.x": "1"}}))
	f.Add(encode(f, &pgproto3.SSLRequest{}))
	f.Add(encode(f, &pgproto3.GSSEncRequest{}, &pgproto3.GSSEncRequest{}, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u"}}))
	f.Add(encode(f, &pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{1, 2, 3, 4}}))
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 0})
	f.Add([]byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	fr, err := New(Config{Directory: newFakeDirectory(), Tokens: newFakeTokens(), Certificates: testCA, HandshakeTimeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = fr.Close() }()
	cert, err := testCA.ServerCertificate(nil, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	tlsCfg := tlsConfigFor(cert)
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &fuzzConn{r: bytes.NewReader(in)}
		h := &handshake{f: fr, srv: lanyard.PostgresServer{ResourceID: "s"}, raw: c, client: c, addr: "fuzz"}
		if s, _ := h.run(t.Context(), tlsCfg); s != nil {
			t.Fatal("a session without a token")
		}
	})
}

// fuzzConn is a connection that reads a fixed input, then EOF, and drops what is written.
type fuzzConn struct {
	net.Conn // nil: any other method panics, which the fuzzer would report
	r        *bytes.Reader
}

func (c *fuzzConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fuzzConn) Close() error                     { return nil }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// FuzzPassword feeds arbitrary bytes where the password message is read: it must be
// decoded, refused as too long, or refused as malformed; never a panic.
func FuzzPassword(f *testing.F) {
	f.Add(encode(f, &pgproto3.PasswordMessage{Password: "eyJ0eXAi.abc.def"}))
	f.Add([]byte{'p', 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{'p', 0, 0, 0, 3})
	f.Add([]byte{'p', 0, 0, 0, 5, 'x'})
	f.Add([]byte{'Q', 0, 0, 0, 9, 's', 'e', 'l', 0})
	fr, err := New(Config{Directory: newFakeDirectory(), Tokens: newFakeTokens(), Certificates: testCA})
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = fr.Close() }()
	startup := &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "database": "d"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		// The login phase as a whole, after TLS: tokens and bindings are fakes that accept
		// nothing, so it must refuse every input.
		c := &fuzzConn{r: bytes.NewReader(in)}
		h := &handshake{f: fr, srv: lanyard.PostgresServer{ResourceID: "s"}, raw: c, client: c, addr: "fuzz"}
		if s, err := h.login(t.Context(), bufio.NewReader(c), startup); s != nil || err == nil {
			t.Fatalf("login accepted %q", in)
		}

		typ, body, err := readMessage(bufio.NewReader(bytes.NewReader(in)), maxPasswordLen)
		var tl *tooLongError
		var pe *protocolError
		switch {
		case errors.As(err, &tl):
			if tl.typ == 'p' && tl.Error() == "" {
				t.Error("no message")
			}
		case errors.As(err, &pe), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			if len(body) > maxPasswordLen {
				t.Fatalf("accepted %d bytes", len(body))
			}
			if typ == 'p' {
				var pw pgproto3.PasswordMessage
				_ = pw.Decode(body)
			}
		}
		_, _ = readStartup(bufio.NewReader(bytes.NewReader(in)))
	})
}

// FuzzPgaadauthStatement checks that the recogniser never panics, that what it recognises
// has the shape the handler relies on, and that rewritten errors stay one statement.
func FuzzPgaadauthStatement(f *testing.F) {
	for _, s := range []string{
		"select * from pgaadauth_create_principal('gamestore03', false, false)",
		"select * from pgaadauth_create_principal_with_oid('a', 'b', 'user', true, false);",
		"select * from pgaadauth_list_principals(false)",
		`SECURITY LABEL for "pgaadauth" on role "x" is 'aadauth,oid=1,type=user,admin'`,
		"select 1; select * from pgaadauth_list_principals(false)",
		`select * from pgaadauth_create_principal('a''b"c', 't', 'f')`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, ok := parsePgaadauth(sql)
		if ok {
			switch st.kind {
			case createPrincipal, createPrincipalWithOID, securityLabel:
				if st.role == "" && st.kind != securityLabel {
					t.Fatalf("recognised %q with no role", sql)
				}
			case listPrincipals:
			default:
				t.Fatalf("recognised %q as kind %d", sql, st.kind)
			}
			if st.kind == securityLabel {
				_, _, _, _ = parseLabel(st.label)
			}
		}
		q := raiseSQL("XX000", sql)
		// The message can never end the dollar-quoted body early.
		if n := bytes.Count([]byte(q), []byte("$pgaadauth$")); n != 2 {
			t.Fatalf("raiseSQL(%q) has %d dollar quotes", sql, n)
		}
	})
}
