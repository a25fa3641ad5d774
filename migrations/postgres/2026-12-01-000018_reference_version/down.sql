DROP TRIGGER clusters_reference_version ON clusters;
DROP TRIGGER practices_reference_version ON practices;
DROP TRIGGER sites_reference_version ON sites;
DROP TRIGGER services_reference_version ON services;
DROP TRIGGER sharing_rules_reference_version ON sharing_rules;
DROP TRIGGER dispositions_reference_version ON dispositions;
DROP TRIGGER disposition_services_reference_version ON disposition_services;
DROP FUNCTION bump_reference_version();
DROP TABLE reference_version;
