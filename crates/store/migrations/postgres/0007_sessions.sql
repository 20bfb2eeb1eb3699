-- Browser sessions and login attempts (PostgreSQL). Kept in step with ../sqlite/0007_sessions.sql.

-- A signed-in browser. Only the SHA-256 of the session id is kept: a copy of this table signs nobody in.
-- `expires_at` is the absolute end; the idle end is `last_seen_at` plus the configured idle time.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    address      TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Every password login, for throttling per account (by the email typed) and per client address.
CREATE TABLE login_attempts (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    email   TEXT NOT NULL,
    address TEXT NOT NULL,
    success BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_by_email ON login_attempts (email, at);
CREATE INDEX login_attempts_by_address ON login_attempts (address, at);

-- The calendar reads targets by instant across all posts.
CREATE INDEX targets_by_instant ON targets (scheduled_at);
