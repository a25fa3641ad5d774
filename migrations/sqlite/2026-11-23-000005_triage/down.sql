DROP INDEX appointments_booked_by;
DROP TABLE triage_bookings;
ALTER TABLE integrations ADD COLUMN secret_hash TEXT NOT NULL DEFAULT '';
UPDATE integrations SET secret_hash = (
    SELECT s.secret_hash FROM integration_secrets s
    WHERE s.integration_id = integrations.id ORDER BY s.created_at DESC LIMIT 1);
DROP TABLE integration_secrets;
DROP TABLE disposition_services;
DROP TABLE dispositions;
