-- pgbench: one receptionist search, the statements hubbook sends for `GET /api/v1/slots?limit=20`
-- (captured with log_min_duration_statement = 0), against a `hubbook seed` database.
--
--   pgbench -n -M prepared -c 32 -j 2 -T 20 -D clusters=1250 -f pgbench_search.sql DBURL
--
-- Each transaction is a receptionist of a random seeded practice. hubbook knows the caller's
-- cluster, practice and user id from its token; pgbench looks them up first (one extra indexed
-- read on pgbench's side), with defaults for the page's site and service in case the week has
-- nothing free.
\set c random(1, :clusters)
\set p random(1, 4)
\set one 1
\set page 21
-- Constants hubbook binds as parameters are bound here too, so both plan alike.
SELECT 'active' AS active, '{booked,arrived,seen}' AS live, 'open' AS open, 'practice' AS practice \gset
SELECT c.id AS cluster_id, u.practice_id AS practice_id, 'user:' || u.id AS holder, (SELECT min(s.id) FROM sites s WHERE s.cluster_id = c.id) AS site_id, (SELECT min(v.id) FROM services v WHERE v.cluster_id = c.id) AS service_id, (now() AT TIME ZONE 'UTC') AS now, (now() AT TIME ZONE 'UTC') + interval '7 days' AS week FROM clusters c JOIN users u ON u.cluster_id = c.id AND u.username = 'rcp-' || lpad(:c::text, 5, '0') || '-' || :p WHERE c.code = 'N' || lpad(:c::text, 5, '0') \gset
-- The pool's connection check, the caller's cluster and practice.
SELECT 1;
SELECT "clusters"."id", "clusters"."code", "clusters"."name", "clusters"."time_zone", "clusters"."version", "clusters"."created_at", "clusters"."updated_at" FROM "clusters" WHERE ("clusters"."id" = :cluster_id) LIMIT :one;
SELECT "practices"."cluster_id", "practices"."id", "practices"."ods_code", "practices"."name", "practices"."list_size", "practices"."site_id", "practices"."dsa_from", "practices"."dsa_to", "practices"."version", "practices"."created_at", "practices"."updated_at" FROM "practices" WHERE (("practices"."cluster_id" = :cluster_id) AND ("practices"."id" = :practice_id)) LIMIT :one;
-- The search: free slots offered to the practice in the coming week, first page and one more.
SELECT "slots"."cluster_id", "slots"."id", "slots"."session_id", "slots"."site_id", "slots"."service_id", "slots"."starts_at", "slots"."ends_at", "slots"."lane", "slots"."delivery", "slots"."channel", "slots"."channel_practice_id", "slots"."version", "slots"."created_at", "slots"."removed_at", "slots"."released_at", "slots"."sharing_version", "slots"."orphaned_at", "slots"."release_announced_at" FROM "slots" WHERE (((((((("slots"."removed_at" IS NULL) AND ("slots"."orphaned_at" IS NULL)) AND ("slots"."starts_at" > :now)) AND ("slots"."starts_at" < :week)) AND EXISTS (SELECT "sessions"."id" FROM "sessions" WHERE ((("sessions"."cluster_id" = "slots"."cluster_id") AND ("sessions"."id" = "slots"."session_id")) AND ("sessions"."status" = :active)))) AND  NOT (EXISTS (SELECT "appointments"."slot_id" FROM "appointments" WHERE ((("appointments"."cluster_id" = "slots"."cluster_id") AND ("appointments"."slot_id" = "slots"."id")) AND ("appointments"."status" = ANY(:live)))))) AND  NOT (EXISTS (SELECT "holds"."slot_id" FROM "holds" WHERE (((("holds"."cluster_id" = "slots"."cluster_id") AND ("holds"."slot_id" = "slots"."id")) AND ("holds"."expires_at" > :now)) AND ("holds"."holder" != :holder))))) AND ("slots"."cluster_id" = :cluster_id)) AND ((("slots"."channel" = :open) OR (("slots"."channel" = :practice) AND ("slots"."channel_practice_id" = :practice_id))) OR (("slots"."released_at" IS NOT NULL) AND ("slots"."released_at" <= :now))) ORDER BY "slots"."starts_at" ASC, "slots"."id" ASC LIMIT :page \aset
-- The page's cluster code, sites and services.
SELECT "clusters"."id", "clusters"."code", "clusters"."name", "clusters"."time_zone", "clusters"."version", "clusters"."created_at", "clusters"."updated_at" FROM "clusters" WHERE ("clusters"."id" = :cluster_id) LIMIT :one;
SELECT "sites"."cluster_id", "sites"."id", "sites"."name", "sites"."kind", "sites"."address", "sites"."postcode", "sites"."latitude", "sites"."longitude", "sites"."version", "sites"."created_at", "sites"."updated_at" FROM "sites" WHERE (("sites"."cluster_id" = :cluster_id) AND ("sites"."id" = ANY(ARRAY[:site_id])));
SELECT "services"."cluster_id", "services"."id", "services"."code", "services"."name", "services"."clinical_role", "services"."version", "services"."created_at", "services"."updated_at" FROM "services" WHERE (("services"."cluster_id" = :cluster_id) AND ("services"."id" = ANY(ARRAY[:service_id])));
