-- pgbench: one booking as the load generator's `book` scenario makes it (search, hold, book), with
-- the statements hubbook sends (captured with log_min_duration_statement = 0), against a
-- `hubbook seed` database.
--
--   pgbench -n -M prepared -c 16 -j 2 -T 20 -D clusters=1250 -D load_seed=1 -D week=0 \
--     -f pgbench_book.sql DBURL
--
-- Each client is the receptionist of one seeded practice (chosen from its number and load_seed),
-- as each of hubbook-load's virtual users is, and books in the coming week; when the week has
-- nothing left for the practice it moves on a week, as hubbook-load does. Where hubbook checks a rule in
-- Rust (the slot is free, the hold is mine, no same-day duplicate), this script checks the same
-- counts with \if and rolls back as hubbook would. Extra on pgbench's side: one lookup of the
-- caller (hubbook reads it from the token) and one statement making ids, as hubbook does in
-- memory. hubbook's request hash is a SHA-256 of the body; here it is two md5s of the same
-- length.
\set c 1 + ((:client_id + 1) * 7919 + :load_seed) % :clusters
\set p 1 + :client_id % 4
\set one 1
\set pick random(0, 19)
\set zero 0
\set created 201
SELECT 'hold.create' AS hold_action, 'hold' AS hold_entity, 'appointment.book' AS book_action, 'appointment' AS book_entity, 'appointment.booked' AS booked_kind, 'booked' AS booked_status, '' AS empty, 'Load Patient' AS patient_name, '1970-01-01' AS birth_date, '0113 496 0000' AS phone \gset
-- Constants hubbook binds as parameters are bound here too, so both plan alike; the live statuses
-- hubbook writes as literals, and so does this script.
SELECT 'active' AS active, 'open' AS open, 'practice' AS practice \gset
SELECT c.id AS cluster_id, u.practice_id AS practice_id, 'user:' || u.id AS holder, (SELECT min(s.id) FROM sites s WHERE s.cluster_id = c.id) AS site_id, (SELECT min(v.id) FROM services v WHERE v.cluster_id = c.id) AS service_id, (now() AT TIME ZONE 'UTC') AS now, (now() AT TIME ZONE 'UTC') + :week * interval '7 days' AS from_time, (now() AT TIME ZONE 'UTC') + (:week + 1) * interval '7 days' AS until_time FROM clusters c JOIN users u ON u.cluster_id = c.id AND u.username = 'rcp-' || lpad(:c::text, 5, '0') || '-' || :p WHERE c.code = 'N' || lpad(:c::text, 5, '0') \gset
-- The search request: the reference data's version (the cluster, practice, sites and services are
-- kept by the server while it stands).
SELECT "reference_version"."version" FROM "reference_version" WHERE ("reference_version"."id" = :one) LIMIT :one;
-- The search (one offer of the first page, at random, as the load generator picks). `found`
-- stays 0 when the week has nothing free.
SELECT 0 AS found \gset
SELECT 1 AS found, "slots"."cluster_id", "slots"."id" AS slot_id, "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE (((((((("slots"."removed_at" IS NULL) AND ("slots"."orphaned_at" IS NULL)) AND ("slots"."starts_at" > :from_time)) AND ("slots"."starts_at" < :until_time)) AND  NOT (EXISTS (SELECT "appointments"."slot_id" FROM "appointments" WHERE ((("appointments"."cluster_id" = "slots"."cluster_id") AND ("appointments"."slot_id" = "slots"."id")) AND "appointments"."status" IN ('booked', 'arrived', 'seen'))))) AND  NOT (EXISTS (SELECT "holds"."slot_id" FROM "holds" WHERE (((("holds"."cluster_id" = "slots"."cluster_id") AND ("holds"."slot_id" = "slots"."id")) AND ("holds"."expires_at" > :now)) AND ("holds"."holder" != :holder))))) AND ("slots"."cluster_id" = :cluster_id)) AND ((("slots"."channel" = :open) OR (("slots"."channel" = :practice) AND ("slots"."channel_practice_id" = :practice_id))) OR (("slots"."released_at" IS NOT NULL) AND ("slots"."released_at" <= :now)))) ORDER BY "slots"."starts_at" ASC, "slots"."id" ASC LIMIT :one OFFSET :pick \aset
\if :found = 0
\set week (:week + 1) % 26
\endif
-- What hubbook makes in memory: UUIDv7-shaped ids (time-ordered, as hubbook's), the patient and the
-- Idempotency-Key. One statement on pgbench's side only.
SELECT max(id) FILTER (WHERE n = 1) AS hold_id, max(id) FILTER (WHERE n = 2) AS hold_audit_id, max(id) FILTER (WHERE n = 3) AS appointment_id, max(id) FILTER (WHERE n = 4) AS appointment_audit_id, max(id) FILTER (WHERE n = 5) AS event_id, '999' || lpad((random() * 9999999)::int::text, 7, '0') AS nhs_number, 'pgbench-' || max(id) FILTER (WHERE n = 3) AS request_key, (now() AT TIME ZONE 'UTC') AS now, (now() AT TIME ZONE 'UTC') + interval '2 minutes' AS hold_expires FROM (SELECT n, substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(r, 16, 3) || '-' || substr(r, 20, 17) AS id FROM generate_series(1, 5) AS n, LATERAL (SELECT gen_random_uuid()::text || n::text AS r, lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') AS t) AS x) AS y \gset
\if :found = 1
-- POST /api/v1/slots/{id}/hold: the reference version, the slot, then one transaction.
SELECT "reference_version"."version" FROM "reference_version" WHERE ("reference_version"."id" = :one) LIMIT :one;
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE ((("slots"."cluster_id" = ANY(ARRAY[:cluster_id])) AND ("slots"."id" = :slot_id)) AND ("slots"."removed_at" IS NULL)) LIMIT :one;
BEGIN;
UPDATE "slots" SET "version" = ("slots"."version" + :one) WHERE ((("slots"."cluster_id" = :cluster_id) AND ("slots"."id" = :slot_id)) AND ("slots"."removed_at" IS NULL));
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE (("slots"."cluster_id" = :cluster_id) AND ("slots"."id" = :slot_id)) LIMIT :one \gset slot_
SELECT "sessions"."cluster_id", "sessions"."id", "sessions"."rota_id", "sessions"."template_key", "sessions"."local_date", "sessions"."site_id", "sessions"."service_id", "sessions"."starts_at", "sessions"."ends_at", "sessions"."slot_minutes", "sessions"."capacity", "sessions"."delivery", "sessions"."fingerprint", "sessions"."ambiguous", "sessions"."status", "sessions"."status_reason", "sessions"."clinician", "sessions"."version", "sessions"."created_at", "sessions"."updated_at" FROM "sessions" WHERE (("sessions"."cluster_id" = :cluster_id) AND ("sessions"."id" = :slot_session_id)) LIMIT :one;
SELECT COUNT(*) AS booked FROM "appointments" WHERE ((("appointments"."cluster_id" = :cluster_id) AND ("appointments"."slot_id" = :slot_id)) AND "appointments"."status" IN ('booked', 'arrived', 'seen')) \gset
SELECT COUNT(*) AS held FROM "holds" WHERE (((("holds"."cluster_id" = :cluster_id) AND ("holds"."slot_id" = :slot_id)) AND ("holds"."expires_at" > :now)) AND ("holds"."holder" != :holder)) \gset
\if :booked = 0 and :held = 0
DELETE FROM "holds" WHERE (("holds"."cluster_id" = :cluster_id) AND ("holds"."slot_id" = :slot_id));
INSERT INTO "holds" ("cluster_id", "slot_id", "id", "holder", "created_at", "expires_at") VALUES (:cluster_id, :slot_id, :hold_id, :holder, :now, :hold_expires);
INSERT INTO "audit_events" ("id", "cluster_id", "at", "actor", "action", "entity", "entity_id", "before_json", "after_json") VALUES (:hold_audit_id, :cluster_id, :now, :holder, :hold_action, :hold_entity, :hold_id, NULL, json_build_object('cluster_id', :cluster_id::text, 'slot_id', :slot_id::text, 'id', :hold_id::text, 'holder', :holder::text, 'created_at', :now::text, 'expires_at', :hold_expires::text)::text::text);
COMMIT;
-- POST /api/v1/appointments with the hold and an Idempotency-Key: the key, then one transaction.
SELECT "idempotency_keys"."owner", "idempotency_keys"."key", "idempotency_keys"."request_hash", "idempotency_keys"."status", "idempotency_keys"."body", "idempotency_keys"."created_at" FROM "idempotency_keys" WHERE (("idempotency_keys"."owner" = :holder) AND ("idempotency_keys"."key" = :request_key)) LIMIT :one;
BEGIN;
INSERT INTO "idempotency_keys" ("owner", "key", "request_hash", "status", "body", "created_at") VALUES (:holder, :request_key, md5(:request_key) || md5(:holder), :zero, :empty, :now);
SELECT "reference_version"."version" FROM "reference_version" WHERE ("reference_version"."id" = :one) LIMIT :one;
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE ((("slots"."cluster_id" = ANY(ARRAY[:cluster_id])) AND ("slots"."id" = :slot_id)) AND ("slots"."removed_at" IS NULL)) LIMIT :one;
SAVEPOINT diesel_savepoint_1;
UPDATE "slots" SET "version" = ("slots"."version" + :one) WHERE ((("slots"."cluster_id" = :cluster_id) AND ("slots"."id" = :slot_id)) AND ("slots"."removed_at" IS NULL));
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE (("slots"."cluster_id" = :cluster_id) AND ("slots"."id" = :slot_id)) LIMIT :one;
SELECT "sessions"."cluster_id", "sessions"."id", "sessions"."rota_id", "sessions"."template_key", "sessions"."local_date", "sessions"."site_id", "sessions"."service_id", "sessions"."starts_at", "sessions"."ends_at", "sessions"."slot_minutes", "sessions"."capacity", "sessions"."delivery", "sessions"."fingerprint", "sessions"."ambiguous", "sessions"."status", "sessions"."status_reason", "sessions"."clinician", "sessions"."version", "sessions"."created_at", "sessions"."updated_at" FROM "sessions" WHERE (("sessions"."cluster_id" = :cluster_id) AND ("sessions"."id" = :slot_session_id)) LIMIT :one;
SELECT COUNT(*) AS mine FROM "holds" WHERE ((((("holds"."cluster_id" = :cluster_id) AND ("holds"."slot_id" = :slot_id)) AND ("holds"."id" = :hold_id)) AND ("holds"."holder" = :holder)) AND ("holds"."expires_at" > :now)) \gset
SELECT COUNT(*) AS booked FROM "appointments" WHERE ((("appointments"."cluster_id" = :cluster_id) AND ("appointments"."slot_id" = :slot_id)) AND "appointments"."status" IN ('booked', 'arrived', 'seen')) \gset
SELECT COUNT(*) AS held FROM "holds" WHERE (((("holds"."cluster_id" = :cluster_id) AND ("holds"."slot_id" = :slot_id)) AND ("holds"."expires_at" > :now)) AND ("holds"."holder" != :holder)) \gset
SELECT pg_advisory_xact_lock(hashtext(:cluster_id || ':' || :nhs_number));
SELECT COUNT(*) AS same_day FROM "appointments" WHERE ((((((("appointments"."cluster_id" = :cluster_id) AND ("appointments"."nhs_number" = :nhs_number)) AND ("appointments"."service_id" = :slot_service_id)) AND "appointments"."status" IN ('booked', 'arrived', 'seen')) AND ("appointments"."starts_at" >= date_trunc('day', :slot_starts_at::timestamp))) AND ("appointments"."starts_at" < date_trunc('day', :slot_starts_at::timestamp) + interval '1 day')) AND ("appointments"."id" != :empty)) \gset
SELECT "services"."clinical_role" FROM "services" WHERE (("services"."cluster_id" = :cluster_id) AND ("services"."id" = :slot_service_id)) LIMIT :one \gset
\if :mine = 1 and :booked = 0 and :held = 0 and :same_day = 0
SAVEPOINT diesel_savepoint_2;
INSERT INTO "appointments" ("cluster_id", "id", "slot_id", "session_id", "status", "nhs_number", "patient_name", "patient_birth_date", "patient_phone", "patient_email", "adjustments", "registered_practice_id", "booking_practice_id", "booked_by", "channel", "reason", "requester_ods", "requester_reference", "starts_at", "ends_at", "site_id", "service_id", "clinical_role", "delivery", "version", "created_at", "updated_at", "cancel_reason", "cancelled_at", "outcome_at", "notes") VALUES (:cluster_id, :appointment_id, :slot_id, :slot_session_id, :booked_status, :nhs_number, :patient_name, :birth_date, :phone, NULL, NULL, :practice_id, :practice_id, :holder, :slot_channel, NULL, NULL, NULL, :slot_starts_at, :slot_ends_at, :slot_site_id, :slot_service_id, :clinical_role, :slot_delivery, :one, :now, :now, NULL, NULL, NULL, NULL);
INSERT INTO "audit_events" ("id", "cluster_id", "at", "actor", "action", "entity", "entity_id", "before_json", "after_json") VALUES (:appointment_audit_id, :cluster_id, :now, :holder, :book_action, :book_entity, :appointment_id, NULL, json_build_object('cluster_id', :cluster_id::text, 'id', :appointment_id::text, 'slot_id', :slot_id::text, 'session_id', :slot_session_id::text, 'status', 'booked', 'nhs_number', :nhs_number::text, 'patient_name', :patient_name::text, 'patient_birth_date', :birth_date::text, 'patient_phone', :phone::text, 'patient_email', NULL, 'adjustments', NULL, 'registered_practice_id', :practice_id::text, 'booking_practice_id', :practice_id::text, 'booked_by', :holder::text, 'channel', :slot_channel::text, 'reason', NULL, 'requester_ods', NULL, 'requester_reference', NULL, 'starts_at', :slot_starts_at::text, 'ends_at', :slot_ends_at::text, 'site_id', :slot_site_id::text, 'service_id', :slot_service_id::text, 'clinical_role', :clinical_role::text, 'delivery', :slot_delivery::text, 'version', 1, 'created_at', :now::text, 'updated_at', :now::text, 'cancel_reason', NULL, 'cancelled_at', NULL, 'outcome_at', NULL, 'notes', NULL)::text::text);
RELEASE SAVEPOINT diesel_savepoint_2;
DELETE FROM "holds" WHERE ((("holds"."cluster_id" = :cluster_id) AND ("holds"."slot_id" = :slot_id)) AND ("holds"."holder" = :holder));
UPDATE "event_counters" SET "last_seq" = ("event_counters"."last_seq" + :one) WHERE ("event_counters"."cluster_id" = :cluster_id);
SELECT "event_counters"."last_seq" FROM "event_counters" WHERE ("event_counters"."cluster_id" = :cluster_id) LIMIT :one \gset
INSERT INTO "events" ("cluster_id", "seq", "id", "kind", "occurred_at", "appointment_id", "slot_id", "booked_by", "data") VALUES (:cluster_id, :last_seq, :event_id, :booked_kind, :now, :appointment_id, :slot_id, :holder, json_build_object('appointment_id', :appointment_id::text, 'booked_by', :holder::text, 'booking_practice_id', :practice_id::text, 'channel', :slot_channel::text, 'clinical_role', :clinical_role::text, 'delivery', :slot_delivery::text, 'ends_at', :slot_ends_at::text, 'registered_practice_id', :practice_id::text, 'service_id', :slot_service_id::text, 'site_id', :slot_site_id::text, 'slot_id', :slot_id::text, 'starts_at', :slot_starts_at::text, 'status', 'booked', 'version', 1)::text::text);
RELEASE SAVEPOINT diesel_savepoint_1;
UPDATE "idempotency_keys" SET "status" = :created, "body" = json_build_object('body', json_build_object('id', :appointment_id::text, 'slot_id', :slot_id::text, 'status', 'booked', 'patient', json_build_object('name', :patient_name::text, 'nhs_number', :nhs_number::text, 'birth_date', :birth_date::text, 'phone', :phone::text), 'starts_at', :slot_starts_at::text, 'ends_at', :slot_ends_at::text, 'site_id', :slot_site_id::text, 'service_id', :slot_service_id::text, 'session_id', :slot_session_id::text, 'booked_by', :holder::text, 'registered_practice_id', :practice_id::text, 'booking_practice_id', :practice_id::text, 'channel', :slot_channel::text, 'clinical_role', :clinical_role::text, 'delivery', :slot_delivery::text, 'created_at', :now::text, 'version', 1)::text::text, 'version', 1)::text::text WHERE (("idempotency_keys"."owner" = :holder::text) AND ("idempotency_keys"."key" = :request_key::text));
COMMIT;
\else
ROLLBACK;
\endif
\else
ROLLBACK;
\endif
\endif
