-- Revoking an account's user delegation keys increments this; it is mixed into each key.
ALTER TABLE storage_accounts ADD COLUMN user_delegation_generation BIGINT NOT NULL DEFAULT 0;
-- A container's stored access policies (Set Container ACL), JSON; '' for none.
ALTER TABLE blob_containers ADD COLUMN access_policies TEXT NOT NULL DEFAULT '';
-- The Blob service's CORS rules (Set Blob Service Properties), JSON; '' for none.
ALTER TABLE storage_accounts ADD COLUMN blob_cors TEXT NOT NULL DEFAULT '';
