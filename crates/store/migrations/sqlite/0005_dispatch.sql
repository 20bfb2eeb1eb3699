-- The publish ledger and the dispatcher's queue (SQLite). Kept in step with the PostgreSQL file.

-- What the dispatcher knows of each target beyond its workflow state. `progress` is the adapter's
-- resumable record of every remote id obtained so far (JSON), committed the moment each id exists;
-- `published_post_id` is set once the platform confirms the post, and refuses any later send unless a
-- person republishes; `unknown_since` marks an outcome that must be reconciled before anything is sent.
ALTER TABLE targets ADD COLUMN progress TEXT;
ALTER TABLE targets ADD COLUMN published_post_id TEXT;
ALTER TABLE targets ADD COLUMN permalink TEXT;
ALTER TABLE targets ADD COLUMN published_at TEXT;
ALTER TABLE targets ADD COLUMN last_error TEXT;
ALTER TABLE targets ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE targets ADD COLUMN unknown_since TEXT;
ALTER TABLE targets ADD COLUMN first_attempt_at TEXT;

-- Work for the dispatcher: waiting or in-flight targets, by the instant they next need attention.
CREATE INDEX targets_work ON targets (COALESCE(next_attempt_at, scheduled_at))
    WHERE state IN ('scheduled', 'publishing');

-- Every step of every attempt, for the timeline and support: timings, HTTP status, platform codes,
-- trace ids and each remote id. Never holds a secret.
CREATE TABLE publish_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    post_id     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    remote_id   TEXT,
    http_status INTEGER,
    error_class TEXT,
    error_code  TEXT,
    trace_id    TEXT,
    duration_ms BIGINT,
    worker      TEXT
);
CREATE INDEX publish_log_by_post ON publish_log (post_id, id);

-- Calls made against per-account platform limits (TikTok inits per minute, Instagram publishes per day),
-- shared by every process.
CREATE TABLE rate_slots (
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX rate_slots_by_account ON rate_slots (account_id, kind, at);
