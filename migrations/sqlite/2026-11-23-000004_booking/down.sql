ALTER TABLE slots DROP COLUMN orphaned_at;
DROP INDEX appointments_patient;
ALTER TABLE appointments DROP COLUMN notes;
ALTER TABLE appointments DROP COLUMN outcome_at;
ALTER TABLE appointments DROP COLUMN cancelled_at;
ALTER TABLE appointments DROP COLUMN cancel_reason;
