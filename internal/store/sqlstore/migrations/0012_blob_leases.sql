-- Leases of blobs and containers (Lease Blob, Lease Container): JSON
-- {"id": lease id, "p": phase, "d": duration in seconds, "u": end, microseconds since the
-- epoch}, '' when there is none. The lease's state is computed from these at read time, so
-- every node sharing the database sees one lease, and nothing runs when it expires.
ALTER TABLE blob_containers ADD COLUMN lease TEXT NOT NULL DEFAULT '';
ALTER TABLE blob_entries ADD COLUMN lease TEXT NOT NULL DEFAULT '';
