-- Blob Storage metadata, shared by every node: containers, committed blobs and uncommitted
-- blocks (blob content stays in files; rows name it by content id). Times are microseconds
-- since the Unix epoch, UTC, as in 0001.
--
-- Names are case-sensitive and compare bytewise, as Azure orders listings: every name
-- column is {{bytewise}} (COLLATE "C" on PostgreSQL, BINARY on SQLite), so that a listing
-- page, `name > marker AND name >= lo AND name < hi ORDER BY name LIMIT n`, is a range scan
-- of the primary key on both engines. Names are valid UTF-8 without NUL (PostgreSQL text
-- cannot hold anything else); the Go side maps markers and prefixes that are not to
-- equivalent bounds that are.

CREATE TABLE blob_containers (
    account       TEXT {{bytewise}} NOT NULL,
    name          TEXT {{bytewise}} NOT NULL,
    metadata      TEXT NOT NULL, -- JSON object, {} when none
    etag          TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);

-- One row per blob name that has a committed version, uncommitted blocks, or both. The row
-- exists whenever anything of the blob does, so that writers of the blob lock it (SELECT
-- ... FOR UPDATE) even before the first commit. committed = FALSE: only blocks are staged,
-- and the property columns hold zero values. Listings skip such rows.
CREATE TABLE blob_entries (
    account             TEXT {{bytewise}} NOT NULL,
    container           TEXT {{bytewise}} NOT NULL,
    name                TEXT {{bytewise}} NOT NULL,
    committed           BOOLEAN NOT NULL,
    size                BIGINT NOT NULL,
    -- The HTTP properties are bytes: header values may carry any octet above 0x7F, and
    -- they must come back exactly as they were sent.
    content_type        {{blob}} NOT NULL,
    content_encoding    {{blob}} NOT NULL,
    content_language    {{blob}} NOT NULL,
    content_disposition {{blob}} NOT NULL,
    cache_control       {{blob}} NOT NULL,
    content_md5         {{blob}}, -- NULL when unknown
    metadata            TEXT NOT NULL, -- JSON object, {} when none
    etag                TEXT NOT NULL,
    last_modified       BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    blob_type           TEXT NOT NULL,
    -- JSON array of {"b": block id (absent for Put Blob data), "c": content id, "s": size},
    -- in blob order. Read and written whole with the record, never queried by content.
    extents             TEXT NOT NULL,
    -- Summary of the uncommitted blocks, kept by every write that stages or drops them, so
    -- that Put Block checks its limits without counting up to 100,000 rows.
    block_count         BIGINT NOT NULL,
    block_id_len        INTEGER NOT NULL, -- decoded length of the staged ids; 0 when none
    PRIMARY KEY (account, container, name),
    FOREIGN KEY (account, container) REFERENCES blob_containers (account, name) ON DELETE CASCADE
);

-- Uncommitted blocks (Put Block), until Put Block List, Put Blob or Delete Blob drops them
-- or they expire.
CREATE TABLE blob_blocks (
    account    TEXT {{bytewise}} NOT NULL,
    container  TEXT {{bytewise}} NOT NULL,
    blob_name  TEXT {{bytewise}} NOT NULL,
    block_id   TEXT {{bytewise}} NOT NULL, -- base64, as the client sent it
    content_id TEXT NOT NULL,
    size       BIGINT NOT NULL,
    staged_at  BIGINT NOT NULL,
    PRIMARY KEY (account, container, blob_name, block_id),
    FOREIGN KEY (account, container, blob_name) REFERENCES blob_entries (account, container, name) ON DELETE CASCADE
);
CREATE INDEX blob_blocks_staged ON blob_blocks (staged_at);
