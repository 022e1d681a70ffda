-- Service Bus namespaces (Microsoft.ServiceBus/namespaces) and their entities. A
-- namespace's name is unique across groups, as its host name is on Azure.
CREATE TABLE servicebus_namespaces (
    name_key           TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    resource_group     TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    location           TEXT NOT NULL,
    tags               TEXT NOT NULL, -- JSON object
    sku                TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX servicebus_namespaces_group ON servicebus_namespaces (resource_group_key);

-- Queues, topics, subscriptions and rules in one table, keyed by their path in the
-- namespace: a queue or topic is (ns, '', '', name), so the two share one name space as on
-- Azure; a subscription is (ns, topic, '', name); a rule (ns, topic, subscription, name).
-- Each subscription and rule references its parent row, so deleting a topic deletes its
-- subscriptions and their rules. An entity's settings are a JSON object of fixed keys, so
-- that a setting added later needs no migration.
CREATE TABLE servicebus_entities (
    namespace_key           TEXT NOT NULL REFERENCES servicebus_namespaces (name_key) ON DELETE CASCADE,
    topic_key               TEXT NOT NULL,
    subscription_key        TEXT NOT NULL,
    name_key                TEXT NOT NULL,
    kind                    TEXT NOT NULL, -- queue, topic, subscription or rule
    -- The path's names as created ('' where the key is '').
    namespace_name          TEXT NOT NULL,
    topic_name              TEXT NOT NULL,
    subscription_name       TEXT NOT NULL,
    name                    TEXT NOT NULL,
    properties              TEXT NOT NULL, -- JSON object (sqlstore's sb*Record types)
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    -- The parent's key for a subscription or rule; NULL (no reference) for a queue or topic.
    parent_topic_key        TEXT,
    parent_subscription_key TEXT,
    parent_name_key         TEXT,
    PRIMARY KEY (namespace_key, topic_key, subscription_key, name_key),
    FOREIGN KEY (namespace_key, parent_topic_key, parent_subscription_key, parent_name_key)
        REFERENCES servicebus_entities (namespace_key, topic_key, subscription_key, name_key) ON DELETE CASCADE
);
