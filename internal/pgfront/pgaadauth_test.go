package pgfront

import (
	"strings"
	"testing"
)

func TestParsePgaadauth(t *testing.T) {
	ok := []struct {
		sql  string
		want pgaadauthStmt
	}{
		{"select * from pgaadauth_create_principal('gamestore03', false, false)", pgaadauthStmt{kind: createPrincipal, role: "gamestore03"}},
		{"SELECT * FROM PgAadAuth_Create_Principal( 'mary@contoso.com' ,true,false ) ;", pgaadauthStmt{kind: createPrincipal, role: "mary@contoso.com", admin: true}},
		{"\n\tselect pgaadauth_create_principal('o''brien', 'f', 't');", pgaadauthStmt{kind: createPrincipal, role: "o'brien", mfa: true}},
		{"select * from pg_catalog.pgaadauth_create_principal('x', false, false)", pgaadauthStmt{kind: createPrincipal, role: "x"}},
		{`select * from "pgaadauth_create_principal"('x', false, false)`, pgaadauthStmt{kind: createPrincipal, role: "x"}},
		{"select * from pgaadauth_create_principal_with_oid('accounting_application', '00000000-0000-0000-0000-000000000001', 'Service', false, false)",
			pgaadauthStmt{kind: createPrincipalWithOID, role: "accounting_application", objectID: "00000000-0000-0000-0000-000000000001", typ: "service"}},
		{"select * from pgaadauth_list_principals(false)", pgaadauthStmt{kind: listPrincipals}},
		{"SELECT * FROM pgaadauth_list_principals(true);", pgaadauthStmt{kind: listPrincipals, mfa: true}},
		{`SECURITY LABEL for "pgaadauth" on role "My Role" is 'aadauth,oid=abc,type=user,admin'`, pgaadauthStmt{kind: securityLabel, role: "My Role", label: "aadauth,oid=abc,type=user,admin"}},
		{`security label FOR pgaadauth ON ROLE app IS 'aadauth,oid=abc,type=service';`, pgaadauthStmt{kind: securityLabel, role: "app", label: "aadauth,oid=abc,type=service"}},
	}
	for _, c := range ok {
		got, recognised := parsePgaadauth(c.sql)
		if !recognised || got != c.want {
			t.Errorf("parsePgaadauth(%q) = %+v, %v; want %+v", c.sql, got, recognised, c.want)
		}
	}
	no := []string{
		"",
		"select 1",
		"select * from pgaadauth_create_principal('x', false)",                               // arity
		"select * from pgaadauth_create_principal(x, false, false)",                          // name not a literal
		"select * from pgaadauth_create_principal('x', 1, false)",                            // not a boolean
		"select * from pgaadauth_create_principal('', false, false)",                         // empty name
		"select * from pgaadauth_create_principal('x', false, false); drop table t",          // more statements
		"select * from pgaadauth_create_principal('x', false, false) where true",             // more clauses
		"select * from pgaadauth_create_principal_with_oid('x', 'o', 'robot', false, false)", // bad type
		"select * from other.pgaadauth_create_principal('x', false, false)",
		"-- comment\nselect * from pgaadauth_list_principals(false)",
		"select * from pgaadauth_list_principals(false) -- comment",
		"select * from pgaadauth_create_principal('unterminated, false, false)",
		`SECURITY LABEL for "selinux" on role "x" is 'aadauth,oid=a,type=user'`,
		`SECURITY LABEL on role "x" is 'aadauth,oid=a,type=user'`,
		`SECURITY LABEL for pgaadauth on table x is 'aadauth,oid=a,type=user'`,
		`SECURITY LABEL for pgaadauth on role x is NULL`,
		"select * from pgaadauth_drop_principal('x')",
	}
	for _, sql := range no {
		if got, recognised := parsePgaadauth(sql); recognised {
			t.Errorf("parsePgaadauth(%q) recognised %+v", sql, got)
		}
	}
}

func TestParseLabel(t *testing.T) {
	oid, typ, admin, err := parseLabel("aadauth,oid=abc-1,type=Group,admin")
	if err != nil || oid != "abc-1" || typ != "group" || !admin {
		t.Errorf("= %q %q %v %v", oid, typ, admin, err)
	}
	for _, bad := range []string{"", "aad", "aadauth", "aadauth,type=user", "aadauth,oid=a,type=robot", "aadauth,oid=a,type=user,colour=red"} {
		if _, _, _, err := parseLabel(bad); err == nil {
			t.Errorf("parseLabel(%q) accepted", bad)
		}
	}
}

func TestRaiseSQLQuoting(t *testing.T) {
	got := raiseSQL("42710", `it's $pgaadauth$ \ evil`)
	if strings.Count(got, "$pgaadauth$") != 2 {
		t.Errorf("the message closes the dollar quote: %s", got)
	}
	if !strings.Contains(got, `E'it''s $ pgaadauth$ \\ evil'`) {
		t.Errorf("literal not quoted: %s", got)
	}
}
