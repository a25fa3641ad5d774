DROP INDEX appointments_parts;
ALTER TABLE appointments DROP COLUMN part_of;
DROP TABLE requester_contacts;
DROP TABLE consumer_patients;
ALTER TABLE integrations DROP COLUMN practice_id;
