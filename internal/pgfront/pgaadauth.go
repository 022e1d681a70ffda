package pgfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	// maxAdminMessage bounds one client message in an administrator's session, the only
	// sessions whose messages are decoded.
	maxAdminMessage = 64 << 20
	// pgaadauthTimeout bounds carrying out one pgaadauth statement.
	pgaadauthTimeout = 30 * time.Second
)

type pgaadauthKind int

const (
	createPrincipal pgaadauthKind = iota + 1
	createPrincipalWithOID
	listPrincipals
	securityLabel
)

// pgaadauthStmt is a recognised pgaadauth statement.
type pgaadauthStmt struct {
	kind       pgaadauthKind
	role       string
	objectID   string
	typ        string
	admin, mfa bool
	label      string // the SECURITY LABEL text, parsed when carried out
}

// relayAdmin copies an administrator's messages to the upstream, carrying out and
// rewriting the pgaadauth statements among them.
func (f *Frontend) relayAdmin(s *session) error {
	be := pgproto3.NewBackend(s.clientR, io.Discard)
	be.SetMaxBodyLen(maxAdminMessage)
	var buf []byte
	for {
		msg, err := be.Receive()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			if st, ok := parsePgaadauth(m.String); ok {
				msg = &pgproto3.Query{String: f.runPgaadauth(s, st)}
			}
		case *pgproto3.Parse:
			// The extended protocol (pgx's default): carried out when prepared.
			if st, ok := parsePgaadauth(m.Query); ok && len(m.ParameterOIDs) == 0 {
				msg = &pgproto3.Parse{Name: m.Name, Query: f.runPgaadauth(s, st)}
			}
		}
		if buf, err = msg.Encode(buf[:0]); err != nil {
			return err
		}
		if _, err := s.upstream.Write(buf); err != nil {
			return err
		}
		if _, ok := msg.(*pgproto3.Terminate); ok {
			return nil
		}
	}
}

// runPgaadauth carries out st for s's principal and returns the SQL the upstream is sent
// in its place.
func (f *Frontend) runPgaadauth(s *session, st pgaadauthStmt) string {
	ctx, cancel := context.WithTimeout(f.ctx, pgaadauthTimeout)
	defer cancel()
	dir := f.cfg.Directory
	switch st.kind {
	case createPrincipal, createPrincipalWithOID:
		fn := "pgaadauth_create_principal"
		if st.kind == createPrincipalWithOID {
			fn = "pgaadauth_create_principal_with_oid"
		}
		if st.mfa {
			return raiseSQL("0A000", "isMfa = true is not supported: Lanyard's tokens carry no MFA claim")
		}
		if _, err := dir.CreatePrincipal(ctx, s.serverID, st.role, st.objectID, lanyard.PostgresPrincipalType(st.typ), st.admin); err != nil {
			f.log.Info("pgaadauth statement failed", "server", s.serverID, "by", s.role, "role", st.role, "err", err)
			return raiseError(err)
		}
		f.log.Info("pgaadauth principal created", "server", s.serverID, "by", s.role, "role", st.role, "admin", st.admin)
		return "SELECT " + quoteLiteral("Created role for "+st.role) + "::text AS " + fn
	case listPrincipals:
		var ps []lanyard.PostgresPrincipal
		if !st.mfa { // no principal is MFA-enforced
			var err error
			if ps, err = dir.ListPrincipals(ctx, s.serverID); err != nil {
				return raiseError(err)
			}
		}
		return listSQL(ps, s.claims.TenantID)
	case securityLabel:
		oid, typ, admin, err := parseLabel(st.label)
		if err != nil {
			return raiseSQL("22023", err.Error())
		}
		if _, err := dir.CreatePrincipal(withExistingRole(ctx), s.serverID, st.role, oid, typ, admin); err != nil {
			f.log.Info("pgaadauth security label failed", "server", s.serverID, "by", s.role, "role", st.role, "err", err)
			return raiseError(err)
		}
		f.log.Info("pgaadauth security label bound a role", "server", s.serverID, "by", s.role, "role", st.role, "admin", admin)
		return "DO $pgaadauth$BEGIN END$pgaadauth$"
	}
	return raiseSQL("XX000", "unknown pgaadauth statement")
}

