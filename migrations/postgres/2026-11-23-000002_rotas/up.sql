-- Rotas, the sessions and slots they publish, holds and appointments.
-- A slot holds at most one live appointment: enforced here, by a partial unique index.

CREATE TABLE rotas (
    cluster_id     TEXT NOT NULL REFERENCES clusters (id),
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    templates_json TEXT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id)
);

CREATE TABLE sessions (
    cluster_id    TEXT NOT NULL,
    id            TEXT NOT NULL,
    rota_id       TEXT NOT NULL,
    template_key  TEXT NOT NULL,
    local_date    DATE NOT NULL,
    site_id       TEXT NOT NULL,
    service_id    TEXT NOT NULL,
    starts_at     TIMESTAMP NOT NULL,
    ends_at       TIMESTAMP NOT NULL,
    slot_minutes  INTEGER NOT NULL,
    capacity      INTEGER NOT NULL,
    delivery      TEXT NOT NULL CHECK (delivery IN ('face_to_face', 'telephone', 'video')),
    fingerprint   TEXT NOT NULL,
    ambiguous     BOOLEAN NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'cancelled', 'withdrawn')),
    status_reason TEXT,
    clinician     TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id),
    FOREIGN KEY (cluster_id, rota_id) REFERENCES rotas (cluster_id, id),
    FOREIGN KEY (cluster_id, site_id) REFERENCES sites (cluster_id, id),
    FOREIGN KEY (cluster_id, service_id) REFERENCES services (cluster_id, id)
);
-- One current session per template and day; withdrawn ones stay as history.
CREATE UNIQUE INDEX sessions_one_per_template_day
    ON sessions (cluster_id, rota_id, template_key, local_date) WHERE status <> 'withdrawn';
CREATE INDEX sessions_site_time ON sessions (cluster_id, site_id, starts_at);
CREATE INDEX sessions_rota_date ON sessions (cluster_id, rota_id, local_date);

CREATE TABLE slots (
    cluster_id          TEXT NOT NULL,
    id                  TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    site_id             TEXT NOT NULL,
    service_id          TEXT NOT NULL,
    starts_at           TIMESTAMP NOT NULL,
    ends_at             TIMESTAMP NOT NULL,
    lane                INTEGER NOT NULL,
    delivery            TEXT NOT NULL,
    channel             TEXT NOT NULL DEFAULT 'open' CHECK (channel IN ('open', 'practice', '111')),
    channel_practice_id TEXT,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TIMESTAMP NOT NULL,
    -- Removed slots are kept (they may carry appointment history) but never offered again.
    removed_at          TIMESTAMP,
    PRIMARY KEY (cluster_id, id),
    FOREIGN KEY (cluster_id, session_id) REFERENCES sessions (cluster_id, id)
);
CREATE UNIQUE INDEX slots_session_time_lane
    ON slots (cluster_id, session_id, starts_at, lane) WHERE removed_at IS NULL;
CREATE INDEX slots_cluster_time ON slots (cluster_id, starts_at) WHERE removed_at IS NULL;

-- A hold excludes other bookers until it expires; one row per slot, claimed in the slot's transaction.
CREATE TABLE holds (
    cluster_id  TEXT NOT NULL,
    slot_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    holder      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, slot_id),
    FOREIGN KEY (cluster_id, slot_id) REFERENCES slots (cluster_id, id)
);
CREATE UNIQUE INDEX holds_id ON holds (id);

CREATE TABLE appointments (
    cluster_id             TEXT NOT NULL,
    id                     TEXT NOT NULL,
    slot_id                TEXT NOT NULL,
    session_id             TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'arrived', 'seen', 'did_not_attend')),
    nhs_number             TEXT,
    patient_name           TEXT NOT NULL,
    patient_birth_date     DATE NOT NULL,
    patient_phone          TEXT NOT NULL,
    patient_email          TEXT,
    adjustments            TEXT,
    registered_practice_id TEXT,
    booking_practice_id    TEXT,
    booked_by              TEXT NOT NULL,
    channel                TEXT NOT NULL CHECK (channel IN ('practice', 'open', '111')),
    reason                 TEXT,
    requester_ods          TEXT,
    requester_reference    TEXT,
    starts_at              TIMESTAMP NOT NULL,
    ends_at                TIMESTAMP NOT NULL,
    site_id                TEXT NOT NULL,
    service_id             TEXT NOT NULL,
    clinical_role          TEXT NOT NULL,
    delivery               TEXT NOT NULL,
    version                BIGINT NOT NULL DEFAULT 1,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_id, id),
    FOREIGN KEY (cluster_id, slot_id) REFERENCES slots (cluster_id, id)
);
-- Invariant 1: at most one live appointment per slot, whatever the concurrency.
CREATE UNIQUE INDEX appointments_one_live_per_slot
    ON appointments (cluster_id, slot_id) WHERE status IN ('booked', 'arrived', 'seen');
CREATE INDEX appointments_cluster_time ON appointments (cluster_id, starts_at);

-- Appointments a rota change left needing rebooking; open until resolved (kept, cancelled, rebooked).
CREATE TABLE rebookings (
    cluster_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    reason         TEXT NOT NULL,
    flagged_at     TIMESTAMP NOT NULL,
    flagged_by     TEXT NOT NULL,
    resolution     TEXT CHECK (resolution IN ('kept', 'cancelled', 'rebooked')),
    resolved_at    TIMESTAMP,
    resolved_by    TEXT,
    PRIMARY KEY (cluster_id, id),
    FOREIGN KEY (cluster_id, appointment_id) REFERENCES appointments (cluster_id, id)
);
CREATE UNIQUE INDEX rebookings_one_open_per_appointment
    ON rebookings (cluster_id, appointment_id) WHERE resolved_at IS NULL;
