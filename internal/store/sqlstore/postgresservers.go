package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// PostgreSQL servers (Microsoft.DBforPostgreSQL/flexibleServers) and their principals.

const postgresServerColumns = "p.resource_id, p.name, p.resource_group, p.location, p.tags, p.listen, p.upstream, p.upstream_auth, p.sealed_upstream_password, p.created_at, p.updated_at"

func scanPostgresServer(r rowScanner) (lanyard.PostgresServer, error) {
	var (
		p                lanyard.PostgresServer
		tags, auth       string
		created, updated int64
	)
	if err := r.Scan(&p.ResourceID, &p.Name, &p.ResourceGroup, &p.Location, &tags, &p.Listen, &p.Upstream, &auth,
		&p.SealedUpstreamPassword, &created, &updated); err != nil {
		return p, err
	}
	var err error
	if p.Tags, err = decodeTags(tags); err != nil {
		return p, err
	}
	if len(p.SealedUpstreamPassword) == 0 {
		p.SealedUpstreamPassword = nil
	}
	p.UpstreamAuth = lanyard.PostgresUpstreamAuth(auth)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func postgresServerNotFound(id string) error {
	return notFound("ResourceNotFound", "The PostgreSQL server '%s' was not found.", lanyard.Clip(id, 300))
}

func (s *Store) CreatePostgresServer(ctx context.Context, p lanyard.PostgresServer) error {
	err := s.inTx(ctx, func(tx *Store) error {
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM postgres_servers WHERE name_key = ?", key(p.Name)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return lanyard.Errorf(lanyard.KindConflict, "The server name %s is already in use.", lanyard.Clip(p.Name, 100)).WithCode("ServerNameAlreadyExists")
		}
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM postgres_servers WHERE listen_key = ?", key(p.Listen)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return listenInUse(p.Listen)
		}
		tags, err := encodeTags(p.Tags)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO postgres_servers (resource_id_key, resource_id, name_key, name, resource_group, resource_group_key,
	location, tags, listen_key, listen, upstream, upstream_auth, sealed_upstream_password, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(p.ResourceID), p.ResourceID, key(p.Name), p.Name, p.ResourceGroup, key(p.ResourceGroup), p.Location, tags,
			key(p.Listen), p.Listen, p.Upstream, string(p.UpstreamAuth), nullBlob(p.SealedUpstreamPassword), micros(p.CreatedAt), micros(p.UpdatedAt))
		return err
	})
	if err != nil && s.d.isUniqueViolation(err) {
		// A racing creator took the name or the address: say which.
		var n int
		if qerr := s.queryRow(ctx, "SELECT COUNT(*) FROM postgres_servers WHERE name_key = ?", key(p.Name)).Scan(&n); qerr == nil && n == 0 {
			return &lanyard.Error{Kind: lanyard.KindConflict, Code: "ListenAddressInUse", Message: listenInUse(p.Listen).Message, Err: err}
		}
	}
	return s.wrapErrCode("create postgres server", err, "ServerNameAlreadyExists",
		fmt.Sprintf("The server name %s is already in use.", lanyard.Clip(p.Name, 100)))
}

func listenInUse(addr string) *lanyard.Error {
	return lanyard.Errorf(lanyard.KindConflict, "Another server listens on %s.", lanyard.Clip(addr, 100)).WithCode("ListenAddressInUse")
}

