-- Per-target platform choices (TikTok privacy level and toggles), as a JSON object.
ALTER TABLE targets ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
