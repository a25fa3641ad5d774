DROP TABLE sign_in_throttle;
CREATE TABLE sign_in_failures (
    username       TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL CHECK (failures >= 0),
    last_failed_at TIMESTAMP NOT NULL,
    locked_until   TIMESTAMP
);
