UPDATE audit_events SET cluster_id = NULL WHERE cluster_id = '';
ALTER TABLE webhook_deliveries DROP COLUMN cluster_id;
