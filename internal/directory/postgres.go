package directory

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store"
)

// PostgresRoles creates and drops roles in a server's upstream, logged in as the server's administrator login.
type PostgresRoles interface {
	CreateRole(ctx context.Context, s lanyard.PostgresServer, role, password string, admin bool) error // password "" in cert mode
	DropRole(ctx context.Context, s lanyard.PostgresServer, role string) error
}

// PostgresChange tells the front end what to catch up with.
type PostgresChange struct {
	// Servers are the resource ids of servers created, updated or deleted: their listeners
	// must follow.
	Servers []string
	// Dropped are bindings removed, alone or with their server: their sessions must end.
	Dropped []lanyard.PostgresPrincipal
}

// postgresSealContext is the additional data every PostgreSQL secret is sealed with, so
// that a sealed password cannot be passed off as another kind of sealed value.
var postgresSealContext = []byte("lanyard postgres secret")

// Postgres manages PostgreSQL servers (Microsoft.DBforPostgreSQL/flexibleServers), their
// Entra administrators and the roles bound to principals: the management side of
// passwordless PostgreSQL. The front end reads the bindings through it too. Upstream
// roles are created first and bound after, so a failed CREATE ROLE leaves no binding.
type Postgres struct {
	Directory *Service
	// Sealer seals the upstream administrator's password and the roles' passwords.
	Sealer *seal.Sealer
	// Roles creates and drops roles upstream; nil (no front end wired) refuses every
	// change that needs the upstream, as Unavailable.
	Roles PostgresRoles
	// FreeAddress picks a listen address for a server created without one.
	FreeAddress func() (string, error)
}

// PostgresServerSpec is what a PUT of a server says.
type PostgresServerSpec struct {
	Location string
	Tags     map[string]string
	// Upstream is the upstream's connection string, with the administrator login and
	// perhaps its password; "" on an existing server keeps the upstream.
	Upstream string
	// Listen is host:port; "" picks a free loopback port for a new server and keeps an
	// existing server's.
	Listen string
	// UpstreamAuth is how bound roles log in upstream; "" is cert when Upstream has no
	// password, password otherwise.
	UpstreamAuth lanyard.PostgresUpstreamAuth
}

var postgresServerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

func checkPostgresServerName(name string) error {
	if !postgresServerName.MatchString(name) {
		return lanyard.Errorf(lanyard.KindInvalid,
			"Server name '%s' is invalid: use 3-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen.", clip(name)).
			WithCode("InvalidParameter")
	}
	return nil
}

