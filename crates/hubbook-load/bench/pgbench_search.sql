-- pgbench: one receptionist search, the statements hubbook sends for `GET /api/v1/slots?limit=20`
-- (captured with log_min_duration_statement = 0), against a `hubbook seed` database.
--
--   pgbench -n -M prepared -c 32 -j 2 -T 20 -D clusters=1250 -f pgbench_search.sql DBURL
--
-- Each transaction is a receptionist of a random seeded practice. hubbook knows the caller's
-- cluster, practice and user id from its token; pgbench looks them up first (one extra indexed
-- read on pgbench's side).
\set c random(1, :clusters)
\set p random(1, 4)
\set one 1
\set page 21
-- Constants hubbook binds as parameters are bound here too, so both plan alike.
SELECT 'open' AS open, 'practice' AS practice \gset
SELECT c.id AS cluster_id, u.practice_id AS practice_id, 'user:' || u.id AS holder, (now() AT TIME ZONE 'UTC') AS now, (now() AT TIME ZONE 'UTC') + interval '7 days' AS week FROM clusters c JOIN users u ON u.cluster_id = c.id AND u.username = 'rcp-' || lpad(:c::text, 5, '0') || '-' || :p WHERE c.code = 'N' || lpad(:c::text, 5, '0') \gset
-- The reference data's version: the cluster, practice, sites and services are kept by the
-- server while it stands.
SELECT "reference_version"."version" FROM "reference_version" WHERE ("reference_version"."id" = :one) LIMIT :one;
-- The search: free slots offered to the practice in the coming week, first page and one more.
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE (((((((("slots"."removed_at" IS NULL) AND ("slots"."orphaned_at" IS NULL)) AND ("slots"."starts_at" > :now)) AND ("slots"."starts_at" < :week)) AND  NOT (EXISTS (SELECT "appointments"."slot_id" FROM "appointments" WHERE ((("appointments"."cluster_id" = "slots"."cluster_id") AND ("appointments"."slot_id" = "slots"."id")) AND "appointments"."status" IN ('booked', 'arrived', 'seen'))))) AND  NOT (EXISTS (SELECT "holds"."slot_id" FROM "holds" WHERE (((("holds"."cluster_id" = "slots"."cluster_id") AND ("holds"."slot_id" = "slots"."id")) AND ("holds"."expires_at" > :now)) AND ("holds"."holder" != :holder))))) AND ("slots"."cluster_id" = :cluster_id)) AND ((("slots"."channel" = :open) OR (("slots"."channel" = :practice) AND ("slots"."channel_practice_id" = :practice_id))) OR (("slots"."released_at" IS NOT NULL) AND ("slots"."released_at" <= :now)))) ORDER BY "slots"."starts_at" ASC, "slots"."id" ASC LIMIT :page \aset
