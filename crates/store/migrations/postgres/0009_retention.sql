-- Retention (PostgreSQL). Kept in step with ../sqlite/0009_retention.sql.

-- When retention deleted a media file from the media store. The row stays while a slide or a derived image
-- refers to it, so a post's history keeps the key, hash and size of what it published; a row nothing refers
-- to any more is deleted with its provenance. Storing the same bytes again clears it.
ALTER TABLE media ADD COLUMN purged_at TIMESTAMPTZ;

-- Where the audit log begins once retention deleted its oldest events: the first event kept and the hash
-- it links to. Verification accepts that link for that event only (the newest anchor), so an event deleted
-- anywhere else still breaks the chain.
CREATE TABLE audit_anchors (
    first_seq  BIGINT PRIMARY KEY,
    prev_hash  TEXT NOT NULL,
    deleted    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- What retention and the audit log's filters read by.
CREATE INDEX slides_by_media ON slides (media_id);
CREATE INDEX media_provenance_by_origin ON media_provenance (derived_from);
CREATE INDEX publish_log_by_at ON publish_log (at);
CREATE INDEX login_attempts_by_at ON login_attempts (at);
CREATE INDEX content_fingerprints_by_published ON content_fingerprints (published_at);
CREATE INDEX audit_by_at ON audit_events (at);
CREATE INDEX audit_by_action ON audit_events (action, seq);
CREATE INDEX audit_by_actor ON audit_events (actor_id, seq);
