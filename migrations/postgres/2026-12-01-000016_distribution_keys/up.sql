-- The schema is ready to be distributed by cluster (Citus): every primary key and unique index of
-- a table of cluster data includes cluster_id, foreign keys join co-located tables (on
-- cluster_id) or point at reference tables, and no lock is taken that only one node would see.
-- A table that is not distributed by cluster_id says so in its comment, which the catalog test
-- reads ("Distribution: reference" is copied to every node; "Distribution: <column>" is
-- distributed by that column instead).

DROP INDEX holds_id;
CREATE UNIQUE INDEX holds_id ON holds (cluster_id, id);
-- A hold is also found by its id alone (releasing it, booking with it).
CREATE INDEX holds_by_id ON holds (id);
DROP INDEX events_id;
CREATE UNIQUE INDEX events_id ON events (cluster_id, id);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_webhook_id_fkey;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_pkey;
ALTER TABLE webhooks ADD PRIMARY KEY (cluster_id, id);
DROP INDEX webhooks_cluster;
ALTER TABLE webhook_deliveries ADD COLUMN cluster_id TEXT;
UPDATE webhook_deliveries d SET cluster_id = w.cluster_id FROM webhooks w WHERE w.id = d.webhook_id;
ALTER TABLE webhook_deliveries ALTER COLUMN cluster_id SET NOT NULL;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey;
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (cluster_id, id);
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_webhook_fkey
    FOREIGN KEY (cluster_id, webhook_id) REFERENCES webhooks (cluster_id, id);
DROP INDEX webhook_deliveries_webhook;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (cluster_id, webhook_id, id);

-- Changes to installation-wide things (users, integrations, dispositions) are audited under the
-- empty cluster id: a distribution column holds no NULL.
UPDATE audit_events SET cluster_id = '' WHERE cluster_id IS NULL;
ALTER TABLE audit_events ALTER COLUMN cluster_id SET DEFAULT '';
ALTER TABLE audit_events ALTER COLUMN cluster_id SET NOT NULL;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD PRIMARY KEY (cluster_id, id);
-- The installation's whole trail, in time order (an admin's view).
CREATE INDEX audit_events_id ON audit_events (id);

-- Users are a reference table, and a reference table may not point into a distributed one: that
-- a receptionist's practice exists in the user's cluster is checked when the user is made or
-- changed (practices are disabled, never deleted).
ALTER TABLE users DROP CONSTRAINT users_cluster_id_practice_id_fkey;

-- Two bookings of one patient in different slots queue here before the same-day rule, one row
-- per patient and cluster, locked in the booking's transaction: unlike an advisory lock, a row
-- lock holds on whichever node stores the cluster. The patient is named by the md5 digest of the
-- NHS number: not in plain sight, though no anonymisation (the appointments hold the number).
CREATE TABLE patient_locks (
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    patient    TEXT NOT NULL,
    PRIMARY KEY (cluster_id, patient)
);

COMMENT ON TABLE clusters IS 'Distribution: reference. The clusters themselves, looked up by code.';
COMMENT ON TABLE users IS 'Distribution: reference. Staff accounts, signed in by username.';
COMMENT ON TABLE integrations IS 'Distribution: reference. Registered clients (111 services, GP Connect consumers).';
COMMENT ON TABLE integration_certificates IS 'Distribution: reference. Client certificates of integrations.';
COMMENT ON TABLE integration_secrets IS 'Distribution: reference. Client secrets of integrations.';
COMMENT ON TABLE dispositions IS 'Distribution: reference. The national triage dispositions.';
COMMENT ON TABLE disposition_services IS 'Distribution: reference. Which services a disposition may book.';
COMMENT ON TABLE installation_keys IS 'Distribution: reference. Keys the installation made for itself.';
COMMENT ON TABLE work_leases IS 'Distribution: reference. Leases on installation-wide background work.';
COMMENT ON TABLE sign_in_failures IS 'Distribution: username. Failed sign-ins per username.';
COMMENT ON TABLE idempotency_keys IS 'Distribution: owner. Each caller''s idempotency keys.';
COMMENT ON TABLE consumer_patients IS 'Distribution: integration_id. The patients a GP Connect consumer has registered.';