// listSQL answers pgaadauth_list_principals with ps.
func listSQL(ps []lanyard.PostgresPrincipal, tenantID string) string {
	const cols = "rolname, principaltype, objectid, tenantid, ismfa, isadmin"
	if len(ps) == 0 {
		return "SELECT NULL::text AS rolname, NULL::text AS principaltype, NULL::text AS objectid, NULL::text AS tenantid, NULL::boolean AS ismfa, NULL::boolean AS isadmin WHERE false"
	}
	var b strings.Builder
	b.WriteString("SELECT * FROM (VALUES ")
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%s::text, %s::text, %s::text, %s::text, false, %t)",
			quoteLiteral(p.Role), quoteLiteral(string(p.Type)), quoteLiteral(p.ObjectID), quoteLiteral(tenantID), p.Admin)
	}
	b.WriteString(") AS pgaadauth_list_principals(" + cols + ")")
	return b.String()
}

// sqlstate is the SQLSTATE a pgaadauth statement fails with, by the kind of its error.
//
//exhaustive:enforce
var sqlstate = map[lanyard.Kind]string{
	lanyard.KindInternal:         "XX000", // internal_error
	lanyard.KindInvalid:          "22023", // invalid_parameter_value
	lanyard.KindNotFound:         "42704", // undefined_object
	lanyard.KindConflict:         "42710", // duplicate_object
	lanyard.KindUnauthenticated:  "28000", // invalid_authorization_specification
	lanyard.KindPermissionDenied: "42501", // insufficient_privilege
	lanyard.KindTooLarge:         "54000", // program_limit_exceeded
	lanyard.KindUnavailable:      "08006", // connection_failure
}

// raiseError answers err as PostgreSQL would, with the SQLSTATE of its kind.
func raiseError(err error) string {
	return raiseSQL(sqlstate[lanyard.KindOf(err)], lanyard.MessageOf(err))
}

// raiseSQL is a statement that fails with code and msg in the upstream.
func raiseSQL(code, msg string) string {
	msg = strings.ReplaceAll(msg, "$pgaadauth$", "$ pgaadauth$")
	return "DO $pgaadauth$BEGIN RAISE EXCEPTION USING MESSAGE = " + quoteLiteral(msg) + ", ERRCODE = '" + code + "'; END$pgaadauth$"
}

// parseLabel parses pgaadauth's security label: aadauth,oid=<oid>,type=<type>[,admin].
func parseLabel(label string) (oid string, typ lanyard.PostgresPrincipalType, admin bool, err error) {
	parts := strings.Split(label, ",")
	if strings.TrimSpace(parts[0]) != "aadauth" {
		return "", "", false, errors.New(`invalid pgaadauth security label: it must start with "aadauth"`)
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "oid":
			oid = v
		case "type":
			typ = lanyard.PostgresPrincipalType(strings.ToLower(v))
		case "admin":
			admin = true
		default:
			return "", "", false, fmt.Errorf("invalid pgaadauth security label: unknown part %q", lanyard.Clip(p, 40))
		}
	}
	if oid == "" {
		return "", "", false, errors.New("invalid pgaadauth security label: oid is required")
	}
	switch typ {
	case lanyard.PostgresUser, lanyard.PostgresGroup, lanyard.PostgresService:
	default:
		return "", "", false, errors.New("invalid pgaadauth security label: type must be user, group or service")
	}
	return oid, typ, admin, nil
}

// token kinds of the statement lexer.
const (
	tokIdent  = iota // unquoted: lower-cased
	tokQuoted        // "quoted identifier"
	tokString        // 'string literal'
	tokPunct         // ( ) , * ; .
)

type sqlToken struct {
	kind int
	text string
}