func postgresServerNotFound(group, name string) error {
	return lanyard.Errorf(lanyard.KindNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found.", lanyard.TypePostgresServer, clip(name), clip(group)).
		WithCode("ResourceNotFound")
}

func (p *Postgres) store() store.Store { return p.Directory.store }

func (p *Postgres) serverID(group, name string) string {
	return lanyard.ResourceIDOf(p.Directory.tenant.SubscriptionID, group, lanyard.TypePostgresServer, name)
}

func (p *Postgres) changed(c PostgresChange) {
	if h := p.Directory.OnPostgresChange; h != nil && (len(c.Servers) > 0 || len(c.Dropped) > 0) {
		h(c)
	}
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 || len(addr) > 300 {
		return lanyard.Errorf(lanyard.KindInvalid, "The listen address '%s' is invalid: use host:port, e.g. 127.0.0.1:6432.", clip(addr)).
			WithCode("InvalidParameter")
	}
	return nil
}

func checkUpstreamAuth(a lanyard.PostgresUpstreamAuth) error {
	if a != lanyard.UpstreamCert && a != lanyard.UpstreamPassword {
		return lanyard.Errorf(lanyard.KindInvalid, "The upstream authentication '%s' is invalid: use cert or password.", clip(string(a))).
			WithCode("InvalidParameter")
	}
	return nil
}

// upstreamConfig applies spec's upstream to srv: the connection string without its
// secret, the secret sealed, and how roles log in.
func (p *Postgres) upstreamConfig(srv *lanyard.PostgresServer, spec PostgresServerSpec) error {
	d, err := splitUpstream(spec.Upstream)
	if err != nil {
		return err
	}
	auth := spec.UpstreamAuth
	if auth == "" {
		auth = lanyard.UpstreamCert
		if d.password != "" {
			auth = lanyard.UpstreamPassword
		}
	}
	if err := checkUpstreamAuth(auth); err != nil {
		return err
	}
	srv.Upstream, srv.UpstreamAuth, srv.SealedUpstreamPassword = d.withoutSecret, auth, nil
	if d.password != "" {
		if p.Sealer == nil {
			return lanyard.Errorf(lanyard.KindUnavailable, "Lanyard cannot seal the upstream password.").WithCode("ServiceUnavailable")
		}
		srv.SealedUpstreamPassword = p.Sealer.Seal([]byte(d.password), postgresSealContext)
	}
	return nil
}

// PutServer creates server name in group, or updates an existing one: its tags, and its
// upstream and listen address when spec gives them. Server names are global: one taken in
// another group is refused. It reports whether it created.
func (p *Postgres) PutServer(ctx context.Context, group, name string, spec PostgresServerSpec) (lanyard.PostgresServer, bool, error) {
	if err := checkPostgresServerName(name); err != nil {
		return lanyard.PostgresServer{}, false, err
	}
	if spec.Listen != "" {
		if err := checkListen(spec.Listen); err != nil {
			return lanyard.PostgresServer{}, false, err
		}
	}
	if spec.UpstreamAuth != "" {
		if err := checkUpstreamAuth(spec.UpstreamAuth); err != nil {
			return lanyard.PostgresServer{}, false, err
		}
	}
	// A picked address may be one another node's server holds: pick again.
	for attempt := 0; ; attempt++ {
		out, created, err := p.putServer(ctx, group, name, spec)
		if lanyard.CodeOf(err) == "ListenAddressInUse" && spec.Listen == "" && attempt < 3 {
			continue
		}
		return out, created, err
	}
}

func (p *Postgres) freeAddress() (string, error) {
	if p.FreeAddress == nil {
		return "", lanyard.Errorf(lanyard.KindInvalid, "Give the server a listen address.").WithCode("InvalidParameter")
	}
	addr, err := p.FreeAddress()
	if err != nil {
		return "", lanyard.Errorf(lanyard.KindUnavailable, "No free address to listen on: %v", err).WithCode("ServiceUnavailable")
	}
	return addr, nil
}

func (p *Postgres) putServer(ctx context.Context, group, name string, spec PostgresServerSpec) (lanyard.PostgresServer, bool, error) {
	out, created, err := putInGroup(ctx, p.Directory, group,
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.PostgresServer, error) {
			return tx.GetPostgresServer(ctx, p.serverID(g.Name, name))
		},
		func(tx store.Store, _ lanyard.ResourceGroup, existing lanyard.PostgresServer) (lanyard.PostgresServer, error) {
			var cfg lanyard.PostgresServer
			if spec.Upstream != "" {
				if err := p.upstreamConfig(&cfg, spec); err != nil {
					return existing, err
				}
			}
			auth := existing.UpstreamAuth
			if spec.Upstream != "" {
				auth = cfg.UpstreamAuth
			} else if spec.UpstreamAuth != "" {
				auth = spec.UpstreamAuth
			}
			if auth != existing.UpstreamAuth {
				// Roles bound in one mode cannot log in in the other (a role made for
				// certificates has no password to give).
				bound, err := tx.ListPostgresPrincipals(ctx, existing.ResourceID)
				if err != nil {
					return existing, err
				}
				if len(bound) > 0 {
					return existing, lanyard.Errorf(lanyard.KindConflict,
						"The server has %d bound roles, made for upstream authentication %s; delete them before changing it to %s.", len(bound), existing.UpstreamAuth, auth).
						WithCode("Conflict")
				}
			}
			return tx.UpdatePostgresServer(ctx, existing.ResourceID, func(old lanyard.PostgresServer) (lanyard.PostgresServer, error) {
				p.Directory.retag(&old.Tags, &old.UpdatedAt, spec.Tags)
				if spec.Listen != "" {
					old.Listen = spec.Listen
				}
				if spec.Upstream != "" {
					old.Upstream, old.SealedUpstreamPassword = cfg.Upstream, cfg.SealedUpstreamPassword
				}
				old.UpstreamAuth = auth
				return old, nil
			})
		},
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.PostgresServer, error) {
			if spec.Upstream == "" {
				return lanyard.PostgresServer{}, lanyard.Errorf(lanyard.KindInvalid, "A new server needs an upstream connection string.").WithCode("InvalidParameter")
			}
			now := p.Directory.clock()
			srv := lanyard.PostgresServer{
				ResourceID: p.serverID(g.Name, name), ResourceGroup: g.Name, Name: name,
				Location: cmp.Or(spec.Location, g.Location), Tags: spec.Tags, Listen: spec.Listen,
				CreatedAt: now, UpdatedAt: now,
			}
			if err := p.upstreamConfig(&srv, spec); err != nil {
				return srv, err
			}
			if srv.Listen == "" {
				var err error
				if srv.Listen, err = p.freeAddress(); err != nil {
					return srv, err
				}
			}
			return srv, tx.CreatePostgresServer(ctx, srv)
		})
	if err == nil {
		p.changed(PostgresChange{Servers: []string{out.ResourceID}})
	}
	return out, created, err
}

