DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP INDEX slots_release_pending;
DROP INDEX events_booked_by;
ALTER TABLE slots DROP COLUMN release_announced_at;
DROP TABLE events;
DROP TABLE event_counters;
