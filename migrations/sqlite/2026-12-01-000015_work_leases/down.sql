DROP TABLE work_leases;
ALTER TABLE webhooks DROP COLUMN lease_expires_at;
ALTER TABLE webhooks DROP COLUMN lease_owner;
