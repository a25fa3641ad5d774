-- Foundation: clusters and their practices, sites, services; users, integrations,
-- idempotency keys and the audit trail. Times are UTC instants bound from Rust.

CREATE TABLE clusters (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE sites (
    cluster_id  TEXT NOT NULL REFERENCES clusters (id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('hub', 'surgery')),
    address     TEXT NOT NULL,
    postcode    TEXT NOT NULL,
    latitude    DOUBLE PRECISION NOT NULL,
    longitude   DOUBLE PRECISION NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id),
    CONSTRAINT sites_name_unique UNIQUE (cluster_id, name)
);

CREATE TABLE practices (
    cluster_id  TEXT NOT NULL REFERENCES clusters (id),
    id          TEXT NOT NULL,
    ods_code    TEXT NOT NULL,
    name        TEXT NOT NULL,
    list_size   BIGINT NOT NULL CHECK (list_size > 0),
    site_id     TEXT,
    dsa_from    DATE,
    dsa_to      DATE,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id),
    CONSTRAINT practices_ods_code_unique UNIQUE (cluster_id, ods_code),
    CONSTRAINT practices_agreement_dates CHECK (dsa_to IS NULL OR (dsa_from IS NOT NULL AND dsa_to >= dsa_from)),
    FOREIGN KEY (cluster_id, site_id) REFERENCES sites (cluster_id, id)
);

CREATE TABLE services (
    cluster_id    TEXT NOT NULL REFERENCES clusters (id),
    id            TEXT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    clinical_role TEXT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id),
    CONSTRAINT services_code_unique UNIQUE (cluster_id, code)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'cluster_manager', 'hub_staff', 'receptionist')),
    cluster_id    TEXT REFERENCES clusters (id),
    practice_id   TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username),
    FOREIGN KEY (cluster_id, practice_id) REFERENCES practices (cluster_id, id),
    CHECK ((role = 'admin') = (cluster_id IS NULL)),
    CHECK ((role = 'receptionist') = (practice_id IS NOT NULL))
);
CREATE INDEX users_cluster ON users (cluster_id, id);

CREATE TABLE integrations (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    CONSTRAINT integrations_client_id_unique UNIQUE (client_id)
);

CREATE TABLE integration_clusters (
    cluster_id     TEXT NOT NULL REFERENCES clusters (id),
    integration_id TEXT NOT NULL REFERENCES integrations (id),
    PRIMARY KEY (cluster_id, integration_id)
);
CREATE INDEX integration_clusters_integration ON integration_clusters (integration_id);

CREATE TABLE idempotency_keys (
    owner         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, key)
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    cluster_id  TEXT,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_events_cluster_at ON audit_events (cluster_id, at);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id);
