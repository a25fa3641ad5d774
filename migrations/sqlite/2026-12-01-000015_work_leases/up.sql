-- Background work is claimed through the database, so that any number of processes share it and
-- none does a piece twice: a webhook's delivery queue is held by one process at a time (its
-- lease, renewed while it delivers and taken over once it expires), and work that spans every
-- cluster (announcing released slots) by the row of `work_leases` that names it. The back-off
-- after a failed delivery was already stored (`webhooks.next_attempt_at`); it is now obeyed by
-- every process, across restarts.
ALTER TABLE webhooks ADD COLUMN lease_owner TEXT;
ALTER TABLE webhooks ADD COLUMN lease_expires_at TIMESTAMP;

-- A reference table: one row per kind of installation-wide work, no cluster's data.
CREATE TABLE work_leases (
    name TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
-- Made here, so that claiming is always one conditional update (an empty owner is free).
INSERT INTO work_leases (name, owner, expires_at) VALUES ('announce-releases', '', '1970-01-01 00:00:00');
