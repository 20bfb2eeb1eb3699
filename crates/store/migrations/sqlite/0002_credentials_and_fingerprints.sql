-- Encrypted account credentials and content fingerprints (SQLite). Kept in step with the PostgreSQL file.

-- One row per secret field of an account (access_token, refresh_token, ...). `ciphertext` is an AEAD
-- envelope sealed under the vault key `key_id`, its associated data bound to (account_id, field), so a
-- ciphertext copied onto another row fails to open. Deleting an account's rows removes its credentials
-- without touching its publishing history.
CREATE TABLE credentials (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    key_id     BIGINT NOT NULL,
    ciphertext BLOB NOT NULL,
    expires_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, field)
);
CREATE INDEX credentials_by_key ON credentials (key_id);

-- What was published where, as fingerprints only (they reveal no content and may outlive the media).
-- `id` is the compact reference the in-memory near-duplicate index keeps per slide hash.
CREATE TABLE content_fingerprints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id         TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    platform        TEXT NOT NULL,
    published_at    TEXT NOT NULL,
    caption_exact   BLOB NOT NULL,
    caption_simhash BIGINT NOT NULL,
    UNIQUE (post_id, account_id)
);
CREATE INDEX content_fingerprints_by_caption ON content_fingerprints (caption_exact);

CREATE TABLE slide_fingerprints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    content_id INTEGER NOT NULL REFERENCES content_fingerprints (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    dhash      BIGINT NOT NULL,
    phash      BIGINT NOT NULL,
    UNIQUE (content_id, position)
);
