-- The audit trail moves from a row per event to a row per append (a "segment"): events
-- are written at request rate, and six B-trees per event (the table, its primary key and
-- four indexes) cost a busy server a fifth of its CPU. A segment holds its events as JSON
-- lines, exactly as the audit sink writes them; audit_keys names, once per segment, the
-- values queries start from. The rows of audit_events are moved by the program (see
-- migrateAuditSegments), which then drops the table.

CREATE TABLE audit_segments (
    first_seq BIGINT PRIMARY KEY, -- segments never overlap: [first_seq, last_seq]
    last_seq  BIGINT NOT NULL,
    min_time  BIGINT NOT NULL,
    max_time  BIGINT NOT NULL,
    min_id    TEXT {{bytewise}} NOT NULL,
    max_id    TEXT {{bytewise}} NOT NULL,
    events    TEXT NOT NULL -- one JSON line per event, in sequence order
);

-- field is principal (principal and client ids, lower-cased), token, kind, decision or
-- action (lower-cased).
CREATE TABLE audit_keys (
    field     TEXT NOT NULL,
    value     TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    PRIMARY KEY (field, value, first_seq)
);
