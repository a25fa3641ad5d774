-- The further slots of an appointment are read by the appointment they are part of, in time
-- order, on every read, cancellation and list of appointments. Nearly every row has no part_of,
-- so the index keeps only those that do; with starts_at in it, SQLite no longer prefers the
-- cluster's time index (to save the sort) and walks every appointment of the cluster instead.
DROP INDEX appointments_parts;
CREATE INDEX appointments_parts ON appointments (cluster_id, part_of, starts_at)
    WHERE part_of IS NOT NULL;

-- Whether a slot is taken is asked of its live rows only; with the status in the index that is
-- one seek a live status, however many cancelled appointments the slot has had.
DROP INDEX appointments_slot;
CREATE INDEX appointments_slot ON appointments (cluster_id, slot_id, status);