func (s *Store) getPostgresServer(ctx context.Context, id string, lock bool) (lanyard.PostgresServer, error) {
	q := "SELECT " + postgresServerColumns + " FROM postgres_servers p WHERE p.resource_id_key = ?"
	if lock {
		q += s.d.lockRows("p")
	}
	p, err := scanPostgresServer(s.queryRow(ctx, q, key(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return p, postgresServerNotFound(id)
	}
	return p, err
}

func (s *Store) GetPostgresServer(ctx context.Context, resourceID string) (lanyard.PostgresServer, error) {
	p, err := s.getPostgresServer(ctx, resourceID, false)
	return p, s.wrapErr("get postgres server", err, "")
}

func (s *Store) ListPostgresServers(ctx context.Context) ([]lanyard.PostgresServer, error) {
	rows, err := s.query(ctx, "SELECT "+postgresServerColumns+" FROM postgres_servers p ORDER BY p.resource_id_key")
	if err != nil {
		return nil, s.wrapErr("list postgres servers", err, "")
	}
	defer rows.Close()
	var ps []lanyard.PostgresServer
	for rows.Next() {
		p, err := scanPostgresServer(rows)
		if err != nil {
			return nil, s.wrapErr("list postgres servers", err, "")
		}
		ps = append(ps, p)
	}
	return ps, s.wrapErr("list postgres servers", rows.Err(), "")
}

// ListPostgresServersPage implements store.PostgresServers, by keyset on the primary key
// (the resource id), with the group in the query.
func (s *Store) ListPostgresServersPage(ctx context.Context, group, after string, limit int) ([]lanyard.PostgresServer, error) {
	if limit < 1 {
		return nil, nil
	}
	q := "SELECT " + postgresServerColumns + " FROM postgres_servers p WHERE p.resource_id_key > ?"
	args := []any{key(after)}
	if group != "" {
		q += " AND p.resource_group_key = ?"
		args = append(args, key(group))
	}
	return queryPage(ctx, s, "list postgres servers", limit, scanPostgresServer, q+" ORDER BY p.resource_id_key LIMIT ?", append(args, limit)...)
}

func (s *Store) UpdatePostgresServer(ctx context.Context, resourceID string, fn func(lanyard.PostgresServer) (lanyard.PostgresServer, error)) (lanyard.PostgresServer, error) {
	var out lanyard.PostgresServer
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getPostgresServer(ctx, resourceID, true)
		if err != nil {
			return err
		}
		p, err := fn(cur)
		if err != nil {
			return err
		}
		if key(p.ResourceID) != key(cur.ResourceID) || key(p.Name) != key(cur.Name) {
			return fmt.Errorf("sqlstore: update postgres server %q: the updater renamed it to %q", cur.ResourceID, p.ResourceID)
		}
		if key(p.Listen) != key(cur.Listen) {
			var n int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM postgres_servers WHERE listen_key = ?", key(p.Listen)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return listenInUse(p.Listen)
			}
		}
		tags, err := encodeTags(p.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE postgres_servers SET resource_id = ?, name = ?, resource_group = ?, resource_group_key = ?, location = ?,
	tags = ?, listen_key = ?, listen = ?, upstream = ?, upstream_auth = ?, sealed_upstream_password = ?, created_at = ?, updated_at = ?
	WHERE resource_id_key = ?`,
			p.ResourceID, p.Name, p.ResourceGroup, key(p.ResourceGroup), p.Location, tags, key(p.Listen), p.Listen, p.Upstream,
			string(p.UpstreamAuth), nullBlob(p.SealedUpstreamPassword), micros(p.CreatedAt), micros(p.UpdatedAt), key(cur.ResourceID)); err != nil {
			return err
		}
		out, err = tx.getPostgresServer(ctx, cur.ResourceID, false)
		return err
	})
	return out, s.wrapErrCode("update postgres server", err, "ListenAddressInUse", "Another server listens on that address.")
}

func (s *Store) DeletePostgresServer(ctx context.Context, resourceID string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return postgresServerNotFound(resourceID) },
			"DELETE FROM postgres_servers WHERE resource_id_key = ?", key(resourceID))
	})
	return s.wrapErr("delete postgres server", err, "")
}

// Principals.

// Principals are read joined with their server, whose id the table keeps only as a key:
// one query, no transaction, on every login the front end checks.
const (
	postgresPrincipalColumns = "p.resource_id, b.role, b.object_id, b.type, b.admin, b.sealed_password, b.created_at"
	postgresPrincipalFrom    = " FROM postgres_principals b JOIN postgres_servers p ON p.resource_id_key = b.server_id_key"
)

func scanPostgresPrincipal(r rowScanner) (lanyard.PostgresPrincipal, error) {
	var (
		p       lanyard.PostgresPrincipal
		typ     string
		created int64
	)
	if err := r.Scan(&p.ServerID, &p.Role, &p.ObjectID, &typ, &p.Admin, &p.SealedPassword, &created); err != nil {
		return p, err
	}
	if len(p.SealedPassword) == 0 {
		p.SealedPassword = nil
	}
	p.Type = lanyard.PostgresPrincipalType(typ)
	p.CreatedAt = fromMicros(created)
	return p, nil
}

func postgresPrincipalNotFound(role string) error {
	return notFound("ResourceNotFound", "The role '%s' is not bound on the PostgreSQL server.", lanyard.Clip(role, 100))
}

func (s *Store) CreatePostgresPrincipal(ctx context.Context, p lanyard.PostgresPrincipal) error {
	err := s.inTx(ctx, func(tx *Store) error {
		if _, err := tx.getPostgresServer(ctx, p.ServerID, true); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM postgres_principals WHERE server_id_key = ? AND role = ?", key(p.ServerID), p.Role).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return lanyard.Errorf(lanyard.KindConflict, "The role '%s' is already bound on the server.", lanyard.Clip(p.Role, 100)).WithCode("Conflict")
		}
		if p.Admin {
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM postgres_principals WHERE server_id_key = ? AND object_id_key = ? AND admin",
				key(p.ServerID), key(p.ObjectID)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return lanyard.Errorf(lanyard.KindConflict, "The principal '%s' already is an administrator of the server.", lanyard.Clip(p.ObjectID, 100)).WithCode("Conflict")
			}
		}
		_, err := tx.exec(ctx, `INSERT INTO postgres_principals (server_id_key, role, object_id, object_id_key, type, admin, sealed_password, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			key(p.ServerID), p.Role, p.ObjectID, key(p.ObjectID), string(p.Type), p.Admin, nullBlob(p.SealedPassword), micros(p.CreatedAt))
		return err
	})
	return s.wrapErrCode("create postgres principal", err, "Conflict", fmt.Sprintf("The role '%s' is already bound on the server.", lanyard.Clip(p.Role, 100)))
}

