package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const federatedCredentialColumns = "f.principal_id, f.name, f.identity_resource_id, f.issuer, f.subject, f.audiences, f.description, f.created_at, f.updated_at"

func scanFederatedCredential(r rowScanner) (lanyard.FederatedCredential, error) {
	var (
		c                lanyard.FederatedCredential
		audiences        string
		created, updated int64
	)
	if err := r.Scan(&c.IdentityPrincipalID, &c.Name, &c.IdentityResourceID, &c.Issuer, &c.Subject, &audiences,
		&c.Description, &created, &updated); err != nil {
		return c, err
	}
	var err error
	if c.Audiences, err = decodeStrings(audiences); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// matchKey is what the unique index on the issuer and subject pair holds. NUL cannot occur
// in either (they are validated text), so the pair is unambiguous.
func matchKey(issuer, subject string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return hex.EncodeToString(sum[:])
}

func federatedCredentialNotFound(name string) error {
	return notFound("ResourceNotFound", "The federated identity credential '%s' was not found.", name)
}

const federatedCredentialConflict = "The identity already has a federated identity credential with this name, or with the same issuer and subject."

func (s *Store) CreateFederatedCredential(ctx context.Context, c lanyard.FederatedCredential) error {
	err := s.inTx(ctx, func(tx *Store) error {
		// Locking the identity's row queues concurrent creates on one identity, so that the
		// count below stays true until this transaction ends.
		var pid string
		err := tx.queryRow(ctx, "SELECT i.principal_id FROM identities i WHERE i.principal_id = ?"+tx.d.lockRows("i"), c.IdentityPrincipalID).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return identityNotFound("with principal id " + c.IdentityPrincipalID)
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM federated_credentials WHERE principal_id = ?", pid).Scan(&n); err != nil {
			return err
		}
		if n >= lanyard.MaxFederatedCredentialsPerIdentity {
			return lanyard.Errorf(lanyard.KindInvalid, "The identity already has %d federated identity credentials, the most it may have.",
				lanyard.MaxFederatedCredentialsPerIdentity).WithCode(lanyard.CodeFederatedCredentialLimit)
		}
		audiences, err := encodeStrings(c.Audiences)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO federated_credentials (principal_id, name_key, name, identity_resource_id, issuer, subject,
	match_key, audiences, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			pid, key(c.Name), c.Name, c.IdentityResourceID, c.Issuer, c.Subject, matchKey(c.Issuer, c.Subject),
			audiences, c.Description, micros(c.CreatedAt), micros(c.UpdatedAt))
		return err
	})
	return s.wrapErrCode("create federated credential", err, "FederatedIdentityCredentialConflict", federatedCredentialConflict)
}

func (s *Store) getFederatedCredential(ctx context.Context, principalID, name string, lock bool) (lanyard.FederatedCredential, error) {
	q := "SELECT " + federatedCredentialColumns + " FROM federated_credentials f WHERE f.principal_id = ? AND f.name_key = ?"
	if lock {
		q += s.d.lockRows("f")
	}
	c, err := scanFederatedCredential(s.queryRow(ctx, q, principalID, key(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return c, federatedCredentialNotFound(name)
	}
	return c, err
}

func (s *Store) GetFederatedCredential(ctx context.Context, principalID, name string) (lanyard.FederatedCredential, error) {
	c, err := s.getFederatedCredential(ctx, principalID, name, false)
	return c, s.wrapErr("get federated credential", err, "")
}

func (s *Store) ListFederatedCredentials(ctx context.Context, principalID string) ([]lanyard.FederatedCredential, error) {
	rows, err := s.query(ctx, "SELECT "+federatedCredentialColumns+" FROM federated_credentials f WHERE f.principal_id = ? ORDER BY f.name_key", principalID)
	if err != nil {
		return nil, s.wrapErr("list federated credentials", err, "")
	}
	defer rows.Close()
	var cs []lanyard.FederatedCredential
	for rows.Next() {
		c, err := scanFederatedCredential(rows)
		if err != nil {
			return nil, s.wrapErr("list federated credentials", err, "")
		}
		cs = append(cs, c)
	}
	return cs, s.wrapErr("list federated credentials", rows.Err(), "")
}

func (s *Store) UpdateFederatedCredential(ctx context.Context, principalID, name string, fn func(lanyard.FederatedCredential) (lanyard.FederatedCredential, error)) (lanyard.FederatedCredential, error) {
	var out lanyard.FederatedCredential
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getFederatedCredential(ctx, principalID, name, true)
		if err != nil {
			return err
		}
		c, err := fn(cur)
		if err != nil {
			return err
		}
		if c.IdentityPrincipalID != cur.IdentityPrincipalID || key(c.Name) != key(cur.Name) {
			return fmt.Errorf("sqlstore: update federated credential %q: the updater moved it to %q of %s", cur.Name, c.Name, c.IdentityPrincipalID)
		}
		audiences, err := encodeStrings(c.Audiences)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE federated_credentials SET name = ?, identity_resource_id = ?, issuer = ?, subject = ?,
	match_key = ?, audiences = ?, description = ?, created_at = ?, updated_at = ? WHERE principal_id = ? AND name_key = ?`,
			c.Name, c.IdentityResourceID, c.Issuer, c.Subject, matchKey(c.Issuer, c.Subject), audiences, c.Description,
			micros(c.CreatedAt), micros(c.UpdatedAt), cur.IdentityPrincipalID, key(cur.Name)); err != nil {
			return err
		}
		out, err = tx.getFederatedCredential(ctx, cur.IdentityPrincipalID, cur.Name, false)
		return err
	})
	return out, s.wrapErrCode("update federated credential", err, "FederatedIdentityCredentialConflict", federatedCredentialConflict)
}

func (s *Store) DeleteFederatedCredential(ctx context.Context, principalID, name string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return federatedCredentialNotFound(name) },
			"DELETE FROM federated_credentials WHERE principal_id = ? AND name_key = ?", principalID, key(name))
	})
	return s.wrapErr("delete federated credential", err, "")
}
