-- The lease of the node that may answer blob metadata reads from memory: at most one row.
-- Used on PostgreSQL only (see sqlstore/blobowner.go); a SQLite database has one process.
CREATE TABLE blob_cache_owner (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    node  TEXT NOT NULL,   -- which node, for people reading the table
    fence BIGINT NOT NULL, -- advisory lock key of this ownership's writes
    until BIGINT NOT NULL  -- microseconds since the Unix epoch, on the database's clock
);