// lexStatement splits sql into tokens; false for anything outside the small grammar of the
// pgaadauth statements (comments, dollar quotes, numbers, operators...).
func lexStatement(sql string) ([]sqlToken, bool) {
	var toks []sqlToken
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.IndexByte("(),*;.", c) >= 0:
			toks = append(toks, sqlToken{tokPunct, string(c)})
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(sql) {
					return nil, false
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			kind := tokString
			if c == '"' {
				kind = tokQuoted
			}
			toks = append(toks, sqlToken{kind, b.String()})
			i = j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(sql) && (sql[j] == '_' || sql[j] == '$' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			toks = append(toks, sqlToken{tokIdent, strings.ToLower(sql[i:j])})
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

// parsePgaadauth recognises a pgaadauth statement making up the whole of sql.
func parsePgaadauth(sql string) (pgaadauthStmt, bool) {
	toks, ok := lexStatement(sql)
	if !ok {
		return pgaadauthStmt{}, false
	}
	if n := len(toks); n > 0 && toks[n-1] == (sqlToken{tokPunct, ";"}) {
		toks = toks[:n-1]
	}
	p := &stmtParser{toks: toks}
	switch {
	case p.keyword("select"):
		return p.function()
	case p.keyword("security"):
		return p.label()
	}
	return pgaadauthStmt{}, false
}

type stmtParser struct {
	toks []sqlToken
	i    int
}

func (p *stmtParser) next() (sqlToken, bool) {
	if p.i >= len(p.toks) {
		return sqlToken{}, false
	}
	t := p.toks[p.i]
	p.i++
	return t, true
}

func (p *stmtParser) keyword(kw string) bool {
	if p.i < len(p.toks) && p.toks[p.i] == (sqlToken{tokIdent, kw}) {
		p.i++
		return true
	}
	return false
}

func (p *stmtParser) punct(c string) bool {
	if p.i < len(p.toks) && p.toks[p.i] == (sqlToken{tokPunct, c}) {
		p.i++
		return true
	}
	return false
}

// name reads an identifier, quoted or not.
func (p *stmtParser) name() (string, bool) {
	t, ok := p.next()
	if !ok || (t.kind != tokIdent && t.kind != tokQuoted) {
		return "", false
	}
	return t.text, true
}

// function parses, after SELECT: [* FROM] [pg_catalog.]pgaadauth_xxx(args).
func (p *stmtParser) function() (pgaadauthStmt, bool) {
	if p.punct("*") && !p.keyword("from") {
		return pgaadauthStmt{}, false
	}
	fn, ok := p.name()
	if !ok {
		return pgaadauthStmt{}, false
	}
	if fn == "pg_catalog" && p.punct(".") {
		if fn, ok = p.name(); !ok {
			return pgaadauthStmt{}, false
		}
	}
	if !p.punct("(") {
		return pgaadauthStmt{}, false
	}
	var args []sqlToken
	for !p.punct(")") {
		if len(args) > 0 && !p.punct(",") {
			return pgaadauthStmt{}, false
		}
		t, ok := p.next()
		if !ok || (t.kind != tokString && t.kind != tokIdent) {
			return pgaadauthStmt{}, false
		}
		args = append(args, t)
	}
	if p.i != len(p.toks) {
		return pgaadauthStmt{}, false
	}
	var st pgaadauthStmt
	switch {
	case fn == "pgaadauth_create_principal" && len(args) == 3:
		st.kind = createPrincipal
		ok = str(args[0], &st.role) && boolean(args[1], &st.admin) && boolean(args[2], &st.mfa)
	case fn == "pgaadauth_create_principal_with_oid" && len(args) == 5:
		st.kind = createPrincipalWithOID
		ok = str(args[0], &st.role) && str(args[1], &st.objectID) && str(args[2], &st.typ) &&
			boolean(args[3], &st.admin) && boolean(args[4], &st.mfa)
		st.typ = strings.ToLower(st.typ)
		ok = ok && (st.typ == "user" || st.typ == "group" || st.typ == "service")
	case fn == "pgaadauth_list_principals" && len(args) == 1:
		st.kind = listPrincipals
		ok = boolean(args[0], &st.mfa)
	default:
		ok = false
	}
	return st, ok && (st.role != "" || st.kind == listPrincipals)
}

func str(t sqlToken, dst *string) bool {
	*dst = t.text
	return t.kind == tokString
}

func boolean(t sqlToken, dst *bool) bool {
	switch strings.ToLower(t.text) {
	case "true", "t":
		*dst = true
	case "false", "f":
		*dst = false
	default:
		return false
	}
	return t.kind == tokIdent && (t.text == "true" || t.text == "false") || t.kind == tokString
}

// label parses, after SECURITY: LABEL FOR pgaadauth ON ROLE name IS 'label'.
func (p *stmtParser) label() (pgaadauthStmt, bool) {
	if !p.keyword("label") || !p.keyword("for") {
		return pgaadauthStmt{}, false
	}
	if provider, ok := p.name(); !ok || provider != "pgaadauth" {
		return pgaadauthStmt{}, false
	}
	if !p.keyword("on") || !p.keyword("role") {
		return pgaadauthStmt{}, false
	}
	role, ok := p.name()
	if !ok || !p.keyword("is") {
		return pgaadauthStmt{}, false
	}
	t, ok := p.next()
	if !ok || t.kind != tokString || p.i != len(p.toks) {
		return pgaadauthStmt{}, false
	}
	return pgaadauthStmt{kind: securityLabel, role: role, label: t.text}, true
}
