-- An integration may book for one practice (a practice's own GP system connecting over GP
-- Connect) rather than as a triage service: it then sees and books what that practice's
-- receptionists do. The practice is one of the integration's one cluster's members.
ALTER TABLE integrations ADD COLUMN practice_id TEXT;

-- The patients a GP Connect consumer has told hubbook about ("register a patient": a temporary
-- resident or an unregistered patient, with the demographics a booking needs), each consumer's
-- own: one consumer never reads what another registered. A patient is known by NHS number.
CREATE TABLE consumer_patients (
    integration_id   TEXT NOT NULL REFERENCES integrations (id),
    nhs_number       TEXT NOT NULL,
    name             TEXT NOT NULL,
    birth_date       DATE NOT NULL,
    phone            TEXT NOT NULL,
    email            TEXT,
    registration     TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, nhs_number)
);

-- The organisation that booked, as it described itself (GP Connect's booking organisation):
-- its name, phone and organisation type, kept beside the appointment (whose requester_ods
-- holds its ODS code) and returned on every read.
CREATE TABLE requester_contacts (
    cluster_id        TEXT NOT NULL,
    appointment_id    TEXT NOT NULL,
    name              TEXT NOT NULL,
    phone             TEXT NOT NULL,
    organisation_type TEXT,
    PRIMARY KEY (cluster_id, appointment_id),
    FOREIGN KEY (cluster_id, appointment_id) REFERENCES appointments (cluster_id, id)
);

-- An appointment of several adjacent slots (GP Connect books them as one) keeps a row per slot,
-- so that each slot is taken as any booked slot is (the one-live-appointment-per-slot index
-- still guards it): the first is the appointment, each further row names it here.
ALTER TABLE appointments ADD COLUMN part_of TEXT;
CREATE INDEX appointments_parts ON appointments (cluster_id, part_of);