// UpdateServerTags replaces the tags of an existing server (ARM's PATCH).
func (p *Postgres) UpdateServerTags(ctx context.Context, group, name string, tags map[string]string) (lanyard.PostgresServer, error) {
	srv, err := p.store().UpdatePostgresServer(ctx, p.serverID(group, name), func(old lanyard.PostgresServer) (lanyard.PostgresServer, error) {
		p.Directory.retag(&old.Tags, &old.UpdatedAt, tags)
		return old, nil
	})
	if lanyard.IsNotFound(err) {
		return srv, postgresServerNotFound(group, name)
	}
	return srv, err
}

// GetServer returns server name of group; one of that name in another group is not found.
func (p *Postgres) GetServer(ctx context.Context, group, name string) (lanyard.PostgresServer, error) {
	srv, err := p.store().GetPostgresServer(ctx, p.serverID(group, name))
	if lanyard.IsNotFound(err) {
		return srv, postgresServerNotFound(group, name)
	}
	return srv, err
}

// ListServers returns every server, for the front end.
func (p *Postgres) ListServers(ctx context.Context) ([]lanyard.PostgresServer, error) {
	return p.store().ListPostgresServers(ctx)
}

// ListServersPage lists up to limit servers in group ("" for all groups) whose resource
// ids sort after after (compared case-insensitively; "" for the first page), ordered by
// resource id as store.PostgresServers.ListPostgresServersPage orders them. A missing
// group is NotFound.
func (p *Postgres) ListServersPage(ctx context.Context, group, after string, limit int) ([]lanyard.PostgresServer, error) {
	if err := p.Directory.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return p.store().ListPostgresServersPage(ctx, group, after, limit)
}

// DeleteServer deletes server name of group and its bindings. Nothing is dropped upstream:
// the upstream is the user's, and its roles may own data.
func (p *Postgres) DeleteServer(ctx context.Context, group, name string) error {
	var (
		srv     lanyard.PostgresServer
		dropped []lanyard.PostgresPrincipal
		removed []string
	)
	err := p.store().InTx(ctx, func(tx store.Store) error {
		var err error
		srv, err = tx.GetPostgresServer(ctx, p.serverID(group, name))
		if lanyard.IsNotFound(err) {
			return postgresServerNotFound(group, name)
		}
		if err != nil {
			return err
		}
		if dropped, err = tx.ListPostgresPrincipals(ctx, srv.ResourceID); err != nil {
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, srv.ResourceID); err != nil {
			return err
		}
		return tx.DeletePostgresServer(ctx, srv.ResourceID)
	})
	if err != nil {
		return err
	}
	p.Directory.assignmentsRemoved(removed)
	p.changed(PostgresChange{Servers: []string{srv.ResourceID}, Dropped: dropped})
	return nil
}

// deletePostgresServersOf deletes the servers of group inside tx (the group is going),
// returning what the front end must forget.
func deletePostgresServersOf(ctx context.Context, tx store.Store, group string) (PostgresChange, error) {
	const page = 1000
	var c PostgresChange
	for {
		// Each page starts over: the previous one is deleted.
		srvs, err := tx.ListPostgresServersPage(ctx, group, "", page)
		if err != nil {
			return c, fmt.Errorf("list postgres servers: %w", err)
		}
		for _, srv := range srvs {
			ps, err := tx.ListPostgresPrincipals(ctx, srv.ResourceID)
			if err != nil {
				return c, fmt.Errorf("list postgres principals: %w", err)
			}
			if err := tx.DeletePostgresServer(ctx, srv.ResourceID); err != nil {
				return c, fmt.Errorf("delete postgres server: %w", err)
			}
			c.Servers, c.Dropped = append(c.Servers, srv.ResourceID), append(c.Dropped, ps...)
		}
		if len(srvs) < page {
			return c, nil
		}
	}
}

