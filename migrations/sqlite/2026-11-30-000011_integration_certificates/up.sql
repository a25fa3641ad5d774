-- The TLS client certificates an integration connects with (the GP Connect facade
-- authenticates its consumers by them), by the SHA-256 of the certificate's DER: one is live
-- until revoked; a certificate belongs to one integration.
CREATE TABLE integration_certificates (
    sha256         TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id),
    created_at     TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP
);
CREATE INDEX integration_certificates_integration ON integration_certificates (integration_id);
