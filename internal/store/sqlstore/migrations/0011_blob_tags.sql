-- Blob index tags. A blob's tags are kept with its record (tags: a JSON object, '' when
-- none) and indexed in blob_tags, one row per tag, which Find Blobs by Tags looks up by
-- (account, key, value) and pages in (container, name) order. Rows go with the blob's
-- row (foreign key), and the writer of a blob's tags rewrites its rows in the same
-- transaction.
ALTER TABLE blob_entries ADD COLUMN tags TEXT NOT NULL DEFAULT '';

CREATE TABLE blob_tags (
    account   TEXT {{bytewise}} NOT NULL,
    tag_key   TEXT {{bytewise}} NOT NULL,
    tag_value TEXT {{bytewise}} NOT NULL,
    container TEXT {{bytewise}} NOT NULL,
    name      TEXT {{bytewise}} NOT NULL,
    PRIMARY KEY (account, tag_key, tag_value, container, name),
    FOREIGN KEY (account, container, name) REFERENCES blob_entries (account, container, name) ON DELETE CASCADE
);
-- For the cascade and the rewrite of one blob's rows.
CREATE INDEX blob_tags_blob ON blob_tags (account, container, name);