// Principals.

// maxRoleLength is PostgreSQL's NAMEDATALEN - 1: longer names are truncated there, so two
// bindings could name one role.
const maxRoleLength = 63

func checkRole(role string) error {
	if role == "" || len(role) > maxRoleLength || !utf8.ValidString(role) || strings.ContainsRune(role, 0) {
		return lanyard.Errorf(lanyard.KindInvalid, "The role name '%s' is invalid: use 1-63 bytes of UTF-8 text.", clip(role)).WithCode("InvalidParameter")
	}
	return nil
}

func checkPrincipalType(t lanyard.PostgresPrincipalType) error {
	switch t {
	case lanyard.PostgresUser, lanyard.PostgresGroup, lanyard.PostgresService:
		return nil
	}
	return lanyard.Errorf(lanyard.KindInvalid, "The principal type '%s' is invalid: use user, group or service.", clip(string(t))).WithCode("InvalidParameter")
}

func rolesUnavailable() error {
	return lanyard.Errorf(lanyard.KindUnavailable, "No PostgreSQL front end is running to create and drop roles upstream.").WithCode("ServiceUnavailable")
}

// upstreamErr gives an error of PostgresRoles a kind: its own if it has one, Unavailable
// otherwise (the upstream refused or cannot be reached).
func upstreamErr(what string, err error) error {
	var le *lanyard.Error
	if errors.As(err, &le) {
		return err
	}
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: "UpstreamFailed",
		Message: fmt.Sprintf("The upstream PostgreSQL could not %s: %s", what, lanyard.Clip(err.Error(), 300)), Err: err}
}

func (p *Postgres) server(ctx context.Context, serverID string) (lanyard.PostgresServer, error) {
	srv, err := p.store().GetPostgresServer(ctx, serverID)
	if lanyard.IsNotFound(err) {
		return srv, lanyard.Errorf(lanyard.KindNotFound, "The PostgreSQL server '%s' was not found.", lanyard.Clip(serverID, 300)).WithCode("ResourceNotFound")
	}
	return srv, err
}

func principalNotFound(role string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The role '%s' is not bound to a principal on the server.", clip(role)).WithCode("ResourceNotFound")
}

// GetPrincipal returns the binding of role on the server (role compared exactly).
func (p *Postgres) GetPrincipal(ctx context.Context, serverID, role string) (lanyard.PostgresPrincipal, error) {
	b, err := p.store().GetPostgresPrincipal(ctx, serverID, role)
	if lanyard.IsNotFound(err) {
		if _, serr := p.server(ctx, serverID); serr != nil {
			return b, serr
		}
		return b, principalNotFound(role)
	}
	return b, err
}

// ListPrincipals lists the server's bindings by role; a missing server is NotFound.
func (p *Postgres) ListPrincipals(ctx context.Context, serverID string) ([]lanyard.PostgresPrincipal, error) {
	if _, err := p.server(ctx, serverID); err != nil {
		return nil, err
	}
	return p.store().ListPostgresPrincipals(ctx, serverID)
}

// CreatePrincipal creates role upstream and binds it to objectID, as
// pgaadauth_create_principal_with_oid does on Azure. objectID "" binds the principal
// Lanyard knows by the name role: a user-assigned identity, or an app's system-assigned
// identity (pgaadauth_create_principal). typ "" is service. With password upstream
// authentication the role gets a random password, kept sealed.
func (p *Postgres) CreatePrincipal(ctx context.Context, serverID, role, objectID string, typ lanyard.PostgresPrincipalType, admin bool) (lanyard.PostgresPrincipal, error) {
	if err := checkRole(role); err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	typ = cmp.Or(typ, lanyard.PostgresService)
	if err := checkPrincipalType(typ); err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	srv, err := p.server(ctx, serverID)
	if err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	if objectID == "" {
		id, err := p.identityNamed(ctx, role)
		if err != nil {
			return lanyard.PostgresPrincipal{}, err
		}
		objectID = id.PrincipalID
	} else if uuid.Validate(objectID) != nil {
		return lanyard.PostgresPrincipal{}, lanyard.Errorf(lanyard.KindInvalid, "The object id '%s' is not a GUID.", clip(objectID)).WithCode("InvalidParameter")
	}
	return p.bind(ctx, srv, lanyard.PostgresPrincipal{ServerID: srv.ResourceID, Role: role, ObjectID: guid(objectID), Type: typ, Admin: admin})
}

