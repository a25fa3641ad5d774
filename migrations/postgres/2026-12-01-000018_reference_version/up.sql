-- Reference data (clusters, their practices, sites, services and sharing rules, the 111
-- dispositions) changes a few times a year but is read by every search. Each process keeps what
-- it read, tagged with this installation-wide version; every request reads the version (one row)
-- and uses what it kept only if the tag matches. A trigger bumps the version in the transaction
-- of every change to those tables, however it is made, so a change committed through one
-- process is obeyed by every other on its next request.
CREATE TABLE reference_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
COMMENT ON TABLE reference_version IS 'Distribution: reference. The version of the reference data, bumped by every change to it.';
INSERT INTO reference_version (id, version) VALUES (1, 1);

CREATE FUNCTION bump_reference_version() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE reference_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER clusters_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clusters
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER practices_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON practices
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER sites_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER services_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER sharing_rules_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sharing_rules
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER dispositions_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dispositions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER disposition_services_reference_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON disposition_services
    FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
