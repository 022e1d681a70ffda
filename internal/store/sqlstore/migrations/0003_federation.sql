-- Federated identity credentials of user-assigned identities. Conventions as in 0001: times
-- are microseconds since the Unix epoch, UTC; name_key holds the lower-cased name lookups
-- match on, name the spelling it was created with. Issuer, subject and audiences are
-- compared exactly, case included, as Entra compares them, so they have no *_key column.

CREATE TABLE federated_credentials (
    principal_id         TEXT NOT NULL REFERENCES identities (principal_id) ON DELETE CASCADE,
    name_key             TEXT NOT NULL,
    name                 TEXT NOT NULL,
    identity_resource_id TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    subject              TEXT NOT NULL,
    -- SHA-256 of issuer NUL subject, hex: the issuer and subject pair is unique per identity,
    -- and a digest keeps the unique index small whatever the two (up to 600 characters each) hold.
    match_key            TEXT NOT NULL,
    audiences            TEXT NOT NULL, -- JSON array of strings, never queried by content
    description          TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (principal_id, name_key)
);
CREATE UNIQUE INDEX federated_credentials_match ON federated_credentials (principal_id, match_key);
