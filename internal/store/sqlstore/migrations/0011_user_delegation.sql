-- Revoking an account's user delegation keys increments this; it is mixed into each key.
ALTER TABLE storage_accounts ADD COLUMN user_delegation_generation BIGINT NOT NULL DEFAULT 0;
