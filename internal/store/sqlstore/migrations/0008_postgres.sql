-- PostgreSQL servers (Microsoft.DBforPostgreSQL/flexibleServers) and the roles bound to
-- principals on them. A server's name is unique across groups, as its DNS name is on
-- Azure, and so is the address its front end listens on.
CREATE TABLE postgres_servers (
    resource_id_key          TEXT PRIMARY KEY,
    resource_id              TEXT NOT NULL,
    name_key                 TEXT NOT NULL UNIQUE,
    name                     TEXT NOT NULL,
    resource_group           TEXT NOT NULL,
    resource_group_key       TEXT NOT NULL,
    location                 TEXT NOT NULL,
    tags                     TEXT NOT NULL, -- JSON object
    listen_key               TEXT NOT NULL UNIQUE,
    listen                   TEXT NOT NULL,
    upstream                 TEXT NOT NULL, -- connection string without its secret
    upstream_auth            TEXT NOT NULL,
    sealed_upstream_password {{blob}},      -- NULL when none
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE INDEX postgres_servers_group ON postgres_servers (resource_group_key);

-- Role names are case-sensitive, as PostgreSQL's are: the role column compares bytewise.
CREATE TABLE postgres_principals (
    server_id_key   TEXT NOT NULL REFERENCES postgres_servers (resource_id_key) ON DELETE CASCADE,
    role            TEXT {{bytewise}} NOT NULL,
    object_id       TEXT NOT NULL,
    object_id_key   TEXT NOT NULL,
    type            TEXT NOT NULL,
    admin           BOOLEAN NOT NULL,
    sealed_password {{blob}}, -- NULL when none
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (server_id_key, role)
);
-- An object id is an administrator of a server at most once.
CREATE UNIQUE INDEX postgres_principals_admin ON postgres_principals (server_id_key, object_id_key) WHERE admin;
