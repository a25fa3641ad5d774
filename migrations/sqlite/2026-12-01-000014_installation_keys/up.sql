-- Keys the installation makes once for itself and never shows: `idempotency` keys the hashes of
-- idempotent requests, so that a retry is recognised across restarts and rotations of the
-- token-signing secret, by every process on the database. A reference table: no cluster's data.
CREATE TABLE installation_keys (
    name TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
