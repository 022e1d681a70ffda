-- The audit trail and revocations. Conventions as in 0001: times are microseconds since the
-- Unix epoch, UTC; *_key columns hold the lower-cased value lookups match on.

-- Append-only, hash-chained events. seq is assigned by the writer that holds the head's row
-- lock, so it has no gaps; a gap means a deletion.
CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    time          BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    principal_id  TEXT NOT NULL,
    principal_key TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_key    TEXT NOT NULL,
    action        TEXT NOT NULL,
    action_key    TEXT NOT NULL,
    decision      TEXT NOT NULL,
    token_id      TEXT NOT NULL,
    details       TEXT NOT NULL, -- JSON object, exactly as hashed
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
-- Every index is paid for on every request (events are written at request rate), so only
-- the lookups an operator starts from are indexed: a time window, a principal, a token.
-- Other filters (client id, action, decision, kind) narrow those or scan.
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_principal ON audit_events (principal_key);
CREATE INDEX audit_events_token ON audit_events (token_id);

-- One row: where the chain stands. Appenders lock it, which serializes them across nodes;
-- retention moves the anchor to the last event it deleted.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    anchor_seq  BIGINT NOT NULL,
    anchor_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, anchor_seq, anchor_hash) VALUES (1, 0, '', 0, '');

-- Revoked tokens (by uti) and principals' not-before times. Small: entries go once every
-- token they name has expired.
CREATE TABLE revocations (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    token_id      TEXT NOT NULL, -- '' for a principal revocation
    principal_id  TEXT NOT NULL, -- '' when unknown
    principal_key TEXT NOT NULL,
    not_before    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX revocations_expires ON revocations (expires_at);
