package pgfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The roles Azure puts Entra principals' roles in; pg_hba.conf lets their members log in
// with a certificate only.
const (
	markerUser  = "azure_ad_user"
	markerAdmin = "azure_ad_admin"
)

// Roles creates and drops the bound roles in a server's upstream over its administrator
// login (the user of PostgresServer.Upstream, with the unsealed SealedUpstreamPassword, or
// a certificate of Lanyard's CA when there is none). It is internal/directory's
// PostgresRoles.
type Roles struct {
	Certificates interface {
		ClientCertificate(name string, now time.Time) (tls.Certificate, error)
	}
	Unsealer interface {
		Unseal(ctx context.Context, sealed []byte) ([]byte, error)
	}
	Now func() time.Time // time.Now when nil
}

type existingRoleKey struct{}

// withExistingRole marks ctx as binding a role that exists already (SECURITY LABEL), for
// CreateRole, which is reached through Directory.CreatePrincipal.
func withExistingRole(ctx context.Context) context.Context {
	return context.WithValue(ctx, existingRoleKey{}, true)
}

// CreateRole creates role as a login in azure_ad_user (and, for an administrator, in
// azure_ad_admin with CREATEROLE and CREATEDB), creating those two NOLOGIN roles when
// missing. With a password (UpstreamPassword servers) the role gets it as a SCRAM verifier
// computed here. It refuses a role that exists, as Azure does; except when binding an
// existing role through SECURITY LABEL, which then must not be a superuser, replication or
// bypassrls role nor the administrator login itself, and is granted the markers (and the
// password).
func (r *Roles) CreateRole(ctx context.Context, s lanyard.PostgresServer, role, password string, admin bool) error {
	if role == "" {
		return lanyard.Errorf(lanyard.KindInvalid, "a role name is required")
	}
	conn, err := r.connect(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	for _, m := range []string{markerUser, markerAdmin} {
		if err := ensureMarker(ctx, conn, m); err != nil {
			return err
		}
	}
	var exists, super, repl, bypass bool
	err = conn.QueryRow(ctx, `SELECT true, rolsuper, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1`, role).Scan(&exists, &super, &repl, &bypass)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgfront: looking up role %q upstream: %w", role, err)
	}
	markers := markerUser
	if admin {
		markers += ", " + markerAdmin
	}
	ident := pgx.Identifier{role}.Sanitize()
	var verifier string
	if password != "" {
		if verifier, err = scramVerifier(password); err != nil {
			return err
		}
	}

	if existing, _ := ctx.Value(existingRoleKey{}).(bool); existing {
		if !exists {
			return lanyard.Errorf(lanyard.KindNotFound, "role %q does not exist", role)
		}
		if super || repl || bypass {
			return lanyard.Errorf(lanyard.KindInvalid, "role %q is a superuser, replication or bypassrls role; it cannot be bound to a Microsoft Entra principal", role)
		}
		if role == conn.Config().User {
			return lanyard.Errorf(lanyard.KindInvalid, "role %q is the login Lanyard manages roles with; it cannot be bound to a Microsoft Entra principal", role)
		}
		if _, err := conn.Exec(ctx, "GRANT "+markers+" TO "+ident); err != nil {
			return upstreamError(role, err)
		}
		if verifier != "" {
			if _, err := conn.Exec(ctx, "ALTER ROLE "+ident+" PASSWORD "+quoteLiteral(verifier)); err != nil {
				return upstreamError(role, err)
			}
		}
		return nil
	}

	if exists {
		return lanyard.Errorf(lanyard.KindConflict, "role %q already exists", role)
	}
	q := "CREATE ROLE " + ident + " LOGIN"
	if admin {
		q += " CREATEROLE CREATEDB"
	}
	q += " IN ROLE " + markers
	if verifier != "" {
		q += " PASSWORD " + quoteLiteral(verifier)
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return upstreamError(role, err)
	}
	return nil
}

// DropRole drops role; a role already gone is not an error.
func (r *Roles) DropRole(ctx context.Context, s lanyard.PostgresServer, role string) error {
	conn, err := r.connect(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
		return upstreamError(role, err)
	}
	return nil
}

// connect logs in as the server's administrator login.
func (r *Roles) connect(ctx context.Context, s lanyard.PostgresServer) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.Upstream)
	if err != nil {
		return nil, fmt.Errorf("pgfront: the upstream connection string of %s: %w", s.ResourceID, err)
	}
	if len(s.SealedUpstreamPassword) > 0 {
		if r.Unsealer == nil {
			return nil, errors.New("pgfront: Roles has no Unsealer")
		}
		pw, err := r.Unsealer.Unseal(ctx, s.SealedUpstreamPassword)
		if err != nil {
			return nil, fmt.Errorf("pgfront: unsealing the upstream password of %s: %w", s.ResourceID, err)
		}
		cfg.Password = string(pw)
	} else {
		if r.Certificates == nil {
			return nil, errors.New("pgfront: Roles has no Certificates")
		}
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		cert, err := r.Certificates.ClientCertificate(cfg.User, now())
		if err != nil {
			return nil, err
		}
		if err := withClientCertificate(&cfg.Config, cert); err != nil {
			return nil, err
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &lanyard.Error{Kind: lanyard.KindUnavailable, Message: fmt.Sprintf("cannot log in to the upstream of %s as its administrator login", s.Name), Err: err}
	}
	return conn, nil
}

// ensureMarker creates the NOLOGIN role m unless it exists; another node creating it at
// the same time is fine.
func ensureMarker(ctx context.Context, conn *pgx.Conn, m string) error {
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, m).Scan(&n); err != nil {
		return fmt.Errorf("pgfront: looking up role %s upstream: %w", m, err)
	}
	if n > 0 {
		return nil
	}
	_, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{m}.Sanitize()+" NOLOGIN")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" { // duplicate_object
		return nil
	}
	if err != nil {
		return upstreamError(m, err)
	}
	return nil
}

// upstreamError gives an upstream error on role a kind.
func upstreamError(role string, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("pgfront: upstream: %w", err)
	}
	k := lanyard.KindInternal
	switch {
	case pgErr.Code == "42710":
		k = lanyard.KindConflict
	case pgErr.Code == "42704":
		k = lanyard.KindNotFound
	case pgErr.Code == "42501":
		k = lanyard.KindPermissionDenied
	case strings.HasPrefix(pgErr.Code, "2B"), strings.HasPrefix(pgErr.Code, "22"), strings.HasPrefix(pgErr.Code, "42"):
		k = lanyard.KindInvalid
	}
	return &lanyard.Error{Kind: k, Message: fmt.Sprintf("the upstream refused the change to role %q: %s", role, pgErr.Message), Err: err}
}

// quoteLiteral quotes s as an SQL string literal that reads the same whatever
// standard_conforming_strings is.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}
