-- Connected accounts (PostgreSQL). Kept in step with ../sqlite/0006_account_connections.sql.

-- What a connection is: which login issued the credentials (an Instagram account reached through a
-- Facebook Page has login 'facebook'), the scopes granted (a JSON list), when its tokens expire (the same
-- instants as the sealed credentials' `expires_at`, written in the same transaction, kept here so the
-- refresh sweep finds due accounts with one indexed query), who connected it and when, and the last
-- refresh and its error. Reconnecting the same (platform, external_id) updates the row in place.
ALTER TABLE accounts ADD COLUMN login TEXT CHECK (login IN ('tiktok', 'instagram', 'facebook'));
ALTER TABLE accounts ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN access_expires_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN refresh_expires_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN connected_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN last_refresh_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN last_refresh_error TEXT;
CREATE INDEX accounts_refresh_due ON accounts (access_expires_at) WHERE status = 'connected';

-- OAuth flows in progress. The state value itself is never stored, only its SHA-256 (hex); a state is
-- single-use (`used_at`), bound to the user who started the flow, and expires ten minutes after it was
-- made. `verifier` is the PKCE verifier sealed by the vault (bound to the state's hash), cleared on use.
-- Rows are purged a day after they expire, so a late replay is still reported as a replay for a while.
CREATE TABLE oauth_states (
    state_hash   TEXT PRIMARY KEY,
    platform     TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook')),
    user_id      TEXT NOT NULL REFERENCES users (id),
    verifier     BYTEA,
    redirect_uri TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
