-- The event feed: an outbox written in the transaction of each change, numbered per cluster in
-- commit order (the counter row is locked until the writing transaction commits), and webhooks
-- that deliver it.
CREATE TABLE event_counters (
    cluster_id TEXT PRIMARY KEY REFERENCES clusters (id),
    last_seq   BIGINT NOT NULL DEFAULT 0
);
INSERT INTO event_counters (cluster_id, last_seq) SELECT id, 0 FROM clusters;

CREATE TABLE events (
    cluster_id     TEXT NOT NULL REFERENCES clusters (id),
    seq            BIGINT NOT NULL,
    id             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    occurred_at    TIMESTAMP NOT NULL,
    appointment_id TEXT,
    slot_id        TEXT,
    booked_by      TEXT,
    data           TEXT NOT NULL,
    PRIMARY KEY (cluster_id, seq)
);
CREATE UNIQUE INDEX events_id ON events (id);
-- A triage client's view of the feed: the events of what it booked.
CREATE INDEX events_booked_by ON events (cluster_id, booked_by, seq);

-- A reserved slot's release is announced once, by the periodic task, within a minute of it.
ALTER TABLE slots ADD COLUMN release_announced_at TIMESTAMP;
-- Releases already past are history, not news.
UPDATE slots SET release_announced_at = released_at
    WHERE released_at IS NOT NULL AND released_at <= CURRENT_TIMESTAMP;
CREATE INDEX slots_release_pending ON slots (released_at)
    WHERE release_announced_at IS NULL AND released_at IS NOT NULL;

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    cluster_id      TEXT NOT NULL REFERENCES clusters (id),
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_cluster ON webhooks (cluster_id, id);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL REFERENCES webhooks (id),
    event_seq    BIGINT NOT NULL,
    event_id     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    succeeded    BOOLEAN NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
