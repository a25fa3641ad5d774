DROP INDEX appointments_parts;
CREATE INDEX appointments_parts ON appointments (cluster_id, part_of);
