-- Foundation schema (PostgreSQL). Kept in step with ../sqlite/0001_foundation.sql: same tables, same columns.
-- Timestamps are timestamptz; ids are UUID text (as on SQLite, so the SQL is shared); JSON is text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'reviewer', 'viewer')),
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'reviewer', 'viewer')),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Connected social accounts. Encrypted credentials get their own table (one row per secret field),
-- keyed by account, so that removing them never touches the account's publishing history.
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    platform     TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook')),
    external_id  TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('connected', 'needs_reconnect', 'disconnected')),
    sandbox      BOOLEAN NOT NULL DEFAULT FALSE,
    connected_by TEXT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (platform, external_id)
);

-- Stored images, content-addressed by the key (derived from the SHA-256 of the bytes).
CREATE TABLE media (
    id         TEXT PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    sha256     TEXT NOT NULL,
    bytes      BIGINT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    format     TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('upload', 'rendered', 'generated')),
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE posts (
    id              TEXT PRIMARY KEY,
    author_id       TEXT NOT NULL REFERENCES users (id),
    title           TEXT NOT NULL,
    caption         TEXT NOT NULL,
    extra_hashtags  TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'changes_requested', 'approved', 'rejected',
                        'scheduled', 'publishing', 'published', 'partially_published', 'failed', 'archived')),
    version         BIGINT NOT NULL,
    content_version INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX posts_by_update ON posts (updated_at, id);
CREATE INDEX posts_by_state ON posts (state);

CREATE TABLE slides (
    post_id  TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    media_id TEXT NOT NULL REFERENCES media (id),
    alt_text TEXT NOT NULL,
    PRIMARY KEY (post_id, position)
);

-- One row per post × account. The dispatcher claims due rows with a lease: `attempt` is the fencing token,
-- `lease_owner`/`lease_until` the lease. No CHECK on `state`: target states grow with the dispatcher.
CREATE TABLE targets (
    id               TEXT PRIMARY KEY,
    post_id          TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    platform         TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook')),
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    caption_override TEXT,
    state            TEXT NOT NULL,
    scheduled_at     TIMESTAMPTZ,
    attempt          INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      TIMESTAMPTZ,
    next_attempt_at  TIMESTAMPTZ,
    UNIQUE (post_id, account_id)
);
CREATE INDEX targets_due ON targets (scheduled_at) WHERE state = 'scheduled';

CREATE TABLE reviews (
    id              TEXT PRIMARY KEY,
    post_id         TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reviewer_id     TEXT NOT NULL REFERENCES users (id),
    decision        TEXT NOT NULL CHECK (decision IN ('approve', 'request_changes', 'reject')),
    comment         TEXT,
    content_version INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX reviews_by_post ON reviews (post_id, created_at);

-- Append-only. `seq` orders events; a hash chain over the rows arrives with the retention work.
CREATE TABLE audit_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT,
    note         TEXT
);
CREATE INDEX audit_by_subject ON audit_events (subject_kind, subject_id, seq);
