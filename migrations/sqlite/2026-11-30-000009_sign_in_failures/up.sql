-- Wrong passwords recently given for a login name (lower case), whether or not a user has it,
-- so that the name can be locked for a while after too many (hubbook_core::lockout).
CREATE TABLE sign_in_failures (
    username       TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL CHECK (failures >= 0),
    last_failed_at TIMESTAMP NOT NULL,
    locked_until   TIMESTAMP
);
