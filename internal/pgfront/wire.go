package pgfront

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	alpnPostgres = "postgresql"
	// maxStartupLen is PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
	maxStartupLen = 10000
	// maxPasswordLen bounds the password message: tokens are 2 to 7 KB.
	maxPasswordLen = 16 << 10
	// maxDrain is how much of an oversize message is read and dropped before the error.
	maxDrain = 1 << 20

	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

// protocolError is a malformed or unexpected message from the client: it is told why with
// FATAL 08P01 and the connection closes.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// readStartup reads one untyped startup-phase packet (StartupMessage, SSLRequest,
// GSSENCRequest or CancelRequest) and decodes it with pgproto3. It frames the packet itself
// rather than through pgproto3.Backend so that no byte past it is read: what the client
// sent after an SSLRequest stays visible in r.
func readStartup(r *bufio.Reader) (pgproto3.FrontendMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[:]))) - 4
	if n < 4 || n > maxStartupLen {
		return nil, protocolErrorf("invalid length of startup packet")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, protocolErrorf("incomplete startup packet")
	}
	var msg pgproto3.FrontendMessage
	code := binary.BigEndian.Uint32(body)
	switch {
	case code == sslRequestCode:
		msg = &pgproto3.SSLRequest{}
	case code == gssEncRequestCode:
		msg = &pgproto3.GSSEncRequest{}
	case code == cancelRequestCode:
		msg = &pgproto3.CancelRequest{}
	case code>>16 == 3:
		msg = &pgproto3.StartupMessage{}
		if code != pgproto3.ProtocolVersion30 && code != pgproto3.ProtocolVersion32 {
			// Newer 3.x minors are negotiated down like 3.2: decode as 3.2.
			binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion32)
		}
	default:
		return nil, protocolErrorf("unsupported frontend protocol %d.%d: server supports 3.0 to 3.2", code>>16, code&0xffff)
	}
	if err := msg.Decode(body); err != nil {
		return nil, protocolErrorf("invalid startup packet: %v", err)
	}
	if sm, ok := msg.(*pgproto3.StartupMessage); ok {
		sm.ProtocolVersion = code // as asked, for the negotiation
	}
	return msg, nil
}

// readMessage reads one typed message of at most max body bytes.
func readMessage(r *bufio.Reader, max int) (typ byte, body []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[1:]))) - 4
	if n < 0 {
		return 0, nil, protocolErrorf("invalid message length")
	}
	if n > int64(max) {
		// Read what a client that means well sends (it writes the whole message before it
		// reads), so that it gets the error rather than a broken pipe.
		if n <= maxDrain {
			_, _ = io.CopyN(io.Discard, r, n)
		}
		return hdr[0], nil, &tooLongError{typ: hdr[0], max: max}
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, protocolErrorf("incomplete message")
	}
	return hdr[0], body, nil
}

// tooLongError is a message over its size limit.
type tooLongError struct {
	typ byte
	max int
}

func (e *tooLongError) Error() string {
	if e.typ == 'p' {
		return fmt.Sprintf("password packet too long: the password (an access token) may be at most %d KiB", e.max>>10)
	}
	return fmt.Sprintf("message of type %q too long: at most %d bytes", e.typ, e.max)
}

// send encodes msgs with pgproto3 and writes them at once.
func send(w io.Writer, msgs ...pgproto3.BackendMessage) error {
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			return fmt.Errorf("pgfront: encoding %T: %w", m, err)
		}
	}
	_, err := w.Write(buf)
	return err
}

// fatal is a FATAL ErrorResponse, as PostgreSQL ends a connection with.
func fatal(code, msg string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg}
}

// prefixConn reads first what r buffered of Conn.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }
