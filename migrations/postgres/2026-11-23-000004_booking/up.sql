-- Booking: why and when an appointment was cancelled, when its outcome was recorded, notes.
ALTER TABLE appointments ADD COLUMN cancel_reason TEXT;
ALTER TABLE appointments ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE appointments ADD COLUMN outcome_at TIMESTAMP;
ALTER TABLE appointments ADD COLUMN notes TEXT;
-- A patient's live appointments by service and day (one per service a day) and by NHS number.
CREATE INDEX appointments_patient ON appointments (cluster_id, nhs_number, service_id, starts_at);
-- A slot a rota change no longer wants but keeps for its patient (or holder): never offered again.
ALTER TABLE slots ADD COLUMN orphaned_at TIMESTAMP;
