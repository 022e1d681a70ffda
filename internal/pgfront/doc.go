// Package pgfront is the PostgreSQL wire-protocol front end of passwordless PostgreSQL
// (Microsoft.DBforPostgreSQL/flexibleServers): apps log in with a Lanyard access token for
// https://ossrdbms-aad.database.windows.net as their password, and the front end connects
// them to the user's real PostgreSQL as the role bound to their principal.
//
// # Handshake
//
// Every connection must be encrypted: an SSLRequest is answered 'S' and TLS follows (with
// the certificate Lanyard's CA issues for the listen host); a connection that opens with a
// TLS ClientHello is PostgreSQL 17's direct TLS and must offer ALPN "postgresql";
// GSSENCRequest is answered 'N'; a plaintext StartupMessage gets FATAL 28000. Bytes sent
// after an SSLRequest before the answer are refused (the CVE-2021-23214 buffer stuffing).
// The front end then asks for a cleartext password (safe inside TLS), accepts one of up to
// 16 KiB (tokens are 2 to 7 KB), and checks it with Tokens.Authenticate. The role is the
// user name; the binding Directory.GetPrincipal returns for it must carry the token's
// object id. Bindings of type group are refused: Lanyard's tokens carry no group claims.
// The whole handshake, upstream login included, has one deadline.
//
// # Upstream login
//
// The front end logs in to the upstream as the role itself, never as a privileged login
// that switches role (the client could RESET ROLE): with UpstreamCert, Lanyard's CA issues
// a client certificate with CN = role for this one login (pg_hba method cert); with
// UpstreamPassword, it unseals the role's password and pgconn does SCRAM. The client's
// startup parameters (database, application_name, options, ...) go upstream. Once pgconn
// is logged in, the connection is hijacked: the client gets AuthenticationOk, the
// upstream's ParameterStatus messages, a BackendKeyData with a Lanyard-generated process id
// and secret (mapped to the upstream's, so a CancelRequest to the front end cancels the
// upstream query), and ReadyForQuery. From then on bytes are spliced both ways.
//
// Upstream setup (what scripts/pgupstream.sh does):
//
//	# postgresql.conf
//	ssl = on
//	ssl_cert_file = 'server.crt'
//	ssl_key_file = 'server.key'
//	ssl_ca_file = 'lanyard-ca.pem'        # Lanyard's CA (ca.pem in its data directory)
//	# pg_hba.conf: bound roles only with a certificate of Lanyard's CA for their name
//	hostssl all lanyard_admin                  127.0.0.1/32 scram-sha-256
//	hostssl all +azure_ad_user,+azure_ad_admin 127.0.0.1/32 cert
//
// and a login (lanyard_admin above, named in the server's upstream DSN) with CREATEROLE
// and ADMIN OPTION on azure_ad_user and azure_ad_admin, which Roles uses to create and drop
// the bound roles.
//
// # Sessions
//
// Open sessions are registered with their server, role, object id, token id and issue
// time. Every RecheckInterval the front end asks Tokens.Check about each session's token
// (revoked, principal deleted or disabled) and Directory.GetPrincipal about its binding
// (dropped, or bound to another principal or with another admin flag): such sessions are
// ended, with FATAL 57P01 to the client and an audit event, within a second. Azure checks
// only at login. Cancel keys live in the node that holds the session: a CancelRequest
// that reaches another node is ignored, as PostgreSQL ignores a wrong key.
//
// # pgaadauth SQL
//
// Azure's pgaadauth functions and security label provider do not exist in a stock
// PostgreSQL, so the front end recognises the statements instead. Only in sessions whose
// binding is an Entra administrator (Admin) are client messages parsed (pgproto3); other
// sessions are a pure byte splice. A simple Query message whose whole text is one of
//
//	select * from pgaadauth_create_principal('name', isAdmin, isMfa)
//	select * from pgaadauth_create_principal_with_oid('name', 'oid', 'user|group|service', isAdmin, isMfa)
//	select * from pgaadauth_list_principals(isMfa)
//	SECURITY LABEL for "pgaadauth" on role "name" is 'aadauth,oid=<oid>,type=<type>[,admin]'
//
// (case-insensitive, any whitespace, "select f(...)" as well as "select * from f(...)",
// an optional pg_catalog. prefix and trailing semicolon; no comments) is carried out
// through Directory, which creates the role upstream through Roles. The Query is then
// rewritten into SQL the upstream answers in the same session, so that the results,
// errors and ReadyForQuery flow back through the normal splice and the client's protocol
// state stays right:
//
//   - create: SELECT 'Created role for "name"' AS pgaadauth_create_principal (Azure's text);
//   - list: a VALUES list with columns rolname, principaltype, objectid, tenantid, ismfa,
//     isadmin;
//   - SECURITY LABEL: DO $$BEGIN END$$ (command tag DO), after binding the existing role,
//     which must not be a superuser, replication or bypassrls role;
//   - an error: DO $$BEGIN RAISE EXCEPTION USING MESSAGE = '...', ERRCODE = '...'; END$$.
//
// The same text in an extended-protocol Parse message (pgx's default mode) is carried out
// when it is parsed and the Parse rewritten; a client that executes one prepared statement
// several times gets the first answer again (pgx's statement cache does so for the same
// text: use the simple protocol to run one twice). The role is created at once, outside
// the client's transaction (Azure's function runs inside it). isMfa = true is refused: Lanyard's tokens carry no MFA claim. Azure does not
// expose pgaadauth_drop_principal on flexible servers; DROP ROLE and the CLI drop roles.
// In other sessions, and for any other text, the statement goes upstream untouched and fails there as it would on a stock PostgreSQL.
package pgfront
