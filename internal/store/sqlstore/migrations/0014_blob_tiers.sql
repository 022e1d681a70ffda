-- Access tiers of block blobs (Set Blob Tier, x-ms-access-tier): JSON
-- {"t": tier, "c": change time, "to": rehydration target, "p": its priority, "at": when it
-- completes; times in microseconds since the epoch}, '' when the tier was never set (Hot,
-- inferred). A rehydration completes by the clock at read time, so every node sharing the
-- database sees it complete at once and nothing runs when it does.
ALTER TABLE blob_entries ADD COLUMN tier TEXT NOT NULL DEFAULT '';
