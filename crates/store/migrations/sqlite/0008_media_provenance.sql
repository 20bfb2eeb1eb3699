-- Where generated images came from (SQLite). Kept in step with ../postgres/0008_media_provenance.sql.
-- One row per image an image model made (prompt, model, size, the usage it reported, who asked, when), and
-- one per image derived from such an image (a slide fitted to its canvas, a platform variant, a slide
-- rendered over it), pointing at its origin with `derived_from`. A media row with any provenance row is
-- AI-generated content, which TikTok wants labelled (`is_aigc`).
CREATE TABLE media_provenance (
    id           TEXT PRIMARY KEY,
    media_id     TEXT NOT NULL REFERENCES media (id),
    derived_from TEXT REFERENCES media (id),
    generator    TEXT NOT NULL,
    model        TEXT NOT NULL,
    prompt       TEXT NOT NULL,
    size         TEXT NOT NULL,
    quality      TEXT,
    background   TEXT,
    usage        TEXT NOT NULL,
    requested_by TEXT REFERENCES users (id),
    requested_at TEXT NOT NULL
);
CREATE INDEX media_provenance_by_media ON media_provenance (media_id, requested_at);
