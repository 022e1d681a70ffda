package lanyard

import "time"

// OSSRDBMSResource is the resource apps ask tokens for to log in to Azure Database for
// PostgreSQL with Microsoft Entra authentication; the token is sent as the password.
const OSSRDBMSResource = "https://ossrdbms-aad.database.windows.net"

// PostgresUpstreamAuth says how the front end logs in to the upstream PostgreSQL as a
// bound role. Either way the session is the role itself, never a privileged login that
// switches role (the client could switch back).
type PostgresUpstreamAuth string

const (
	// UpstreamCert: Lanyard's CA issues a short-lived client certificate for the role on
	// each connection, and the upstream checks it (pg_hba method cert).
	UpstreamCert PostgresUpstreamAuth = "cert"
	// UpstreamPassword: each bound role has a random password that Lanyard set in the
	// upstream (stored there as SCRAM) and keeps sealed, for upstreams that cannot trust
	// a client CA.
	UpstreamPassword PostgresUpstreamAuth = "password"
)

// PostgresServer is a Microsoft.DBforPostgreSQL/flexibleServers resource: a front end that
// listens on Listen, logs principals in with their tokens as bound roles, and connects
// them to an upstream PostgreSQL that the user runs.
type PostgresServer struct {
	ResourceID    string
	ResourceGroup string
	Name          string // unique across groups, as a server's DNS name is on Azure
	Location      string
	Tags          map[string]string
	Listen        string // host:port the front end listens on
	// Upstream is the upstream's connection string without its secret: host, port,
	// database, TLS settings, and the administrator login Lanyard creates and drops the
	// roles of Entra administrators with.
	Upstream     string
	UpstreamAuth PostgresUpstreamAuth
	// SealedUpstreamPassword is that administrator login's password, sealed with the
	// key-encryption key; nil when it logs in with a certificate.
	SealedUpstreamPassword []byte
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// PostgresPrincipalType is the type pgaadauth records with a binding.
type PostgresPrincipalType string

const (
	PostgresUser    PostgresPrincipalType = "user"
	PostgresGroup   PostgresPrincipalType = "group"
	PostgresService PostgresPrincipalType = "service"
)

// PostgresPrincipal binds a role of a server to a principal's object id, as pgaadauth's
// security label does on Azure: only a token whose oid is ObjectID logs in as Role, so a
// principal deleted and re-created with the same name cannot use the old role.
type PostgresPrincipal struct {
	ServerID string // the server's resource id
	Role     string // compared exactly, as PostgreSQL compares role names
	ObjectID string
	Type     PostgresPrincipalType
	// Admin marks an Entra administrator of the server
	// (Microsoft.DBforPostgreSQL/flexibleServers/administrators/{objectId}).
	Admin bool
	// SealedPassword is the role's upstream password with UpstreamPassword, sealed; nil
	// with UpstreamCert.
	SealedPassword []byte
	CreatedAt      time.Time
}
