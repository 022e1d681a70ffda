-- Times are microseconds since the Unix epoch, UTC. Columns named *_key hold the lower-cased
-- name or id that lookups match on; the column beside it keeps the spelling it was created with.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value {{blob}} NOT NULL
);

CREATE TABLE resource_groups (
    name_key   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    location   TEXT NOT NULL,
    tags       TEXT NOT NULL, -- JSON object
    created_at BIGINT NOT NULL
);

CREATE TABLE identities (
    principal_id       TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    resource_id_key    TEXT NOT NULL,
    resource_group     TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    name               TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               TEXT NOT NULL,
    enabled            BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
-- A system-assigned identity shares its app's resource id, so only user-assigned ones are unique.
CREATE UNIQUE INDEX identities_user_assigned_resource_id ON identities (resource_id_key) WHERE kind = 'UserAssigned';
CREATE INDEX identities_group ON identities (resource_group_key, kind);

CREATE TABLE apps (
    resource_id_key     TEXT PRIMARY KEY,
    resource_id         TEXT NOT NULL,
    resource_group      TEXT NOT NULL,
    resource_group_key  TEXT NOT NULL,
    name                TEXT NOT NULL,
    location            TEXT NOT NULL,
    tags                TEXT NOT NULL,
    system_principal_id TEXT NOT NULL, -- '' when none
    header_version      BIGINT NOT NULL,
    header_hash         {{blob}}, -- NULL when none; NULLs never collide in a unique index
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX apps_header_hash ON apps (header_hash);
CREATE INDEX apps_group ON apps (resource_group_key);

-- An app's user-assigned identities. Deleting either side removes the assignment.
CREATE TABLE app_user_identities (
    app_key      TEXT NOT NULL REFERENCES apps (resource_id_key) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES identities (principal_id) ON DELETE CASCADE,
    PRIMARY KEY (app_key, principal_id)
);
CREATE INDEX app_user_identities_principal ON app_user_identities (principal_id);

CREATE TABLE signing_keys (
    id           TEXT PRIMARY KEY,
    sealed_key   {{blob}} NOT NULL,
    certificate  {{blob}} NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT,
    remove_after BIGINT
);
CREATE INDEX signing_keys_created ON signing_keys (created_at);
