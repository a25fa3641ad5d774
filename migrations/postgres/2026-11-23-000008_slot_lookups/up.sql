-- Every appointment of a slot, whatever its status, by index. The partial index of live
-- appointments serves a query only when its planner can see the statuses; with the statuses as
-- bound parameters (SQLite always, PostgreSQL under a generic plan) the slot search and the
-- hold and booking checks scanned every appointment of the database instead.
CREATE INDEX appointments_slot ON appointments (cluster_id, slot_id);
