-- Kept in step with PostgreSQL's schema, which is ready to be distributed by cluster: a webhook's
-- deliveries name its cluster, and changes to installation-wide things (users, integrations,
-- dispositions) are audited under the empty cluster id rather than none. SQLite keeps its keys.
ALTER TABLE webhook_deliveries ADD COLUMN cluster_id TEXT NOT NULL DEFAULT '';
UPDATE webhook_deliveries SET cluster_id = (SELECT w.cluster_id FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id);
UPDATE audit_events SET cluster_id = '' WHERE cluster_id IS NULL;
