DROP INDEX appointments_booked_by;
DROP TABLE triage_bookings;
-- Back to one secret per integration: its newest live one; a client with none is disabled.
ALTER TABLE integrations ADD COLUMN secret_hash TEXT NOT NULL DEFAULT '';
UPDATE integrations SET secret_hash = COALESCE((
    SELECT s.secret_hash FROM integration_secrets s
    WHERE s.integration_id = integrations.id AND s.revoked_at IS NULL
    ORDER BY s.created_at DESC LIMIT 1), '');
UPDATE integrations SET active = FALSE WHERE secret_hash = '';
DROP TABLE integration_secrets;
DROP TABLE disposition_services;
DROP TABLE dispositions;