// bind creates b's role upstream and then stores b; if storing fails the role is dropped
// again, so a binding exists only for a role that does.
func (p *Postgres) bind(ctx context.Context, srv lanyard.PostgresServer, b lanyard.PostgresPrincipal) (lanyard.PostgresPrincipal, error) {
	if p.Roles == nil {
		return b, rolesUnavailable()
	}
	// Refuse a bound role before touching the upstream: dropping it again after a
	// conflict would drop the bound principal's role.
	if _, err := p.store().GetPostgresPrincipal(ctx, srv.ResourceID, b.Role); err == nil {
		return b, lanyard.Errorf(lanyard.KindConflict, "The role '%s' is already bound on the server.", clip(b.Role)).WithCode("Conflict")
	} else if !lanyard.IsNotFound(err) {
		return b, err
	}
	if b.Admin {
		if existing, err := p.adminOf(ctx, srv.ResourceID, b.ObjectID); err == nil {
			return b, lanyard.Errorf(lanyard.KindConflict, "The principal '%s' already is an administrator of the server, as role '%s'.", b.ObjectID, clip(existing.Role)).WithCode("Conflict")
		} else if !lanyard.IsNotFound(err) {
			return b, err
		}
	}
	password := ""
	if srv.UpstreamAuth == lanyard.UpstreamPassword {
		if p.Sealer == nil {
			return b, lanyard.Errorf(lanyard.KindUnavailable, "Lanyard cannot seal the role's password.").WithCode("ServiceUnavailable")
		}
		secret := make([]byte, 32)
		_, _ = rand.Read(secret) // never fails
		password = base64.RawURLEncoding.EncodeToString(secret)
		b.SealedPassword = p.Sealer.Seal([]byte(password), postgresSealContext)
	}
	b.CreatedAt = p.Directory.clock()
	if err := p.Roles.CreateRole(ctx, srv, b.Role, password, b.Admin); err != nil {
		return lanyard.PostgresPrincipal{}, upstreamErr("create role '"+clip(b.Role)+"'", err)
	}
	if err := p.store().CreatePostgresPrincipal(ctx, b); err != nil {
		// The caller may have gone: drop the role anyway, briefly.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := p.Roles.DropRole(dctx, srv, b.Role); derr != nil {
			return lanyard.PostgresPrincipal{}, fmt.Errorf("%w (and the role created upstream could not be dropped again: %w)", err, derr)
		}
		return lanyard.PostgresPrincipal{}, err
	}
	return b, nil
}

// identityNamed finds the one identity Lanyard knows by name (compared
// case-insensitively, as Azure resource names are): a user-assigned identity in any group,
// or an app's system-assigned identity.
func (p *Postgres) identityNamed(ctx context.Context, name string) (lanyard.Identity, error) {
	var found []lanyard.Identity
	for _, k := range []lanyard.IdentityKind{lanyard.UserAssigned, lanyard.SystemAssigned} {
		ids, err := p.store().ListIdentities(ctx, k, "")
		if err != nil {
			return lanyard.Identity{}, err
		}
		for _, id := range ids {
			if lanyard.SameName(id.Name, name) {
				found = append(found, id)
			}
		}
	}
	switch len(found) {
	case 0:
		return lanyard.Identity{}, lanyard.Errorf(lanyard.KindNotFound,
			"No identity or app is named '%s'; bind the role to an object id instead.", clip(name)).WithCode("PrincipalNotFound")
	case 1:
		return found[0], nil
	}
	var ids []string
	for _, id := range found {
		ids = append(ids, id.ResourceID)
	}
	slices.Sort(ids)
	return lanyard.Identity{}, lanyard.Errorf(lanyard.KindInvalid,
		"%d principals are named '%s' (%s); bind the role to an object id instead.", len(found), clip(name), clip(strings.Join(ids, ", "))).
		WithCode("AmbiguousPrincipal")
}

// DropPrincipal drops role upstream and then its binding, as DROP ROLE would: a role
// PostgreSQL refuses to drop (it owns objects) keeps its binding.
func (p *Postgres) DropPrincipal(ctx context.Context, serverID, role string) error {
	srv, err := p.server(ctx, serverID)
	if err != nil {
		return err
	}
	b, err := p.GetPrincipal(ctx, serverID, role)
	if err != nil {
		return err
	}
	return p.drop(ctx, srv, b)
}

