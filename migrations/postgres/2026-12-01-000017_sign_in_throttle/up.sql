-- Wrong sign-in tries counted per key (hubbook_core::throttle): `user:<login name>`,
-- `client:<client id>` or `addr:<address>`, whether or not a user or client has the name, so
-- that a key past its free tries waits a while (exponential back-off) instead of the old lock.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_throttle (
    key            TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL CHECK (failures >= 0),
    last_failed_at TIMESTAMP NOT NULL,
    blocked_until  TIMESTAMP
);
COMMENT ON TABLE sign_in_throttle IS 'Distribution: key. Wrong sign-in tries per login name, client id and address.';
