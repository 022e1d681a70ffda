package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const storageAccountColumns = "s.name, s.resource_group, s.resource_id, s.location, s.tags, s.created_at, s.updated_at, s.user_delegation_generation, s.blob_cors, " +
	"s.blob_versioning, s.blob_delete_retention_days, s.container_delete_retention_days, s.sku, s.blob_analytics"

func scanStorageAccount(r rowScanner) (lanyard.StorageAccount, error) {
	var (
		a                lanyard.StorageAccount
		tags, cors       string
		analytics        string
		created, updated int64
	)
	if err := r.Scan(&a.Name, &a.ResourceGroup, &a.ResourceID, &a.Location, &tags, &created, &updated, &a.UserDelegationKeyGeneration, &cors,
		&a.BlobVersioning, &a.BlobDeleteRetentionDays, &a.ContainerDeleteRetentionDays, &a.SKU, &analytics); err != nil {
		return a, err
	}
	var err error
	if a.Tags, err = decodeTags(tags); err != nil {
		return a, err
	}
	if cors != "" {
		if err := json.Unmarshal([]byte(cors), &a.BlobCORS); err != nil {
			return a, fmt.Errorf("decode CORS rules: %w", err)
		}
	}
	if analytics != "" {
		if err := json.Unmarshal([]byte(analytics), &a.BlobAnalytics); err != nil {
			return a, fmt.Errorf("decode analytics settings: %w", err)
		}
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// encodeAnalytics stores analytics settings as JSON, "" when all are off.
func encodeAnalytics(a lanyard.BlobAnalytics) (string, error) {
	if a == (lanyard.BlobAnalytics{}) {
		return "", nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encode analytics settings: %w", err)
	}
	return string(b), nil
}

// skuOrDefault is the SKU stored for a: the default when it has none.
func skuOrDefault(a lanyard.StorageAccount) string {
	if a.SKU == "" {
		return lanyard.DefaultStorageSKU
	}
	return a.SKU
}

// encodeCORS stores CORS rules as JSON, "" for none.
func encodeCORS(rules []lanyard.CORSRule) (string, error) {
	if len(rules) == 0 {
		return "", nil
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return "", fmt.Errorf("encode CORS rules: %w", err)
	}
	return string(b), nil
}

func storageAccountNotFound(name string) error {
	return notFound("StorageAccountNotFound", "The storage account '%s' was not found.", name)
}

func (s *Store) CreateStorageAccount(ctx context.Context, a lanyard.StorageAccount) error {
	err := s.inTx(ctx, func(tx *Store) error {
		tags, err := encodeTags(a.Tags)
		if err != nil {
			return err
		}
		cors, err := encodeCORS(a.BlobCORS)
		if err != nil {
			return err
		}
		analytics, err := encodeAnalytics(a.BlobAnalytics)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO storage_accounts (name_key, name, resource_group, resource_group_key, resource_id, location,
	tags, created_at, updated_at, user_delegation_generation, blob_cors, blob_versioning, blob_delete_retention_days,
	container_delete_retention_days, sku, blob_analytics)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(a.Name), a.Name, a.ResourceGroup, key(a.ResourceGroup), a.ResourceID, a.Location, tags,
			micros(a.CreatedAt), micros(a.UpdatedAt), a.UserDelegationKeyGeneration, cors, a.BlobVersioning, a.BlobDeleteRetentionDays,
			a.ContainerDeleteRetentionDays, skuOrDefault(a), analytics)
		return err
	})
	return s.wrapErrCode("create storage account", err, "StorageAccountAlreadyTaken",
		fmt.Sprintf("The storage account named %s is already taken.", a.Name))
}

func (s *Store) getStorageAccount(ctx context.Context, name string, lock bool) (lanyard.StorageAccount, error) {
	q := "SELECT " + storageAccountColumns + " FROM storage_accounts s WHERE s.name_key = ?"
	if lock {
		q += s.d.lockRows("s")
	}
	a, err := scanStorageAccount(s.queryRow(ctx, q, key(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return a, storageAccountNotFound(name)
	}
	return a, err
}

func (s *Store) GetStorageAccount(ctx context.Context, name string) (lanyard.StorageAccount, error) {
	a, err := s.getStorageAccount(ctx, name, false)
	return a, s.wrapErr("get storage account", err, "")
}

// ListStorageAccounts lists the accounts in group, or all accounts when group is "".
func (s *Store) ListStorageAccounts(ctx context.Context, group string) ([]lanyard.StorageAccount, error) {
	q := "SELECT " + storageAccountColumns + " FROM storage_accounts s"
	var args []any
	if group != "" {
		q += " WHERE s.resource_group_key = ?"
		args = append(args, key(group))
	}
	q += " ORDER BY s.resource_group_key, s.name_key"
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr("list storage accounts", err, "")
	}
	defer rows.Close()
	var as []lanyard.StorageAccount
	for rows.Next() {
		a, err := scanStorageAccount(rows)
		if err != nil {
			return nil, s.wrapErr("list storage accounts", err, "")
		}
		as = append(as, a)
	}
	return as, s.wrapErr("list storage accounts", rows.Err(), "")
}

// ListStorageAccountsPage implements store.StorageAccounts, by keyset on the primary key
// (the name, unique across groups), with the group in the query.
func (s *Store) ListStorageAccountsPage(ctx context.Context, group, after string, limit int) ([]lanyard.StorageAccount, error) {
	if limit < 1 {
		return nil, nil
	}
	q := "SELECT " + storageAccountColumns + " FROM storage_accounts s WHERE s.name_key > ?"
	args := []any{key(after)}
	if group != "" {
		q += " AND s.resource_group_key = ?"
		args = append(args, key(group))
	}
	return queryPage(ctx, s, "list storage accounts", limit, scanStorageAccount, q+" ORDER BY s.name_key LIMIT ?", append(args, limit)...)
}

func (s *Store) UpdateStorageAccount(ctx context.Context, name string, fn func(lanyard.StorageAccount) (lanyard.StorageAccount, error)) (lanyard.StorageAccount, error) {
	var out lanyard.StorageAccount
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getStorageAccount(ctx, name, true)
		if err != nil {
			return err
		}
		a, err := fn(cur)
		if err != nil {
			return err
		}
		k := key(cur.Name)
		if key(a.Name) != k {
			return fmt.Errorf("sqlstore: update storage account %q: the updater renamed it to %q", cur.Name, a.Name)
		}
		tags, err := encodeTags(a.Tags)
		if err != nil {
			return err
		}
		cors, err := encodeCORS(a.BlobCORS)
		if err != nil {
			return err
		}
		analytics, err := encodeAnalytics(a.BlobAnalytics)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE storage_accounts SET name = ?, resource_group = ?, resource_group_key = ?, resource_id = ?,
	location = ?, tags = ?, created_at = ?, updated_at = ?, user_delegation_generation = ?, blob_cors = ?,
	blob_versioning = ?, blob_delete_retention_days = ?, container_delete_retention_days = ?, sku = ?, blob_analytics = ? WHERE name_key = ?`,
			a.Name, a.ResourceGroup, key(a.ResourceGroup), a.ResourceID, a.Location, tags,
			micros(a.CreatedAt), micros(a.UpdatedAt), a.UserDelegationKeyGeneration, cors,
			a.BlobVersioning, a.BlobDeleteRetentionDays, a.ContainerDeleteRetentionDays, skuOrDefault(a), analytics, k); err != nil {
			return err
		}
		out, err = tx.getStorageAccount(ctx, cur.Name, false)
		return err
	})
	return out, s.wrapErr("update storage account", err, "The storage account changed concurrently.")
}

func (s *Store) DeleteStorageAccount(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return storageAccountNotFound(name) }, "DELETE FROM storage_accounts WHERE name_key = ?", key(name))
	})
	return s.wrapErr("delete storage account", err, "")
}
