ALTER TABLE slots DROP COLUMN sharing_version;
ALTER TABLE slots DROP COLUMN released_at;
DROP TABLE sharing_rules;
