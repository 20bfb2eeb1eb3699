-- Secrets of the system itself (PostgreSQL). Kept in step with ../sqlite/0010_service_secrets.sql.

-- Secrets that belong to no account, such as the image API key, sealed by the vault like account
-- credentials: `ciphertext` is an AEAD envelope under the vault key `key_id`, its associated data bound to
-- `name`, so a ciphertext copied onto another row fails to open. The vault's status counts these rows and
-- its rotation re-seals them with the account credentials.
CREATE TABLE service_secrets (
    name       TEXT PRIMARY KEY,
    key_id     BIGINT NOT NULL,
    ciphertext BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
