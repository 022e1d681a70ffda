-- Container soft delete: the account's retention in days (0: off), and a soft-deleted
-- container's deletion time and end of retention (microseconds, as in 0005; 0 on a live
-- container). Soft-deleted containers are rows like any other, under a store account no
-- request can name (see internal/blob/softdelete.go).
ALTER TABLE storage_accounts ADD COLUMN container_delete_retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blob_containers ADD COLUMN deleted_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blob_containers ADD COLUMN retain_until BIGINT NOT NULL DEFAULT 0;