func (s *Store) GetPostgresPrincipal(ctx context.Context, serverID, role string) (lanyard.PostgresPrincipal, error) {
	p, err := scanPostgresPrincipal(s.queryRow(ctx, "SELECT "+postgresPrincipalColumns+postgresPrincipalFrom+" WHERE b.server_id_key = ? AND b.role = ?",
		key(serverID), role))
	if errors.Is(err, sql.ErrNoRows) {
		return p, postgresPrincipalNotFound(role)
	}
	return p, s.wrapErr("get postgres principal", err, "")
}

func (s *Store) ListPostgresPrincipals(ctx context.Context, serverID string) ([]lanyard.PostgresPrincipal, error) {
	rows, err := s.query(ctx, "SELECT "+postgresPrincipalColumns+postgresPrincipalFrom+" WHERE b.server_id_key = ? ORDER BY b.role", key(serverID))
	if err != nil {
		return nil, s.wrapErr("list postgres principals", err, "")
	}
	defer rows.Close()
	var out []lanyard.PostgresPrincipal
	for rows.Next() {
		p, err := scanPostgresPrincipal(rows)
		if err != nil {
			return nil, s.wrapErr("list postgres principals", err, "")
		}
		out = append(out, p)
	}
	return out, s.wrapErr("list postgres principals", rows.Err(), "")
}

func (s *Store) DeletePostgresPrincipal(ctx context.Context, serverID, role string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return postgresPrincipalNotFound(role) },
			"DELETE FROM postgres_principals WHERE server_id_key = ? AND role = ?", key(serverID), role)
	})
	return s.wrapErr("delete postgres principal", err, "")
}
