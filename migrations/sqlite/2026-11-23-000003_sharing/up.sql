-- Sharing rules, versioned per cluster; each slot records when its reservation is released.

CREATE TABLE sharing_rules (
    cluster_id  TEXT NOT NULL REFERENCES clusters (id),
    version     BIGINT NOT NULL,
    rules_json  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (cluster_id, version)
);

-- When a reserved slot opens to every practice (its session's start less its channel's lead
-- time); null for open slots. Release is a comparison with the clock, not a job.
ALTER TABLE slots ADD COLUMN released_at TIMESTAMP;
ALTER TABLE slots ADD COLUMN sharing_version BIGINT NOT NULL DEFAULT 0;
