DROP INDEX appointments_parts;
CREATE INDEX appointments_parts ON appointments (cluster_id, part_of);
DROP INDEX appointments_slot;
CREATE INDEX appointments_slot ON appointments (cluster_id, slot_id);
