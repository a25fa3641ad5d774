-- Reference data (clusters, their practices, sites, services and sharing rules, the 111
-- dispositions) changes a few times a year but is read by every search. Each process keeps what
-- it read, tagged with this installation-wide version; every request reads the version (one row)
-- and uses what it kept only if the tag matches. Triggers bump the version in the transaction
-- of every change to those tables, however it is made, so a change committed through one
-- process is obeyed by every other on its next request.
CREATE TABLE reference_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO reference_version (id, version) VALUES (1, 1);
CREATE TRIGGER clusters_insert_reference_version AFTER INSERT ON clusters
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clusters_update_reference_version AFTER UPDATE ON clusters
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clusters_delete_reference_version AFTER DELETE ON clusters
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practices_insert_reference_version AFTER INSERT ON practices
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practices_update_reference_version AFTER UPDATE ON practices
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practices_delete_reference_version AFTER DELETE ON practices
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sites_insert_reference_version AFTER INSERT ON sites
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sites_update_reference_version AFTER UPDATE ON sites
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sites_delete_reference_version AFTER DELETE ON sites
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER services_insert_reference_version AFTER INSERT ON services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER services_update_reference_version AFTER UPDATE ON services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER services_delete_reference_version AFTER DELETE ON services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_rules_insert_reference_version AFTER INSERT ON sharing_rules
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_rules_update_reference_version AFTER UPDATE ON sharing_rules
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_rules_delete_reference_version AFTER DELETE ON sharing_rules
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER dispositions_insert_reference_version AFTER INSERT ON dispositions
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER dispositions_update_reference_version AFTER UPDATE ON dispositions
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER dispositions_delete_reference_version AFTER DELETE ON dispositions
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER disposition_services_insert_reference_version AFTER INSERT ON disposition_services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER disposition_services_update_reference_version AFTER UPDATE ON disposition_services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER disposition_services_delete_reference_version AFTER DELETE ON disposition_services
BEGIN UPDATE reference_version SET version = version + 1 WHERE id = 1; END;
