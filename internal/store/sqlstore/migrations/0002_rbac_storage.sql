-- Role definitions, role assignments and storage accounts. Conventions as in 0001: times are
-- microseconds since the Unix epoch, UTC; *_key columns hold the lower-cased value lookups
-- and unique indexes match on, the column beside it the spelling it was created with. GUIDs
-- are keyed too: clients send them in either case and Azure compares them case-insensitively.

-- Custom role definitions; built-in ones ship with the binary and are not stored.
CREATE TABLE role_definitions (
    id_key            TEXT PRIMARY KEY,
    id                TEXT NOT NULL,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL UNIQUE, -- role names are unique in the directory
    description       TEXT NOT NULL,
    built_in          BOOLEAN NOT NULL,
    permissions       TEXT NOT NULL, -- JSON array of permission blocks, never queried by content
    assignable_scopes TEXT NOT NULL, -- JSON array of scopes, never queried by content
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- No foreign keys: assignments may name built-in roles, which are not in the store, and,
-- as in Azure, they outlive the principals they name.
CREATE TABLE role_assignments (
    id_key                 TEXT PRIMARY KEY,
    id                     TEXT NOT NULL,
    scope                  TEXT NOT NULL,
    scope_key              TEXT NOT NULL,
    role_definition_id     TEXT NOT NULL, -- bare GUID
    role_definition_id_key TEXT NOT NULL,
    principal_id           TEXT NOT NULL,
    principal_id_key       TEXT NOT NULL,
    principal_type         TEXT NOT NULL,
    description            TEXT NOT NULL,
    condition              TEXT NOT NULL, -- '' when none
    condition_version      TEXT NOT NULL, -- '' when none
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
-- One assignment of a role to a principal per scope.
CREATE UNIQUE INDEX role_assignments_scope_role_principal ON role_assignments (scope_key, role_definition_id_key, principal_id_key);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id_key);
CREATE INDEX role_assignments_role ON role_assignments (role_definition_id_key);

-- Account names are unique across the server, whatever the group: they address the Blob endpoint.
CREATE TABLE storage_accounts (
    name_key           TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    resource_group     TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               TEXT NOT NULL, -- JSON object
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX storage_accounts_group ON storage_accounts (resource_group_key);
