-- Triage: the disposition codes 111 books by, integration secrets that can be rotated (two live
-- during a changeover) and revoked one by one, and what each 111 booking was triaged for.
CREATE TABLE dispositions (
    code              TEXT PRIMARY KEY,
    description       TEXT NOT NULL,
    timeframe_minutes INTEGER NOT NULL CHECK (timeframe_minutes BETWEEN 1 AND 20160),
    delivery          TEXT NOT NULL CHECK (delivery IN ('face_to_face', 'telephone', 'either')),
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

-- The service codes (as clusters name their services) whose slots fit a disposition.
CREATE TABLE disposition_services (
    disposition_code TEXT NOT NULL REFERENCES dispositions (code),
    service_code     TEXT NOT NULL,
    PRIMARY KEY (disposition_code, service_code)
);

-- A starting set modelled on the primary-care outcomes of NHS telephone triage; admins edit it.
INSERT INTO dispositions (code, description, timeframe_minutes, delivery, created_at, updated_at) VALUES
    ('Dx05', 'Contact a primary care service within 2 hours', 120, 'either', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx06', 'Contact a primary care service within 6 hours', 360, 'either', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx07', 'Contact a primary care service within 12 hours', 720, 'either', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx08', 'Contact a primary care service within 24 hours', 1440, 'either', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx11', 'Speak to a primary care clinician within 1 hour', 60, 'telephone', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx12', 'Speak to a primary care clinician within 2 hours', 120, 'telephone', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx13', 'Speak to a primary care clinician within 6 hours', 360, 'telephone', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx14', 'Speak to a primary care clinician within 12 hours', 720, 'telephone', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx15', 'Speak to a primary care clinician within 24 hours', 1440, 'telephone', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx16', 'Be seen face to face in primary care within 6 hours', 360, 'face_to_face', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx17', 'Be seen face to face in primary care within 24 hours', 1440, 'face_to_face', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx75', 'Contact a primary care service within 3 days', 4320, 'either', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx85', 'See a practice nurse within 24 hours (wound, dressing, catheter)', 1440, 'face_to_face', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')),
    ('Dx86', 'See a practice nurse within 3 days', 4320, 'face_to_face', (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'));
INSERT INTO disposition_services (disposition_code, service_code) VALUES
    ('Dx05', 'gp'), ('Dx06', 'gp'), ('Dx07', 'gp'), ('Dx08', 'gp'), ('Dx08', 'nurse'),
    ('Dx11', 'gp'), ('Dx12', 'gp'), ('Dx13', 'gp'), ('Dx14', 'gp'), ('Dx15', 'gp'),
    ('Dx16', 'gp'), ('Dx17', 'gp'), ('Dx17', 'nurse'),
    ('Dx75', 'gp'), ('Dx75', 'nurse'), ('Dx85', 'nurse'), ('Dx86', 'nurse');

-- An integration's secrets: at most two live (not revoked, not expired) at a time, checked in
-- the store; a token names the secret it was issued against and dies with it.
CREATE TABLE integration_secrets (
    id             TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id),
    secret_hash    TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    revoked_at     TIMESTAMP
);
CREATE INDEX integration_secrets_integration ON integration_secrets (integration_id);
INSERT INTO integration_secrets (id, integration_id, secret_hash, created_at)
    SELECT id || '-s1', id, secret_hash, created_at FROM integrations;
ALTER TABLE integrations DROP COLUMN secret_hash;

-- What a 111 booking was for: the disposition, when the patient was triaged, the time by which
-- they must be seen, and the caller's own case reference.
CREATE TABLE triage_bookings (
    cluster_id       TEXT NOT NULL,
    appointment_id   TEXT NOT NULL,
    disposition_code TEXT NOT NULL REFERENCES dispositions (code),
    triaged_at       TIMESTAMP NOT NULL,
    due_by           TIMESTAMP NOT NULL,
    case_reference   TEXT,
    PRIMARY KEY (cluster_id, appointment_id),
    FOREIGN KEY (cluster_id, appointment_id) REFERENCES appointments (cluster_id, id)
);

-- A triage service reads what it booked, newest first.
CREATE INDEX appointments_booked_by ON appointments (booked_by, starts_at);
