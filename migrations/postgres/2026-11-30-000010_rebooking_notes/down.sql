ALTER TABLE rebookings DROP COLUMN resolution_note;