func (p *Postgres) drop(ctx context.Context, srv lanyard.PostgresServer, b lanyard.PostgresPrincipal) error {
	if p.Roles == nil {
		return rolesUnavailable()
	}
	if err := p.Roles.DropRole(ctx, srv, b.Role); err != nil {
		return upstreamErr("drop role '"+clip(b.Role)+"'", err)
	}
	if err := p.store().DeletePostgresPrincipal(ctx, srv.ResourceID, b.Role); err != nil && !lanyard.IsNotFound(err) {
		return err
	}
	p.changed(PostgresChange{Dropped: []lanyard.PostgresPrincipal{b}})
	return nil
}

// Unseal opens a secret sealed by this service: an upstream administrator's password or a
// role's.
func (p *Postgres) Unseal(_ context.Context, sealed []byte) ([]byte, error) {
	if p.Sealer == nil {
		return nil, errors.New("directory: no sealer for PostgreSQL secrets")
	}
	b, err := p.Sealer.Open(sealed, postgresSealContext)
	if err != nil {
		return nil, fmt.Errorf("directory: unseal postgres secret: %w", err)
	}
	return b, nil
}

// Administrators: Microsoft.DBforPostgreSQL/flexibleServers/administrators/{objectId}.

func adminNotFound(objectID string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The principal '%s' is not an administrator of the server.", clip(objectID)).WithCode("ResourceNotFound")
}

func (p *Postgres) adminOf(ctx context.Context, serverID, objectID string) (lanyard.PostgresPrincipal, error) {
	bs, err := p.store().ListPostgresPrincipals(ctx, serverID)
	if err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	for _, b := range bs {
		if b.Admin && strings.EqualFold(b.ObjectID, objectID) {
			return b, nil
		}
	}
	return lanyard.PostgresPrincipal{}, adminNotFound(objectID)
}

// PutAdmin makes the identity with principal id objectID an Entra administrator of the
// server: it creates its role upstream (named principalName, or the identity's name when
// "") as an administrator and binds it. An existing administrator is left as it is,
// unless principalName names another role (Conflict). It reports whether it created.
func (p *Postgres) PutAdmin(ctx context.Context, serverID, objectID, principalName string) (lanyard.PostgresPrincipal, bool, error) {
	srv, err := p.server(ctx, serverID)
	if err != nil {
		return lanyard.PostgresPrincipal{}, false, err
	}
	id, err := p.Directory.Principal(ctx, objectID)
	if err != nil {
		return lanyard.PostgresPrincipal{}, false, err
	}
	role := cmp.Or(principalName, id.Name)
	if existing, err := p.adminOf(ctx, srv.ResourceID, id.PrincipalID); err == nil {
		if existing.Role != role {
			return existing, false, lanyard.Errorf(lanyard.KindConflict,
				"The principal '%s' already is an administrator of the server, as role '%s'.", id.PrincipalID, clip(existing.Role)).WithCode("Conflict")
		}
		return existing, false, nil
	} else if !lanyard.IsNotFound(err) {
		return existing, false, err
	}
	if err := checkRole(role); err != nil {
		return lanyard.PostgresPrincipal{}, false, err
	}
	b, err := p.bind(ctx, srv, lanyard.PostgresPrincipal{ServerID: srv.ResourceID, Role: role, ObjectID: id.PrincipalID, Type: lanyard.PostgresService, Admin: true})
	return b, err == nil, err
}

// GetAdmin returns the administrator objectID of the server.
func (p *Postgres) GetAdmin(ctx context.Context, serverID, objectID string) (lanyard.PostgresPrincipal, error) {
	if _, err := p.server(ctx, serverID); err != nil {
		return lanyard.PostgresPrincipal{}, err
	}
	return p.adminOf(ctx, serverID, objectID)
}

// ListAdmins lists the server's administrators by role.
func (p *Postgres) ListAdmins(ctx context.Context, serverID string) ([]lanyard.PostgresPrincipal, error) {
	bs, err := p.ListPrincipals(ctx, serverID)
	return slices.DeleteFunc(bs, func(b lanyard.PostgresPrincipal) bool { return !b.Admin }), err
}

// DeleteAdmin drops the administrator's role upstream and its binding.
func (p *Postgres) DeleteAdmin(ctx context.Context, serverID, objectID string) error {
	srv, err := p.server(ctx, serverID)
	if err != nil {
		return err
	}
	b, err := p.adminOf(ctx, serverID, objectID)
	if err != nil {
		return err
	}
	return p.drop(ctx, srv, b)
}
