-- Each Service Bus namespace is served on its own loopback address (its "host name" on
-- this machine), unique across namespaces. '' only for rows written before this column.
ALTER TABLE servicebus_namespaces ADD COLUMN listen_key TEXT NOT NULL DEFAULT '';
ALTER TABLE servicebus_namespaces ADD COLUMN listen TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX servicebus_namespaces_listen ON servicebus_namespaces (listen_key) WHERE listen_key <> '';
