-- Blob data protection settings of a storage account (blobServices/default and Set Blob
-- Service Properties): versioning on or off, and the blob soft delete retention in days
-- (0 when soft delete is off).
ALTER TABLE storage_accounts ADD COLUMN blob_versioning BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE storage_accounts ADD COLUMN blob_delete_retention_days INTEGER NOT NULL DEFAULT 0;
