-- What the person who resolved a rebooking need wrote about it (why the patient keeps the time,
-- or why it was cancelled), shown in the audit and on the appointment.
ALTER TABLE rebookings ADD COLUMN resolution_note TEXT;
